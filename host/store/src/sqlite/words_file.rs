//! The payload word index's own file, `<database>-words`: the FTS5 table `event_words` and the
//! one row of `word_index` (the generation of the database it indexes, and the watermark, the
//! highest event id whose words it holds). It is written by its own connection on its own
//! thread, so an index pass (FTS5's inserts, flushes and merges) never holds the writer's batch
//! transaction, which every ack waits for; the store's readers attach it as `words`.
//!
//! The file is derived data: every word in it can be read again from the events. So rather than
//! being backed up or repaired, it is rebuilt whenever it does not provably belong to the
//! database beside it, emptied and indexed again from the first event:
//! - its generation is not the database's `words_file.generation` (a file from another
//!   database; a backup copy gets a new generation, so a restored backup indexes afresh);
//! - its watermark is past the database's newest event: ids above it may be handed out again,
//!   to events the index has never seen (the newest events were lost: a power cut under
//!   `durability = "normal"`, which orders no writes across the two files). When retention
//!   deleted the newest events instead, indexing again only costs background time;
//! - it is not a database at all (damaged): it is then deleted and created again;
//! - it has another format than [`FORMAT`] (an older build's tokenizer).
//!
//! Both files are written in separate transactions, so the index can trail the events (a text
//! filter tokenises the events above the watermark itself, see `words`), but never lead them.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use crate::model::ops::Durability;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

/// The schema of the index file (created when missing). The words come tokenised and lowercased
/// by [`crate::search`], joined by spaces, so FTS5's `ascii` tokenizer (which splits on ASCII
/// punctuation and spaces only, and keeps every other character in its token) gives each of
/// them back whole, with no Unicode tables to consult; a query's words come the same way.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS word_index (generation TEXT NOT NULL, watermark INTEGER NOT NULL);
    CREATE VIRTUAL TABLE IF NOT EXISTS event_words USING fts5(
        words,
        content = '',
        contentless_delete = 1,
        detail = none,
        tokenize = 'ascii'
    );";

/// The index file's format (its `user_version`). A file of another format (0: before formats,
/// when `event_words` used the `unicode61` tokenizer) is indexed again from the start.
const FORMAT: i64 = 1;

/// The index file of the database at `db`.
pub(crate) fn path(db: &Path) -> PathBuf {
    crate::files::with_suffix(db, "-words")
}

/// Opens (creating, binding and when needed rebuilding) the index file of the database whose
/// writer is `db`, which is open and migrated; returns the index file's writing connection.
pub(crate) fn open(db_path: &Path, db: &Connection, durability: Durability) -> Res<Connection> {
    let words = path(db_path);
    // Read first, so that an error of the database's own is never taken for a damaged index.
    let owner = Owner {
        generation: db.query_row("SELECT generation FROM words_file", [], |r| r.get(0))?,
        newest: db.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?,
    };
    match open_bound(&words, &owner, durability) {
        Err(Fail::Sql(e)) if damaged(&e) => {
            tracing::warn!(file = %words.display(), error = %e,
                "the word index file is damaged; deleting it and indexing again from the start");
            crate::files::remove_database(&words)?;
            open_bound(&words, &owner, durability)
        }
        other => other,
    }
}

/// What binds an index file to its database: the database's generation and its newest event.
struct Owner {
    generation: String,
    newest: i64,
}

