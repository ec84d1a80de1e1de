//! Counters the writer hands out without asking SQLite per row: lane positions (`runs.seq`) and
//! the ids of events and runs. They live in the `counters` table; the writer loads them right
//! after `BEGIN IMMEDIATE` (so it holds the write lock: another process writing the same file,
//! such as a CLI replay, cannot hand out the same values) and saves them before `COMMIT`.
//! This replaces AUTOINCREMENT's per-row `sqlite_sequence` update and `RETURNING`, while ids
//! are still never reused after a purge.
//!
//! The table holds the end of a reserved block, not the last value handed out: when a counter
//! passes its block the writer reserves the next [`BLOCK`] values and stores their end in the
//! same transaction as the rows that use them, so the counters page is written once per block
//! instead of in every commit (one page less per ingest). Every committed value is therefore at
//! or below the stored end; a restart, a crash or another process's commit makes the writer load
//! the stored end and go on above it, so values stay unique and increasing, with a gap of at most
//! one block each time.

use rusqlite::Connection;

/// Which counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    LaneSeq = 0,
    EventId = 1,
    RunId = 2,
}

const NAMES: [&str; 3] = ["lane_seq", "event_id", "run_id"];

/// Values reserved by one write of a counter: the counters page is then written about once per
/// thousand ingests, and a restart, a crash or another process's commit (a CLI replay, the
/// incremental vacuum after `Store::checkpoint`) leaves a gap of at most this many ids (the
/// dashboard's windows of the newest run ids hold that many fewer runs after one).
pub(crate) const BLOCK: i64 = 1024;

/// The last value handed out per counter, the end of its reserved block, and the value stored
/// when the batch began.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    last: [i64; 3],
    reserved: [i64; 3],
    stored: [i64; 3],
}

impl Counters {
    /// Reads every counter (inside the batch transaction); values go on above the stored end.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")?;
        let mut last = [0; 3];
        for (slot, name) in last.iter_mut().zip(NAMES) {
            *slot = stmt.query_row([name], |r| r.get(0))?;
        }
        Ok(Counters {
            last,
            reserved: last,
            stored: last,
        })
    }

    /// The next value of a counter, reserving a new block when the current one is used up.
    pub(crate) fn next(&mut self, counter: Counter) -> i64 {
        let i = counter as usize;
        let value = self.last[i].saturating_add(1);
        if value > self.reserved[i] {
            self.reserved[i] = self.last[i].saturating_add(BLOCK);
        }
        self.last[i] = value;
        value
    }

    /// Writes back the block ends reserved in this batch (before the commit).
    pub(crate) fn save(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached("UPDATE counters SET value = ?2 WHERE name = ?1")?;
        for ((name, reserved), stored) in NAMES.iter().zip(self.reserved).zip(&mut self.stored) {
            if reserved != *stored {
                stmt.execute(rusqlite::params![name, reserved])?;
                *stored = reserved;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_reserved_once_and_values_go_on_above_a_reloaded_end() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(include_str!("migrations/0001_initial.sql"))
            .expect("schema");
        let mut counters = Counters::load(&conn).expect("load");
        let ids: Vec<i64> = (0..3).map(|_| counters.next(Counter::EventId)).collect();
        assert_eq!(ids, [1, 2, 3]);
        counters.save(&conn).expect("save");
        let stored: i64 = conn
            .query_row(
                "SELECT value FROM counters WHERE name = 'event_id'",
                [],
                |r| r.get(0),
            )
            .expect("stored");
        assert_eq!(stored, BLOCK, "the block end is stored, not the last value");
        let mut reloaded = Counters::load(&conn).expect("reload");
        assert_eq!(reloaded.next(Counter::EventId), BLOCK + 1);
    }
}
