//! WAL checkpoints, and the bound on the WAL's size.
//!
//! SQLite's automatic checkpoint runs inside the committing connection and copies every frame
//! there, so it would stall the group-commit writer (it was ~9% of the writer's time under intake
//! load). Instead the writer turns `wal_autocheckpoint` off and, every few batches, nudges this
//! thread, which runs a PASSIVE checkpoint on its own connection: it copies committed WAL frames
//! into the main file without blocking the writer or the readers.
//!
//! That alone never bounds the WAL under sustained writes: SQLite only starts the WAL over from
//! its beginning when a write transaction begins while *every* frame has been copied, and the
//! writer appends while the background copy runs, so that never happened (4.4 GB of WAL in the
//! plugins20 benchmark). So the writer itself, between two batches (no transaction open, nothing
//! can append), checks the WAL file's size after each commit; past [`RESTART_AT`] it runs a
//! PASSIVE checkpoint of the few frames the background copy has not reached yet, and once
//! `log == checkpointed` its next transaction restarts the WAL, which `journal_size_limit` then
//! truncates. A reader still on an older snapshot can keep frames from being copied; past
//! [`FORCE_AT`] the writer runs a RESTART checkpoint instead, which waits (at most
//! [`FORCE_WAIT`]) for such readers to finish. Reader jobs are single statements, so that wait is
//! short; a reader that holds on longer (a backup) only costs one such wait per
//! [`FORCE_BACKOFF`] of WAL growth.
//!
//! `Store::checkpoint` (TRUNCATE, then incremental vacuum) runs on this thread too: SQLite lets
//! one checkpoint run at a time, so serialising them here is what keeps it from failing busy.

use super::fail::{Fail, Res};
use super::ops;
use super::schema::JOURNAL_SIZE_LIMIT;
use crate::error::StoreError;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;
use tokio::sync::oneshot;

/// Commits between two nudges.
const BATCHES_PER_CHECKPOINT: u32 = 16;
/// WAL file size past which the writer finishes the checkpoint itself so the WAL restarts:
/// exactly what the file is cut back to after a restart ([`JOURNAL_SIZE_LIMIT`]). A file larger
/// than that therefore always holds that many bytes of frames written since the last restart
/// (the file's size is all the writer looks at), while the blocks below it are overwritten in
/// place instead of being freed and allocated again.
pub(crate) const RESTART_AT: u64 = JOURNAL_SIZE_LIMIT;
/// WAL file size past which the writer waits for readers to let the WAL restart.
const FORCE_AT: u64 = 64 * 1024 * 1024;
/// How long a forced checkpoint waits for readers. A reader that holds its snapshot longer (an
/// online backup of a large file) keeps the WAL from restarting however long the writer waits.
const FORCE_WAIT: Duration = Duration::from_millis(200);
/// After a forced checkpoint that readers kept from finishing, the WAL growth before the next.
const FORCE_BACKOFF: u64 = 32 * 1024 * 1024;
/// Full checkpoints that may wait for the thread.
const QUEUE: usize = 8;

enum Msg {
    Nudge,
    Full(oneshot::Sender<Result<(), StoreError>>),
}

/// The writer's handle: nudges after commits.
pub(crate) struct Checkpointer {
    tx: SyncSender<Msg>,
    nudged: Arc<AtomicBool>,
    batches: u32,
    /// The WAL file (`<database>-wal`); `None` for an in-memory database.
    wal: Option<PathBuf>,
    /// WAL file size past which the next checkpoint waits for readers (RESTART).
    force_at: u64,
}

/// The store's handle: full checkpoints on request.
#[derive(Clone)]
pub(crate) struct FullCheckpoints {
    tx: SyncSender<Msg>,
}

/// Starts the thread on its own (read-write) connection; it stops when both handles are gone.
pub(crate) fn start(conn: Connection) -> Res<(Checkpointer, FullCheckpoints)> {
    let wal = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(format!("{p}-wal")));
    let (tx, rx) = sync_channel(QUEUE);
    let nudged = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&nudged);
    std::thread::Builder::new()
        .name("switchboard-store-checkpoint".into())
        .spawn(move || run(&conn, &rx, &flag))
        .map_err(|e| {
            let reason = format!("cannot start the checkpoint thread: {e}");
            Fail::Store(StoreError::Unavailable { reason })
        })?;
    let writer = Checkpointer {
        tx: tx.clone(),
        nudged,
        batches: 0,
        wal,
        force_at: FORCE_AT,
    };
    Ok((writer, FullCheckpoints { tx }))
}

