//! Counters the writer hands out without asking SQLite per row: lane positions (`runs.seq`) and
//! the ids of events and runs. They live in the `counters` table; the writer loads them right
//! after `BEGIN IMMEDIATE` (so it holds the write lock: another process writing the same file,
//! such as a CLI replay, cannot hand out the same values) and saves them before `COMMIT`.
//! This replaces AUTOINCREMENT's per-row `sqlite_sequence` update and `RETURNING` with one read
//! and at most three writes per batch, while ids are still never reused after a purge.

use rusqlite::Connection;

/// Which counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    LaneSeq = 0,
    EventId = 1,
    RunId = 2,
}

const NAMES: [&str; 3] = ["lane_seq", "event_id", "run_id"];

/// The last value handed out per counter, and the value stored when the batch began.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    last: [i64; 3],
    stored: [i64; 3],
}

impl Counters {
    /// Reads every counter (inside the batch transaction).
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")?;
        let mut last = [0; 3];
        for (slot, name) in last.iter_mut().zip(NAMES) {
            *slot = stmt.query_row([name], |r| r.get(0))?;
        }
        Ok(Counters { last, stored: last })
    }

    /// The next value of a counter.
    pub(crate) fn next(&mut self, counter: Counter) -> i64 {
        let slot = &mut self.last[counter as usize];
        *slot = slot.saturating_add(1);
        *slot
    }

    /// Writes back the counters that moved (before the commit).
    pub(crate) fn save(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached("UPDATE counters SET value = ?2 WHERE name = ?1")?;
        for ((name, last), stored) in NAMES.iter().zip(self.last).zip(&mut self.stored) {
            if last != *stored {
                stmt.execute(rusqlite::params![name, last])?;
                *stored = last;
            }
        }
        Ok(())
    }
}
