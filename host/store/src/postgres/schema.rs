//! Versioned migrations: `schema_version` holds the version of the database; [`MIGRATIONS`] is
//! the ordered list of SQL files in `migrations/`, and migration `n` (from 1) brings a database
//! from version `n - 1` to `n`. All pending migrations run in one transaction under an advisory
//! lock, so nodes starting together migrate once. A database from a newer build is refused.

use super::fail::{Fail, Res, get};
use crate::error::StoreError;
use tokio_postgres::Client;

/// Every migration, in order. Never edit a released one; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_nodes.sql"),
    include_str!("migrations/0003_lease_holder.sql"),
    include_str!("migrations/0004_search.sql"),
    include_str!("migrations/0005_word_index.sql"),
    include_str!("migrations/0006_status_pages.sql"),
];

/// The advisory lock key migrations hold (any constant unique to switchboard).
const MIGRATION_LOCK: i64 = 0x5357_4254_4348_0001;

/// Applies the migrations this database has not seen yet.
pub(crate) async fn migrate(client: &mut Client) -> Res<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await?;
    let found: i64 = get(&row, 0)?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if found > supported {
        return Err(Fail::Store(StoreError::SchemaTooNew { found, supported }));
    }
    for (version, sql) in (1_i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "postgres store schema migrated");
    }
    tx.commit().await?;
    Ok(())
}

/// The current schema version.
pub(crate) async fn version(client: &Client) -> Res<i64> {
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await?;
    get(&row, 0)
}
