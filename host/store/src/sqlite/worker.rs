//! The threads SQLite runs on, and the channels that feed them.
//!
//! One writer thread owns the only connection that writes rows (the checkpoint thread's only
//! copies pages, see `checkpointer`). It takes the first queued job, drains
//! whatever else is queued (up to a batch limit) and applies the whole batch in one transaction.
//! One job's failure never undoes the others. The writer first runs the jobs one after the
//! other with nothing around them; when one fails it rolls the whole transaction back and runs
//! the batch again with each job inside its own savepoint, and the next [`CAREFUL_BATCHES`]
//! batches too. A job is therefore a function that may run twice, each time on a transaction
//! that holds none of its own writes; what it leaves in memory survives the rollback harmlessly
//! (the ids it took from the counters are skipped, never reused) or is forgotten (the names
//! cache's lookups of the batch). A savepoint copies every page a job first touches into the
//! statement journal, and jobs almost never fail: with one per job, `e2e --max` cost 11–14%
//! more service CPU per run (BENCHMARKS.md). Callers are answered over their oneshot only after
//! COMMIT returned, so an answered write is durable.
//! After a commit in which some job added or released work, the store's `Notify` fires. Only
//! once every caller of the batch has its answer does the writer look after the WAL (see
//! `checkpointer`), so a checkpoint never delays an answer already due.
//!
//! Statements the writer runs per batch (BEGIN, COMMIT, any savepoints) come from the statement
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
    /// How many more batches run each job in a savepoint (set after a job failed).
    careful: u32,
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
            careful: 0,
        }
    }

    /// The id of `name` in `names`, added when new (see [`super::names::id`]).
    pub(crate) fn name_id(&self, name: &str) -> Res<i64> {
        super::names::id(&self.conn, &self.names, name)
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

/// A job of a write batch: it runs in the batch transaction (twice when the batch is run again,
/// see the module doc), then learns the batch's outcome.
trait Job: Send {
    /// Runs the job, inside its own savepoint when `careful`; false when it failed or the
    /// transaction is gone.
    fn run(&mut self, w: &mut Writer, careful: bool) -> bool;
    /// Answers the caller: the job's own result once the batch committed, else why not.
    fn answer(self: Box<Self>, outcome: Result<(), StoreError>);
}

type TxJob = Box<dyn Job>;
/// A read job.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The most jobs one transaction takes; the rest wait for the next one.
const MAX_BATCH: usize = 4096;

/// Batches that give each job a savepoint after one whose job failed: a caller whose writes keep
/// failing (a plugin over its key quota at every run) then costs one batch run twice in this
/// many, not every batch.
pub(crate) const CAREFUL_BATCHES: u32 = 64;

/// A caller's write job and what its last run returned.
struct WriteJob<F, T> {
    f: F,
    result: Option<Result<T, StoreError>>,
    tx: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for WriteJob<F, T>
where
    T: Send,
    F: FnMut(&mut Writer) -> Res<T> + Send,
{
    fn run(&mut self, w: &mut Writer, careful: bool) -> bool {
        let result = if careful {
            in_savepoint(w, &mut self.f)
        } else {
            w.names.get_mut().job_began();
            (self.f)(w).map_err(StoreError::from)
        };
        let ran = result.is_ok() && !w.conn.is_autocommit();
        self.result = Some(result);
        ran
    }

    fn answer(self: Box<Self>, outcome: Result<(), StoreError>) {
        let WriteJob { result, tx, .. } = *self;
        let result = outcome.and_then(|()| {
            result.unwrap_or_else(|| {
                Err(StoreError::Unavailable {
                    reason: "the write job never ran".into(),
                })
            })
        });
        let _ = tx.send(result);
    }
}

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

    /// Runs `f` in the next batch transaction; resolves after the commit. `f` may run twice,
    /// the second time after everything the first did was rolled back (see the module doc).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Writer) -> Res<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: TxJob = Box::new(WriteJob {
            f,
            result: None,
            tx,
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
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let committed = commit_batch(&mut w, &mut batch, notify);
        if committed {
            // Between batches: nothing is open, and every caller already has its answer.
            w.checkpointer.after_commit(&w.conn);
        }
    }
}

