//! Connection settings and versioned migrations.
//!
//! The schema version lives in `PRAGMA user_version`; [`MIGRATIONS`] is the ordered list of SQL
//! scripts, and migration `n` (from 1) brings the database from version `n - 1` to `n`. Each runs
//! in its own transaction with the version bump. A file from a newer build is refused. Version 7
//! also runs Rust before its SQL (the digests of the stored dedupe keys, `dedupe.rs`).
//! `auto_vacuum = INCREMENTAL` is set before the first table exists (it cannot change later
//! without a full VACUUM), then the journal is switched to WAL with `synchronous = FULL` (every
//! group commit fsyncs the WAL, so an answered write survives a power cut) or, when the host
//! config asks for `durability = "normal"`, `NORMAL` (not fsynced; a killed process still loses
//! nothing committed, a power cut may lose the last commits). The writer keeps
//! its statement journal (the savepoints a group commit gives its jobs after one failed, see
//! `worker`) in memory: on disk it cost a third of the intake time.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use crate::model::ops::Durability;
use rusqlite::Connection;
use std::time::Duration;

/// Every migration, in order. Never edit a released one; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_nodes.sql"),
    include_str!("migrations/0003_search.sql"),
    include_str!("migrations/0004_word_index.sql"),
    include_str!("migrations/0005_status_pages.sql"),
    include_str!("migrations/0006_fewer_pages.sql"),
    include_str!("migrations/0007_fewer_bytes.sql"),
    include_str!("migrations/0008_words_file.sql"),
    include_str!("migrations/0009_packing_v3.sql"),
];

/// How long a connection waits for another one's lock before answering `Unavailable`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// What the WAL file is cut back to after a restart (`PRAGMA journal_size_limit`); the
/// checkpointer restarts the WAL at this size (`checkpointer::RESTART_AT`).
pub(crate) const JOURNAL_SIZE_LIMIT: u64 = 24 * 1024 * 1024;

/// Sets up the writer connection and migrates the schema to the latest version.
pub(crate) fn prepare_writer(conn: &mut Connection, durability: Durability) -> Res<()> {
    conn.set_prepared_statement_cache_capacity(64);
    prepare_wal(conn, durability, "the database")?;
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0;",
    )?;
    migrate(conn)
}

/// What every connection that writes a file of the store sets first (the database's writer and
/// the word index file's): the busy timeout, incremental vacuum (it only takes before the first
/// table exists), WAL (refused on a file system without it: `what` names the file in the
/// error), `durability`'s `synchronous`, temporary tables in memory and the WAL's size limit.
pub(crate) fn prepare_wal(conn: &Connection, durability: Durability, what: &str) -> Res<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable {
            reason: format!("the file system refused WAL mode for {what} ({mode})"),
        }
        .into());
    }
    let synchronous = durability.sqlite_synchronous();
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY;"
    ))?;
    set_journal_size_limit(conn)
}

/// Sets up the background checkpoint connection (it writes only the main file).
pub(crate) fn prepare_checkpointer(conn: &Connection) -> Res<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    set_journal_size_limit(conn)
}

/// After the WAL restarts, the next commit truncates the file to this size.
fn set_journal_size_limit(conn: &Connection) -> Res<()> {
    let limit = JOURNAL_SIZE_LIMIT;
    conn.query_row(&format!("PRAGMA journal_size_limit = {limit}"), [], |_| {
        Ok(())
    })?;
    Ok(())
}

/// Sets up a reader connection: same file, never writes.
pub(crate) fn prepare_reader(conn: &Connection) -> Res<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16384;")?;
    Ok(())
}

/// Applies the migrations this file has not seen yet.
pub(crate) fn migrate(conn: &mut Connection) -> Res<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if found > supported {
        return Err(Fail::Store(StoreError::SchemaTooNew { found, supported }));
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        if version == 7 {
            super::dedupe::before_migration_7(&tx)?;
        }
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
        tx.commit()?;
        tracing::info!(version, "store schema migrated");
    }
    Ok(())
}

/// The current schema version of an open database.
pub(crate) fn version(conn: &Connection) -> Res<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}