impl Checkpointer {
    /// Called by the writer after every commit, between batches: nudges the background thread
    /// every few batches (never blocks, at most one nudge queued) and keeps the WAL bounded.
    pub(crate) fn after_commit(&mut self, conn: &Connection) {
        self.batches += 1;
        if self.batches >= BATCHES_PER_CHECKPOINT {
            self.nudge();
        }
        let wal_bytes = self
            .wal
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        if wal_bytes <= RESTART_AT {
            self.force_at = FORCE_AT;
            return;
        }
        let force = wal_bytes > self.force_at;
        match bound_wal(conn, force) {
            Ok(true) => {}
            Ok(false) if force => {
                self.force_at = wal_bytes.saturating_add(FORCE_BACKOFF);
                tracing::warn!(
                    wal_bytes,
                    "a reader keeps the WAL from restarting; retrying later"
                );
            }
            Ok(false) => tracing::debug!(
                wal_bytes,
                "WAL not fully copied yet; the next batch retries"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint on the writer failed; the next batch retries");
            }
        }
    }

    fn nudge(&mut self) {
        if !self.nudged.swap(true, Ordering::AcqRel) {
            self.batches = 0;
            if self.tx.try_send(Msg::Nudge).is_err() {
                self.nudged.store(false, Ordering::Release);
            }
        }
    }
}

/// The writer's checkpoint between batches: copies what the background copy has not, so the
/// next transaction starts the WAL over. `force` waits up to [`FORCE_WAIT`] for readers on
/// older snapshots (RESTART). Returns whether every frame is now in the main file.
fn bound_wal(conn: &Connection, force: bool) -> rusqlite::Result<bool> {
    if !force {
        return checkpoint_mode(conn, "PRAGMA wal_checkpoint(PASSIVE)");
    }
    conn.busy_timeout(FORCE_WAIT)?;
    let done = checkpoint_mode(conn, "PRAGMA wal_checkpoint(RESTART)");
    conn.busy_timeout(super::schema::BUSY_TIMEOUT)?;
    done
}

/// Runs a checkpoint pragma; true when nothing was busy and every frame was copied.
fn checkpoint_mode(conn: &Connection, sql: &str) -> rusqlite::Result<bool> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(busy == 0 && log == copied)
}

impl FullCheckpoints {
    /// Runs a TRUNCATE checkpoint and an incremental vacuum on the checkpoint thread.
    pub(crate) async fn run(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx.try_send(Msg::Full(tx)).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable {
                reason: "checkpoints are already queued; retry when they are done".into(),
            },
            TrySendError::Disconnected(_) => StoreError::Closed,
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn run(conn: &Connection, rx: &Receiver<Msg>, nudged: &AtomicBool) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Nudge => {
                nudged.store(false, Ordering::Release);
                let done =
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                if let Err(e) = done {
                    tracing::warn!(error = %e, "background WAL checkpoint failed; the next one retries");
                }
            }
            Msg::Full(reply) => drop(reply.send(ops::checkpoint(conn).map_err(StoreError::from))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).expect("open");
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .expect("wal");
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .expect("no autocheckpoint");
        conn
    }

    #[test]
    fn a_forced_checkpoint_gives_up_on_a_pinned_snapshot_and_restores_the_busy_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wal.db");
        let writer = open(&path);
        writer
            .busy_timeout(super::super::schema::BUSY_TIMEOUT)
            .expect("timeout");
        writer
            .execute_batch("CREATE TABLE t (v BLOB); INSERT INTO t VALUES (zeroblob(10000));")
            .expect("first write");
        let reader = open(&path);
        reader.execute_batch("BEGIN").expect("begin");
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("read");
        assert_eq!(n, 1);
        writer
            .execute_batch("INSERT INTO t VALUES (zeroblob(10000));")
            .expect("write after the reader's snapshot");
        assert!(
            !bound_wal(&writer, false).expect("passive"),
            "the reader pins frames"
        );
        assert!(
            !bound_wal(&writer, true).expect("restart"),
            "the wait is bounded"
        );
        let timeout: i64 = writer
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .expect("timeout");
        assert_eq!(timeout, 5000, "the writer's own busy timeout is back");
        reader.execute_batch("COMMIT").expect("end the read");
        assert!(
            bound_wal(&writer, true).expect("restart"),
            "every frame is copied"
        );
    }
}