/// Applies a batch in one transaction and answers every job with the commit's outcome; true
/// when it committed. The vector is left empty (its capacity is reused).
fn commit_batch(w: &mut Writer, batch: &mut Vec<TxJob>, notify: &Notify) -> bool {
    let careful = w.careful > 0;
    w.careful = w.careful.saturating_sub(1);
    let mut applied = apply(w, batch, careful);
    if matches!(applied, Ok(false)) && !careful {
        // A job failed with nothing around it: undo the batch, then give each job a savepoint.
        abandon(w);
        w.careful = CAREFUL_BATCHES;
        applied = apply(w, batch, true);
    }
    let outcome = match applied {
        Ok(_) => match w.save_counters() {
            Ok(()) => finish_transaction(&w.conn),
            Err(e) => {
                let _ = run_cached(&w.conn, "ROLLBACK");
                Err(super::fail::sql_error(&e))
            }
        },
        Err(e) => Err(super::fail::sql_error(&e)),
    };
    w.counters_current = outcome.is_ok();
    w.names.get_mut().batch_ended(outcome.is_ok());
    if outcome.is_ok() && w.woke {
        notify.notify_waiters();
        notify.notify_one();
    }
    let committed = outcome.is_ok();
    for job in batch.drain(..) {
        job.answer(outcome.clone());
    }
    committed
}

/// Opens the batch transaction and runs the jobs in it, each in a savepoint when `careful`;
/// `Ok(false)` when a job failed (without savepoints the rest do not run), `Err` when the
/// transaction could not be opened.
fn apply(w: &mut Writer, batch: &mut [TxJob], careful: bool) -> rusqlite::Result<bool> {
    begin(w)?;
    w.woke = false;
    let mut clean = true;
    for job in batch.iter_mut() {
        if !job.run(w, careful) {
            clean = false;
            if !careful {
                break;
            }
        }
    }
    Ok(clean)
}

