//! SQL for operations: retention purge in small batches, checkpoint, size figures, backup.

use super::fail::{Res, to_i64, to_u64, to_us};
use crate::error::StoreError;
use crate::model::ops::{AgedOut, DbStats, RetentionPolicy, TABLES};
use crate::shared_sql::FINISHED_RUN;
use chrono::{DateTime, Utc};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, params};
use std::path::Path;

/// The oldest runs of status `?1` that finished before `?2`, at most `?3`: a range of the
/// `runs_done` index, which holds finished runs only (hence the repeated condition).
pub(crate) fn aged_runs_sql() -> String {
    format!(
        "SELECT id, event_id FROM runs WHERE status = ?1 AND updated_at < ?2 AND {FINISHED_RUN}
         ORDER BY updated_at LIMIT ?3"
    )
}

/// Deletes up to `batch` finished runs the policy no longer keeps; returns how many.
pub(crate) fn purge_batch(
    conn: &Connection,
    policy: &RetentionPolicy,
    batch: usize,
    now: DateTime<Utc>,
) -> Res<usize> {
    let mut victims: Vec<(i64, i64)> = Vec::new();
    for (status, cutoff) in policy.finished_cutoffs_us(now) {
        let room = batch.saturating_sub(victims.len());
        if room == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(&aged_runs_sql())?;
        let rows = stmt.query_map(params![status.as_str(), cutoff, to_i64(room as u64)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        for row in rows {
            victims.push(row?);
        }
    }
    for (run, event) in &victims {
        delete_run(conn, *run, *event)?;
    }
    Ok(victims.len())
}

/// The statement deleting a batch of `what`, oldest first: the cutoff is `?1`, the batch size
/// `?2`.
fn aged_sql(what: AgedOut) -> &'static str {
    match what {
        AgedOut::Quarantine => {
            "DELETE FROM quarantine WHERE id IN
             (SELECT id FROM quarantine WHERE received_at < ?1 ORDER BY id LIMIT ?2)"
        }
        AgedOut::RunlessEvents => {
            "DELETE FROM events WHERE id IN
             (SELECT e.id FROM events e WHERE e.received_at < ?1
                  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id)
              ORDER BY e.id LIMIT ?2)"
        }
    }
}

/// Deletes up to `batch` rows of `what` received before `cutoff`, oldest first; returns how
/// many.
pub(crate) fn purge_aged(
    conn: &Connection,
    what: AgedOut,
    cutoff: DateTime<Utc>,
    batch: usize,
) -> Res<usize> {
    let sql = aged_sql(what);
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(params![to_us(cutoff), to_i64(batch as u64)])?)
}

fn delete_run(conn: &Connection, run: i64, event: i64) -> Res<()> {
    for sql in [
        "DELETE FROM attempts WHERE run_id = ?1",
        "DELETE FROM ledger WHERE run_id = ?1",
        "DELETE FROM schedule_slots WHERE run_id = ?1",
        "DELETE FROM runs WHERE id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([run])?;
    }
    let mut orphan = conn.prepare_cached(
        "DELETE FROM events WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM runs WHERE event_id = ?1)",
    )?;
    orphan.execute([event])?;
    Ok(())
}

/// Checkpoints the WAL into the main file, truncates it, and returns free pages to the disk (of
/// the database, and of the word index file on its own connection).
pub(crate) fn checkpoint(conn: &Connection) -> Res<()> {
    // Vacuum first, so the pages it moves are in the WAL the checkpoint then empties (retention's
    // deletions, and in the word index file FTS5's segment merges, leave free pages behind).
    // Each step of `incremental_vacuum` frees one page: step it to the end (a single
    // `execute_batch` step returned one page per checkpoint).
    let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut freed = vacuum.query([])?;
    while freed.next()?.is_some() {}
    drop(freed);
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        return Err(StoreError::Unavailable {
            reason: "a reader kept the checkpoint from finishing".into(),
        }
        .into());
    }
    Ok(())
}

pub(crate) fn stats(conn: &Connection, path: &Path) -> Res<DbStats> {
    let pragma = |name: &str| -> Res<u64> {
        Ok(to_u64(conn.query_row(
            &format!("PRAGMA {name}"),
            [],
            |r| r.get(0),
        )?))
    };
    // Both files count: the database's and its word index's (`words_file`), each with its WAL.
    let words = super::words_file::path(path);
    let size = |file: &Path, suffix: &str| {
        std::fs::metadata(crate::files::with_suffix(file, suffix)).map_or(0, |m| m.len())
    };
    let mut rows = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        rows.push(((*table).to_owned(), to_u64(n)));
    }
    Ok(DbStats {
        file_bytes: size(path, "") + size(&words, ""),
        wal_bytes: size(path, "-wal") + size(&words, "-wal"),
        page_size: pragma("page_size")?,
        page_count: pragma("page_count")?,
        free_pages: pragma("freelist_count")?,
        rows,
    })
}

/// Copies the database page by page into a new owner-only file at `dest` (never through a
/// symlink) (all pages in one step, so the copy is one consistent snapshot even while the
/// writer keeps committing). The word index file is not copied: it is derived from the events,
/// and the copy gets a generation of its own, so it is indexed afresh where it is opened.
pub(crate) fn backup(conn: &Connection, dest: &Path) -> Res<()> {
    crate::files::create_backup_target(dest)?;
    let mut target = Connection::open(dest)?;
    let backup = Backup::new(conn, &mut target)?;
    for _ in 0..BACKUP_TRIES {
        if backup.step(-1)? == StepResult::Done {
            drop(backup);
            // The copy's word index is built afresh wherever it is opened (see `words_file`).
            target.execute(
                "UPDATE words_file SET generation = lower(hex(randomblob(16)))",
                [],
            )?;
            return Ok(());
        }
    }
    Err(StoreError::Unavailable {
        reason: "the database stayed locked during the backup".into(),
    }
    .into())
}

/// How many times a backup step that found the database busy is retried.
const BACKUP_TRIES: usize = 1000;
