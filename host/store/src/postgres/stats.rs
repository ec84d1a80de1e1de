//! Planner statistics while the database is young.
//!
//! Pooled connections keep their prepared statements, and PostgreSQL keeps a prepared
//! statement's generic plan until its tables' statistics change. On a new database those plans
//! are made while `runs` is nearly empty, where reading the whole table is the cheapest plan
//! even for a lookup by id, and they are kept until autovacuum first analyses the table: a
//! minute or more, during which every such lookup reads the whole, growing table (measured in
//! `e2e --store postgres`: 44 million rows read in 20 s; an ANALYZE 9 s in raised the maximum
//! runs/s by half, BENCHMARKS.md). So the store analyses its busy tables itself each time the
//! ids of the events (webhooks) or runs (cron slots) it stores have grown fourfold, from
//! [`FIRST`]: a few cheap ANALYZEs while the database is young, then almost never. An ANALYZE
//! makes PostgreSQL plan the cached statements again, with the new figures.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::Pool;

/// The first id after which the busy tables are analysed.
pub(crate) const FIRST: i64 = 1024;
/// How much the ids grow between two ANALYZEs.
const GROWTH: i64 = 4;
/// The tables whose plans matter on the hot path.
const ANALYZE: &str = "ANALYZE runs, lanes, events, ledger, attempts";
/// A bound on one ANALYZE, connection included.
const BOUND: Duration = Duration::from_secs(60);

/// When the next ANALYZE is due.
pub(crate) struct Statistics {
    next: AtomicI64,
}

impl Statistics {
    pub(crate) fn new() -> Self {
        Statistics {
            next: AtomicI64::new(FIRST),
        }
    }

    /// Notes the id of a stored event or run; past the due point, analyses the busy tables in
    /// the background. The first store after a start on an older database is past it too: one
    /// ANALYZE, whatever the database's age.
    pub(crate) fn stored(&self, pool: &Pool, id: i64) {
        let due = self.next.load(Ordering::Relaxed);
        if id < due {
            return;
        }
        let after = id.saturating_mul(GROWTH).max(FIRST);
        if self
            .next
            .compare_exchange(due, after, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(BOUND, analyze(&pool)).await {
                Ok(Ok(())) => tracing::debug!(id, "analysed the busy tables"),
                Ok(Err(reason)) => {
                    tracing::warn!(%reason, "cannot analyse the busy tables; autovacuum will")
                }
                Err(_) => tracing::warn!(
                    bound_s = BOUND.as_secs(),
                    "analysing the busy tables took too long; autovacuum will"
                ),
            }
        });
    }
}

async fn analyze(pool: &Pool) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| e.to_string())?;
    client
        .batch_execute(ANALYZE)
        .await
        .map_err(|e| super::fail::pg_error(&e).to_string())
}
