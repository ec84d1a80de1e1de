//! SQL for operations: retention purge in small batches, vacuum, size figures, and a logical
//! backup (every table's rows as `COPY` data, from one snapshot).

use super::fail::{Fail, Res, exec, get, one, rows, to_i64, to_u64, to_us};
use crate::error::StoreError;
use crate::model::ops::{AgedOut, DbStats, RetentionPolicy, TABLES};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use futures::StreamExt;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Deletes up to `batch` finished runs the policy no longer keeps; returns how many. Victims
/// are locked with `SKIP LOCKED`, so a run being requeued at the same moment is left alone.
pub(crate) async fn purge_batch(
    tx: &Transaction<'_>,
    policy: &RetentionPolicy,
    batch: usize,
    now: DateTime<Utc>,
) -> Res<usize> {
    let (mut runs, mut events): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    for (status, cutoff) in policy.finished_cutoffs_us(now) {
        let room = batch.saturating_sub(runs.len());
        if room == 0 {
            break;
        }
        let found = rows(
            tx,
            "SELECT id, event_id FROM runs WHERE status = $1 AND updated_at < $2
             ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED",
            &[&status.as_str(), &cutoff, &to_i64(room as u64)],
        )
        .await?;
        for row in &found {
            runs.push(get(row, 0)?);
            events.push(get(row, 1)?);
        }
    }
    if !runs.is_empty() {
        delete_runs(tx, &runs, &events).await?;
    }
    Ok(runs.len())
}

/// The statement deleting a batch of `what`, oldest first: the cutoff is `$1`, the batch size
/// `$2`.
fn aged_sql(what: AgedOut) -> &'static str {
    match what {
        AgedOut::Quarantine => {
            "DELETE FROM quarantine WHERE id IN
             (SELECT id FROM quarantine WHERE received_at < $1 ORDER BY id LIMIT $2
              FOR UPDATE SKIP LOCKED)"
        }
        AgedOut::RunlessEvents => {
            "DELETE FROM events WHERE id IN
             (SELECT e.id FROM events e WHERE e.received_at < $1
                  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id)
              ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
    }
}

/// Deletes up to `batch` rows of `what` received before `cutoff`, oldest first; returns how
/// many. Rows another transaction holds are skipped (`SKIP LOCKED`).
pub(crate) async fn purge_aged(
    tx: &Transaction<'_>,
    what: AgedOut,
    cutoff: DateTime<Utc>,
    batch: usize,
) -> Res<usize> {
    let sql = aged_sql(what);
    let n = exec(tx, sql, &[&to_us(cutoff), &to_i64(batch as u64)]).await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

async fn delete_runs(tx: &Transaction<'_>, runs: &[i64], events: &[i64]) -> Res<()> {
    for sql in [
        "DELETE FROM attempts WHERE run_id = ANY($1)",
        "DELETE FROM ledger WHERE run_id = ANY($1)",
        "DELETE FROM schedule_slots WHERE run_id = ANY($1)",
        "DELETE FROM runs WHERE id = ANY($1)",
    ] {
        exec(tx, sql, &[&runs]).await?;
    }
    exec(
        tx,
        "DELETE FROM events e WHERE e.id = ANY($1)
             AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id)",
        &[&events],
    )
    .await?;
    Ok(())
}

/// Vacuums the store's tables (outside a transaction), so purged rows' space is reused.
pub(crate) async fn vacuum(client: &deadpool_postgres::Object) -> Res<()> {
    client
        .batch_execute(&format!("VACUUM {}", TABLES.join(", ")))
        .await?;
    Ok(())
}

pub(crate) async fn stats(tx: &Transaction<'_>) -> Res<DbStats> {
    let size = one(
        tx,
        "SELECT pg_database_size(current_database())::BIGINT, current_setting('block_size')::BIGINT",
        &[],
    )
    .await?;
    let (bytes, block): (i64, i64) = (get(&size, 0)?, get(&size, 1)?);
    let mut counted = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let row = one(tx, &format!("SELECT count(*) FROM {table}"), &[]).await?;
        counted.push(((*table).to_owned(), to_u64(get(&row, 0)?)));
    }
    let page_size = to_u64(block).max(1);
    Ok(DbStats {
        file_bytes: to_u64(bytes),
        wal_bytes: 0,
        page_size,
        page_count: to_u64(bytes) / page_size,
        free_pages: 0,
        rows: counted,
    })
}

/// Writes every table's rows, as `COPY .. FROM stdin` blocks a `psql` can load into a migrated
/// database, to a new file at `dest` (never overwriting one). The caller's transaction is
/// REPEATABLE READ, so the copy is one consistent snapshot while writers carry on.
pub(crate) async fn backup(tx: &Transaction<'_>, dest: &Path) -> Res<()> {
    let mut file = tokio::fs::File::from_std(crate::files::create_backup_target(dest)?);
    let version = one(
        tx,
        "SELECT coalesce(max(version), 0) FROM schema_version",
        &[],
    )
    .await?;
    let header = format!(
        "-- switchboard store backup, schema version {}\n",
        get::<i64>(&version, 0)?
    );
    write(&mut file, dest, header.as_bytes()).await?;
    for table in TABLES {
        write(
            &mut file,
            dest,
            format!("COPY {table} FROM stdin;\n").as_bytes(),
        )
        .await?;
        let stream = tx.copy_out(&format!("COPY {table} TO STDOUT")).await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            write(&mut file, dest, &chunk?).await?;
        }
        write(&mut file, dest, b"\\.\n\n").await?;
    }
    file.sync_all().await.map_err(|e| backup_error(dest, &e))
}

async fn write(file: &mut tokio::fs::File, dest: &Path, bytes: &[u8]) -> Res<()> {
    file.write_all(bytes)
        .await
        .map_err(|e| backup_error(dest, &e))
}

fn backup_error(dest: &Path, e: &std::io::Error) -> Fail {
    let shown = dest.display();
    Fail::Store(if e.kind() == std::io::ErrorKind::AlreadyExists {
        StoreError::conflict(format!(
            "backup target `{shown}` already exists; choose a new path"
        ))
    } else {
        StoreError::Unavailable {
            reason: format!("cannot write backup `{shown}`: {e}"),
        }
    })
}
