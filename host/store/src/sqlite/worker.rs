//! The threads SQLite runs on, and the channels that feed them.
//!
//! One writer thread owns the only connection that writes rows (the checkpoint thread's only
//! copies pages, see `checkpointer`). It takes the first queued job, drains
//! whatever else is queued (up to a batch limit) and applies the whole batch in one transaction,
//! each job inside its own savepoint so one job's failure does not undo the others. Callers are
//! answered over their oneshot only after COMMIT returned, so an answered write is durable.
//! After a commit in which some job added or released work, the store's `Notify` fires. Only
//! once every caller of the batch has its answer does the writer look after the WAL (see
//! `checkpointer`), so a checkpoint never delays an answer already due.
//!
//! Statements the writer runs per batch (BEGIN, COMMIT, the savepoints) come from the statement
//! cache, and the counters are read again only when another connection committed in between
//! (`PRAGMA data_version`), so a one-job batch costs its own SQL plus one COMMIT.
//!
//! Reader threads each own a read-only connection and take jobs from one shared queue. In WAL
//! mode they read the last committed state without blocking the writer.
//!
//! Nothing here runs on the async executor; callers only await a oneshot.

use super::checkpointer::Checkpointer;
use super::counters::Counters;
use super::fail::{Fail, Res};
use crate::error::StoreError;
use rusqlite::Connection;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, oneshot};

/// The writer connection plus the state kept between jobs.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    /// Lane positions and ids, loaded at the start of every batch transaction and saved
    /// before its commit.
    pub(crate) counters: Counters,
    /// Ids of names (plugins, nodes, kinds) known committed (see `names::Cache`).
    pub(crate) names: RefCell<super::names::Cache>,
    /// Nudged after commits; runs the WAL checkpoints off this thread.
    checkpointer: Checkpointer,
    /// Set by a job that may have made work claimable; the notify fires after the commit.
    pub(crate) woke: bool,
    /// The in-memory counters match the table (the last batch committed).
    counters_current: bool,
    /// `PRAGMA data_version` when the counters were last read: it changes when another
    /// connection commits, and only then must they be read again.
    data_version: Option<i64>,
}

impl Writer {
    /// A writer for a migrated connection.
    pub(crate) fn new(conn: Connection, checkpointer: Checkpointer) -> Self {
        Writer {
            conn,
            counters: Counters::default(),
            names: RefCell::default(),
            checkpointer,
            woke: false,
            counters_current: false,
            data_version: None,
        }
    }

    /// Reads the persisted counters (inside the batch transaction).
    fn load_counters(&mut self) -> rusqlite::Result<()> {
        self.counters = Counters::load(&self.conn)?;
        Ok(())
    }

    /// Writes the counters back before COMMIT (nothing to do when the transaction was aborted).
    fn save_counters(&mut self) -> rusqlite::Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.counters.save(&self.conn)
    }
}

/// Answers a caller once the batch's commit outcome is known.
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A job inside the batch transaction; `Err` when the transaction could not be opened.
type TxJob = Box<dyn FnOnce(Result<&mut Writer, StoreError>) -> Reply + Send>;
/// A read job.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The most jobs one transaction takes; the rest wait for the next one.
const MAX_BATCH: usize = 4096;

/// The handles callers use to reach the threads.
#[derive(Clone)]
pub(crate) struct Workers {
    writer: mpsc::Sender<TxJob>,
    reader: mpsc::Sender<ReadJob>,
}

impl Workers {
    /// Starts the writer (already migrated) and `readers` reader threads.
    pub(crate) fn start(
        writer: Writer,
        readers: Vec<Connection>,
        notify: Arc<Notify>,
        queue: usize,
    ) -> Res<Self> {
        let (wtx, wrx) = mpsc::channel(queue.max(1));
        spawn("switchboard-store-writer", move || {
            run_writer(writer, wrx, &notify)
        })?;
        let (rtx, rrx) = mpsc::channel(queue.max(1));
        let rrx = Arc::new(Mutex::new(rrx));
        for (i, conn) in readers.into_iter().enumerate() {
            let rrx = Arc::clone(&rrx);
            spawn(&format!("switchboard-store-reader-{i}"), move || {
                run_reader(&conn, &rrx)
            })?;
        }
        Ok(Workers {
            writer: wtx,
            reader: rtx,
        })
    }

