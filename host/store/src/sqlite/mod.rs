//! The SQLite backend: [`SqliteStore`] opens (and migrates) one database file and serves the
//! [`Store`](crate::Store) trait from its worker threads (see `worker`).

mod checkpointer;
mod counters;
mod counts;
mod dedupe;
mod detail;
mod digests;
mod dispatch;
mod fail;
mod fence;
mod history;
mod intake;
mod kv;
mod lanes;
mod ledger;
mod names;
mod nodes;
mod ops;
mod packing;
#[cfg(test)]
mod plans;
mod schedule;
mod schema;
mod sources;
mod store_impl;
mod views;
mod words;
mod words_file;
mod worker;

use crate::error::StoreError;
use crate::model::ops::Durability;
use checkpointer::FullCheckpoints;
use fail::{Fail, Res};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{Notify, oneshot};
use worker::{Workers, Writer};

/// Where and how to open the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file; created (with its directory's permissions) when missing.
    pub path: PathBuf,
    /// Reader threads (each with its own connection). At least 1.
    pub readers: usize,
    /// Write requests that may wait for the writer before callers are held back.
    pub queue: usize,
    /// When a commit is on disk (`synchronous = FULL` or `NORMAL`).
    pub durability: Durability,
    /// Take the database's process lock (`<path>.lock`, see `files`): opening fails with
    /// `Conflict` while another process holds it. Set by `serve`, the one process that runs
    /// runs; the history and maintenance commands open the database beside it without it.
    pub exclusive: bool,
    /// Feed the payload word index in the background (see [`crate::indexer`]). Off, it is fed
    /// only by text filters that find too many events unindexed and by `index_words`.
    pub index_words: bool,
}

impl SqliteConfig {
    /// Defaults for `path`: 2 readers, a queue of 8192 writes, full durability, no process lock,
    /// the word index fed in the background.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            readers: 2,
            queue: 8192,
            durability: Durability::Full,
            exclusive: false,
            index_words: true,
        }
    }
}

/// The SQLite implementation of [`Store`](crate::Store). Cheap to share as `Arc<dyn Store>`;
/// its threads stop when the last handle is dropped.
pub struct SqliteStore {
    workers: Workers,
    /// Held while the store is open when `exclusive` was asked for.
    _lock: Option<crate::files::ProcessLock>,
    checkpoints: FullCheckpoints,
    notify: Arc<Notify>,
    /// The word index file's thread (see `words_file`).
    words: words_file::WordsThread,
    /// Notified after ingests: wakes the background word indexer.
    words_wake: Arc<Notify>,
    _indexer: Option<crate::indexer::Background>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database at `config.path`. The file work
    /// happens on a store thread, not on the executor.
    pub async fn open(config: SqliteConfig) -> Result<SqliteStore, StoreError> {
        let (tx, rx) = oneshot::channel();
        let started = std::thread::Builder::new()
            .name("switchboard-store-open".into())
            .spawn({
                let config = config.clone();
                move || drop(tx.send(open_blocking(&config).map_err(StoreError::from)))
            });
        if let Err(e) = started {
            return Err(StoreError::Unavailable {
                reason: format!("cannot start a store thread: {e}"),
            });
        }
        let mut store = rx.await.map_err(|_| StoreError::Closed)??;
        if config.index_words {
            let (words, workers) = (store.words.clone(), store.workers.clone());
            let pass = move || {
                let (words, workers) = (words.clone(), workers.clone());
                async move { words::pass(&words, &workers, crate::indexer::BATCH).await }
            };
            let wake = Arc::clone(&store.words_wake);
            let settle = crate::indexer::SETTLE_SQLITE;
            store._indexer = Some(crate::indexer::spawn(pass, wake, settle));
        }
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.workers.read(schema::version).await
    }

    /// Runs `delete(writer, batch)` in writer jobs of one batch each until a job deletes fewer
    /// than `batch` rows (intake goes on between batches); returns how many were deleted.
    async fn purge_batches<F>(&self, batch: usize, delete: F) -> Result<usize, StoreError>
    where
        F: Fn(&mut Writer, usize) -> Res<usize> + Clone + Send + 'static,
    {
        let mut total = 0;
        loop {
            let delete = delete.clone();
            let deleted = self.workers.write(move |w| delete(w, batch)).await?;
            total += deleted;
            if deleted < batch {
                return Ok(total);
            }
        }
    }

    /// The writer's `PRAGMA synchronous` (2 = FULL, 1 = NORMAL): what `durability` chose.
    pub async fn synchronous(&self) -> Result<i64, StoreError> {
        self.workers
            .write(|w| Ok(w.conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            .await
    }

    /// The journal mode in force (`wal` once open).
    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        self.workers
            .read(|conn| Ok(conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .await
    }
}

fn open_error(path: &Path, e: &rusqlite::Error) -> Fail {
    Fail::Store(StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn open_blocking(config: &SqliteConfig) -> Res<SqliteStore> {
    let path = config.path.clone();
    let lock = config
        .exclusive
        .then(|| crate::files::lock(&path))
        .transpose()?;
    crate::files::secure_database(&path)?;
    let mut conn = Connection::open(&path).map_err(|e| open_error(&path, &e))?;
    schema::prepare_writer(&mut conn, config.durability).map_err(|f| match f {
        Fail::Sql(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            open_error(&path, &e)
        }
        other => other,
    })?;
    let words = words_file::open(&path, &conn, config.durability)?;
    let words = words_file::WordsThread::start(words)?;
    let readers = (0..config.readers.clamp(1, 16))
        .map(|_| open_reader(&path))
        .collect::<Res<_>>()?;
    let notify = Arc::new(Notify::new());
    let (checkpointer, checkpoints) = checkpointer::start(open_checkpointer(&path)?)?;
    let writer = Writer::new(conn, checkpointer);
    let workers = Workers::start(writer, readers, Arc::clone(&notify), config.queue)?;
    Ok(SqliteStore {
        workers,
        _lock: lock,
        checkpoints,
        notify,
        words,
        words_wake: Arc::new(Notify::new()),
        _indexer: None,
        path,
    })
}

/// A reader of the store: the database, with the word index file attached.
fn open_reader(path: &Path) -> Res<Connection> {
    let reader = open_read_only(path)?;
    words_file::attach(&reader, path)?;
    Ok(reader)
}

/// A read-only connection to the database alone (the word index thread reads events with one).
fn open_read_only(path: &Path) -> Res<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let reader = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
    schema::prepare_reader(&reader)?;
    Ok(reader)
}

fn open_checkpointer(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path).map_err(|e| open_error(path, &e))?;
    schema::prepare_checkpointer(&conn)?;
    Ok(conn)
}