fn damaged(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

fn open_bound(words: &Path, owner: &Owner, durability: Durability) -> Res<Connection> {
    crate::files::secure_database(words)?;
    let mut conn = Connection::open(words)?;
    conn.set_prepared_statement_cache_capacity(16);
    // Incremental vacuum gives back the pages FTS5's segment merges free.
    super::schema::prepare_wal(&conn, durability, "the word index")?;
    conn.execute_batch("PRAGMA cache_size = -8192;")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let format: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if format != FORMAT {
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if tables > 0 {
            tracing::info!(file = %words.display(), format, "the word index file has an older \
                format; indexing the events again from the start");
        }
        tx.execute_batch("DROP TABLE IF EXISTS event_words; DROP TABLE IF EXISTS word_index;")?;
        tx.pragma_update(None, "user_version", FORMAT)?;
    }
    tx.execute_batch(SCHEMA)?;
    let found: Option<(String, i64)> = tx
        .query_row("SELECT generation, watermark FROM word_index", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let bound = matches!(&found,
        Some((g, watermark)) if *g == owner.generation && *watermark <= owner.newest);
    if !bound {
        if found.is_some() {
            tracing::info!(file = %words.display(),
                "the word index file belongs to another state of the database (a restored backup \
                 or a copied file); indexing its events again from the start");
        }
        tx.execute_batch(
            "DELETE FROM word_index; INSERT INTO event_words (event_words) VALUES ('delete-all');",
        )?;
        tx.execute(
            "INSERT INTO word_index (generation, watermark) VALUES (?1, 0)",
            [&owner.generation],
        )?;
    }
    tx.commit()?;
    Ok(conn)
}

/// Attaches the index file to a reader connection as `words` (read-only, as the reader is).
pub(crate) fn attach(reader: &Connection, db_path: &Path) -> Res<()> {
    let words = path(db_path);
    let Some(name) = words.to_str() else {
        return Err(StoreError::Open {
            path: words.display().to_string(),
            reason: "the word index file's path is not UTF-8".into(),
        }
        .into());
    };
    reader.execute("ATTACH DATABASE ?1 AS words", [name])?;
    Ok(())
}

/// A job on the index thread, given the index file's connection.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The thread that owns the index file's connection; jobs run one at a time, in order.
#[derive(Clone)]
pub(crate) struct WordsThread {
    jobs: mpsc::Sender<Job>,
}

impl WordsThread {
    /// Starts the thread with the index file's connection. It never reads the database: it runs
    /// at a lower priority, and a snapshot it held could keep the WAL from starting over.
    pub(crate) fn start(mut words: Connection) -> Res<Self> {
        let (tx, mut rx) = mpsc::channel::<Job>(64);
        std::thread::Builder::new()
            .name("switchboard-store-words".into())
            .spawn(move || {
                lower_priority();
                while let Some(job) = rx.blocking_recv() {
                    job(&mut words);
                }
            })
            .map_err(|e| {
                Fail::Store(StoreError::Unavailable {
                    reason: format!("cannot start a store thread: {e}"),
                })
            })?;
        Ok(WordsThread { jobs: tx })
    }

    /// Runs `f` on the index thread.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Res<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |words| {
            let _ = tx.send(f(words).map_err(StoreError::from));
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// How much lower than the service's other threads the index thread runs (a `nice` increment):
/// when the cores are busy, the scheduler gives it about a tenth of a core against each of them,
/// so a pass never takes CPU from acks and runs; when they are idle it runs at full speed.
///
/// Not `SCHED_IDLE`, which would starve it while the cores are full: SQLite's page cache and
/// allocator take mutexes shared by every connection of the process (the bundled build enables
/// memory management), so a thread kept waiting for CPU while it holds one keeps the writer
/// waiting too.
const NICENESS: i32 = 10;

/// Lowers the calling thread's CPU priority by [`NICENESS`] (Linux keeps a `nice` value per
/// thread); elsewhere, or when refused, the thread keeps the process's priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        let lowered = rustix::process::getpriority_process(Some(me)).and_then(|now| {
            rustix::process::setpriority_process(Some(me), (now + NICENESS).min(19))
        });
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "the word index thread keeps the process's priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The index thread runs `NICENESS` below the thread that started it (at most 19).
    #[tokio::test]
    async fn the_index_thread_runs_at_a_lower_priority() {
        let process = rustix::process::getpriority_process(None).expect("priority");
        let memory = Connection::open_in_memory().expect("in memory");
        let thread = WordsThread::start(memory).expect("start");
        let nice = thread
            .run(|_| {
                let me = rustix::thread::gettid();
                Ok(rustix::process::getpriority_process(Some(me)).expect("priority"))
            })
            .await
            .expect("run");
        assert_eq!(nice, (process + NICENESS).min(19));
    }
}