    /// Runs `f` in the next batch transaction; resolves after the commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> Res<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: TxJob = Box::new(move |writer| {
            let result = writer.and_then(|w| in_savepoint(w, f));
            Box::new(move |commit| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn).map_err(StoreError::from));
        });
        self.reader
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Res<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map(drop)
        .map_err(|e| {
            Fail::Store(StoreError::Unavailable {
                reason: format!("cannot start a store thread: {e}"),
            })
        })
}

/// Runs one job inside a savepoint, rolled back when the job fails.
fn in_savepoint<T>(w: &mut Writer, f: impl FnOnce(&mut Writer) -> Res<T>) -> Result<T, StoreError> {
    if w.conn.is_autocommit() {
        return Err(StoreError::Unavailable {
            reason: "the batch transaction was aborted".into(),
        });
    }
    run_cached(&w.conn, "SAVEPOINT job")?;
    w.names.get_mut().job_began();
    let result = f(w);
    if result.is_err() {
        w.names.get_mut().job_rolled_back();
        if !w.conn.is_autocommit() {
            run_cached(&w.conn, "ROLLBACK TO job")?;
        }
    }
    if !w.conn.is_autocommit() {
        run_cached(&w.conn, "RELEASE job")?;
    }
    result.map_err(StoreError::from)
}

/// Runs a parameterless statement through the statement cache (no parsing per job).
fn run_cached(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    let run = |conn: &Connection| conn.prepare_cached(sql)?.execute([]).map(drop);
    run(conn).map_err(|e| super::fail::sql_error(&e))
}

fn run_writer(mut w: Writer, mut rx: mpsc::Receiver<TxJob>, notify: &Notify) {
    let mut batch = Vec::with_capacity(64);
    let mut replies = Vec::with_capacity(64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let committed = commit_batch(&mut w, &mut batch, &mut replies, notify);
        if committed {
            // Between batches: nothing is open, and every caller already has its answer.
            w.checkpointer.after_commit(&w.conn);
        }
    }
}

/// Applies a batch in one transaction and answers every job with the commit's outcome; true
/// when it committed. Both vectors are left empty (their capacity is reused).
fn commit_batch(
    w: &mut Writer,
    batch: &mut Vec<TxJob>,
    replies: &mut Vec<Reply>,
    notify: &Notify,
) -> bool {
    w.woke = false;
    match begin(w) {
        Ok(()) => replies.extend(batch.drain(..).map(|job| job(Ok(&mut *w)))),
        Err(e) => {
            let err = super::fail::sql_error(&e);
            replies.extend(batch.drain(..).map(|job| job(Err(err.clone()))));
        }
    }
    let outcome = match w.save_counters() {
        Ok(()) => finish_transaction(&w.conn),
        Err(e) => {
            let _ = run_cached(&w.conn, "ROLLBACK");
            Err(super::fail::sql_error(&e))
        }
    };
    w.counters_current = outcome.is_ok();
    w.names.get_mut().batch_ended(outcome.is_ok());
    if outcome.is_ok() && w.woke {
        notify.notify_waiters();
        notify.notify_one();
    }
    let committed = outcome.is_ok();
    for reply in replies.drain(..) {
        reply(outcome.clone());
    }
    committed
}

/// Opens the batch transaction and brings the counters up to date: they are read again only
/// when another connection (a CLI process on the same file) committed since our last commit,
/// or our last batch did not commit.
fn begin(w: &mut Writer) -> rusqlite::Result<()> {
    w.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let version: i64 = w
        .conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?;
    if !w.counters_current || w.data_version != Some(version) {
        w.load_counters()?;
        w.data_version = Some(version);
    }
    Ok(())
}

/// Commits the open transaction (if still open); on failure rolls back and reports why.
fn finish_transaction(conn: &Connection) -> Result<(), StoreError> {
    if conn.is_autocommit() {
        return Err(StoreError::Unavailable {
            reason: "the transaction could not be opened or was aborted".into(),
        });
    }
    run_cached(conn, "COMMIT").inspect_err(|_| {
        let _ = run_cached(conn, "ROLLBACK");
    })
}

fn run_reader(conn: &Connection, rx: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running it.
        let job = match rx.lock() {
            Ok(mut guard) => guard.blocking_recv(),
            Err(_) => return,
        };
        match job {
            Some(job) => job(conn),
            None => return,
        }
    }
}