/// Rolls the open batch back and forgets the names its jobs looked up. The counters stay: the
/// values the undone jobs took are skipped, never handed out again, and the table still holds
/// the block end the writer knows (it is written only just before COMMIT).
fn abandon(w: &mut Writer) {
    if !w.conn.is_autocommit() {
        let _ = run_cached(&w.conn, "ROLLBACK");
    }
    w.names.get_mut().batch_ended(false);
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

#[cfg(test)]
mod tests {
    use super::super::counters::Counter;
    use super::*;
    use crate::Durability;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn writer(dir: &tempfile::TempDir) -> Writer {
        let path = dir.path().join("w.db");
        let mut conn = Connection::open(&path).expect("open");
        super::super::schema::prepare_writer(&mut conn, Durability::Full).expect("schema");
        conn.execute_batch("CREATE TABLE scratch (x INTEGER NOT NULL)")
            .expect("scratch");
        let (checkpointer, _) =
            super::super::checkpointer::start(Connection::open(&path).expect("open"))
                .expect("checkpointer");
        Writer::new(conn, checkpointer)
    }

    type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

    /// A job that inserts `x`, takes an event id, and fails when `fail`; counts its runs.
    fn job(x: i64, fail: bool, runs: &Arc<AtomicUsize>) -> (TxJob, Answer<i64>) {
        let (tx, rx) = oneshot::channel();
        let runs = Arc::clone(runs);
        let f = move |w: &mut Writer| -> Res<i64> {
            runs.fetch_add(1, Ordering::SeqCst);
            w.conn.execute("INSERT INTO scratch (x) VALUES (?1)", [x])?;
            let id = w.counters.next(Counter::EventId);
            if fail {
                return Err(StoreError::Unavailable {
                    reason: "this job fails".into(),
                }
                .into());
            }
            Ok(id)
        };
        let job: TxJob = Box::new(WriteJob {
            f,
            result: None,
            tx,
        });
        (job, rx)
    }

    fn scratch(w: &Writer) -> Vec<i64> {
        let mut stmt = w
            .conn
            .prepare("SELECT x FROM scratch ORDER BY x")
            .expect("sql");
        let rows = stmt.query_map([], |r| r.get(0)).expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    }

    #[test]
    fn a_failed_job_makes_the_writer_run_its_batch_again_with_savepoints() {
        let dir = tempfile::tempdir().expect("dir");
        let mut w = writer(&dir);
        // One committed batch first, so the writer trusts its counters.
        let (warm, mut warm_rx) = job(0, false, &Arc::new(AtomicUsize::new(0)));
        assert!(commit_batch(&mut w, &mut vec![warm], &Notify::new()));
        let first_id = warm_rx.try_recv().expect("warm").expect("warm ok") + 1;
        let counts: Vec<_> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let (a, mut a_rx) = job(1, false, &counts[0]);
        let (b, mut b_rx) = job(2, true, &counts[1]);
        let (c, mut c_rx) = job(3, false, &counts[2]);
        let mut batch = vec![a, b, c];
        assert!(commit_batch(&mut w, &mut batch, &Notify::new()));

        // The first pass stopped at the failing job; the second ran all three.
        let runs: Vec<_> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [2, 2, 1]);
        assert_eq!(scratch(&w), [0, 1, 3], "the failed job's insert is undone");
        // The ids the undone pass took (a: first, b: first + 1) are skipped, as is the one a job
        // rolled back to its savepoint took: ids skip a few, never repeat, never jump a block.
        assert_eq!(a_rx.try_recv().expect("a").expect("a ok"), first_id + 2);
        assert!(b_rx.try_recv().expect("b").is_err());
        assert_eq!(c_rx.try_recv().expect("c").expect("c ok"), first_id + 4);
        assert_eq!(w.careful, CAREFUL_BATCHES);

        // The next batch gives each job a savepoint from the start: nothing runs twice.
        let again: Vec<_> = (0..2).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let (d, _d_rx) = job(4, true, &again[0]);
        let (e, mut e_rx) = job(5, false, &again[1]);
        let mut batch = vec![d, e];
        assert!(commit_batch(&mut w, &mut batch, &Notify::new()));
        let runs: Vec<_> = again.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [1, 1]);
        assert_eq!(scratch(&w), [0, 1, 3, 5]);
        assert_eq!(e_rx.try_recv().expect("e").expect("e ok"), first_id + 6);
        assert_eq!(w.careful, CAREFUL_BATCHES - 1);
    }

    /// A job that looks up (or adds) `name`'s id, then fails when `fail`.
    fn name_job(name: &'static str, fail: bool) -> (TxJob, Answer<i64>) {
        let (tx, rx) = oneshot::channel();
        let f = move |w: &mut Writer| -> Res<i64> {
            let id = w.name_id(name)?;
            if fail {
                let reason = "this job fails".into();
                return Err(StoreError::Unavailable { reason }.into());
            }
            Ok(id)
        };
        let job: TxJob = Box::new(WriteJob {
            f,
            result: None,
            tx,
        });
        (job, rx)
    }

    #[test]
    fn names_looked_up_in_an_undone_pass_are_looked_up_again() {
        let dir = tempfile::tempdir().expect("dir");
        let mut w = writer(&dir);
        let (a, mut a_rx) = name_job("added-first", false);
        let (b, _) = name_job("fails", true);
        let (c, mut c_rx) = name_job("added-on-the-second-pass", false);
        assert!(commit_batch(&mut w, &mut vec![a, b, c], &Notify::new()));
        for (name, rx) in [
            ("added-first", &mut a_rx),
            ("added-on-the-second-pass", &mut c_rx),
        ] {
            let id = rx.try_recv().expect("answer").expect("ok");
            let sql = "SELECT name FROM names WHERE id = ?1";
            let stored: String = w.conn.query_row(sql, [id], |r| r.get(0)).expect("row");
            assert_eq!(stored, name);
        }
    }

    #[test]
    fn a_clean_batch_runs_each_job_once() {
        let dir = tempfile::tempdir().expect("dir");
        let mut w = writer(&dir);
        let counts: Vec<_> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let mut batch: Vec<_> = (0..3)
            .map(|i| job(i, false, &counts[i as usize]).0)
            .collect();
        assert!(commit_batch(&mut w, &mut batch, &Notify::new()));
        let runs: Vec<_> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [1, 1, 1]);
        assert_eq!(scratch(&w), [0, 1, 2]);
        assert_eq!(w.careful, 0);
    }
}
