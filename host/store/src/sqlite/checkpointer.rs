//! Background WAL checkpoints. SQLite's automatic checkpoint runs inside the committing
//! connection, so it would stall the group-commit writer (it was ~9% of the writer's time under
//! intake load). Instead the writer turns `wal_autocheckpoint` off and, every few batches, nudges
//! this thread, which runs a PASSIVE checkpoint on its own connection: it copies committed WAL
//! frames into the main file without blocking the writer or the readers, and SQLite restarts the
//! WAL from its beginning once everything in it is copied, so the WAL stays bounded.
//!
//! `Store::checkpoint` (TRUNCATE, then incremental vacuum) runs on this thread too: SQLite lets
//! one checkpoint run at a time, so serialising them here is what keeps it from failing busy.

use super::fail::{Fail, Res};
use super::ops;
use crate::error::StoreError;
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use tokio::sync::oneshot;

/// Commits between two nudges.
const BATCHES_PER_CHECKPOINT: u32 = 16;
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
}

/// The store's handle: full checkpoints on request.
#[derive(Clone)]
pub(crate) struct FullCheckpoints {
    tx: SyncSender<Msg>,
}

/// Starts the thread on its own (read-write) connection; it stops when both handles are gone.
pub(crate) fn start(conn: Connection) -> Res<(Checkpointer, FullCheckpoints)> {
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
    };
    Ok((writer, FullCheckpoints { tx }))
}

impl Checkpointer {
    /// Called after every commit; nudges the thread every few batches (never blocks, and at
    /// most one nudge is ever queued).
    pub(crate) fn after_commit(&mut self) {
        self.batches += 1;
        if self.batches >= BATCHES_PER_CHECKPOINT && !self.nudged.swap(true, Ordering::AcqRel) {
            self.batches = 0;
            if self.tx.try_send(Msg::Nudge).is_err() {
                self.nudged.store(false, Ordering::Release);
            }
        }
    }
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
