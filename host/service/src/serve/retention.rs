//! Retention: run history that cleans itself. Every `retention.interval_s` the store deletes
//! finished runs older than their status allows (`succeeded_days`, `failed_days`), quarantined
//! requests older than `failed_days` and events that queued no run (unsupported or unsubscribed
//! events) older than `succeeded_days`, in small batches that never hold the writer long (intake
//! goes on between batches), then checkpoints the WAL and returns free pages to the file system
//! so the file shrinks back. Past `retention.max_db_mib`, which counts every table, all those
//! ages are halved, round by round, until the database fits or only a day of history is left.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_manifest::RetentionConfig;
use switchboard_store::{RetentionPolicy, RunStatus, StoreResult, role};
use tokio::sync::watch;

/// Runs deleted per batch.
const BATCH: usize = 500;
/// The shortest age the size cap may cut history down to.
const MIN_AGE: Duration = Duration::from_secs(24 * 3600);

/// The store's policy for a config.
pub fn policy(config: &RetentionConfig) -> RetentionPolicy {
    let days = |d: u32| Duration::from_secs(u64::from(d) * 24 * 3600);
    let mut policy = RetentionPolicy::default();
    policy
        .max_age
        .insert(RunStatus::Succeeded, days(config.succeeded_days));
    for status in [
        RunStatus::Failed,
        RunStatus::Trapped,
        RunStatus::TimedOut,
        RunStatus::Denied,
        RunStatus::Dead,
    ] {
        policy.max_age.insert(status, days(config.failed_days));
    }
    policy.quarantine_max_age = Some(days(config.failed_days));
    policy.runless_event_max_age = Some(days(config.succeeded_days));
    policy
}

/// One retention pass: purge by age, then by size. Returns the runs deleted.
pub async fn pass(store: &dyn role::Operations, config: &RetentionConfig) -> StoreResult<usize> {
    pass_at(store, config, Utc::now()).await
}

/// [`pass`] as if it were `now`.
pub async fn pass_at(
    store: &dyn role::Operations,
    config: &RetentionConfig,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut policy = policy(config);
    let mut deleted = store.purge(&policy, BATCH, now).await?;
    store.checkpoint().await?;
    let Some(max_mib) = config.max_db_mib else {
        return Ok(deleted);
    };
    let max_bytes = u64::from(max_mib) * 1024 * 1024;
    while size(store).await? > max_bytes && halve(&mut policy) {
        deleted += store.purge(&policy, BATCH, now).await?;
        store.checkpoint().await?;
    }
    Ok(deleted)
}

async fn size(store: &dyn role::Operations) -> StoreResult<u64> {
    let stats = store.stats().await?;
    Ok(stats.file_bytes + stats.wal_bytes)
}

/// Halves every allowed age down to [`MIN_AGE`]; false when nothing could be shortened.
fn halve(policy: &mut RetentionPolicy) -> bool {
    let mut changed = false;
    let others = [
        policy.quarantine_max_age.as_mut(),
        policy.runless_event_max_age.as_mut(),
    ];
    for age in policy
        .max_age
        .values_mut()
        .chain(others.into_iter().flatten())
    {
        let shorter = (*age / 2).max(MIN_AGE);
        changed |= shorter < *age;
        *age = shorter;
    }
    changed
}

/// Runs [`pass`] every `interval_s` until shutdown.
pub async fn run(
    store: Arc<dyn role::Operations>,
    config: RetentionConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(u64::from(config.interval_s));
    loop {
        match pass(store.as_ref(), &config).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(runs = n, "retention deleted old runs"),
            Err(err) => {
                tracing::warn!(error = %err, "retention pass failed; retrying at the next interval")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::{
        AttemptStatus, EventFilter, FinishedAttempt, NewEvent, NewQuarantine, NewRun, Next,
        RunFilter, SqliteConfig, SqliteStore, Store,
    };

    fn event(key: String) -> NewEvent {
        NewEvent {
            dedupe_key: key,
            kind: "manual".into(),
            connection_id: None,
            chat_id: None,
            payload: format!(
                "{{\"source\":\"manual\",\"payload\":\"{}\"}}",
                "x".repeat(2000)
            ),
            received_at: Utc::now(),
        }
    }

    fn run(lane: String) -> NewRun {
        NewRun {
            plugin: "p".into(),
            lane,
            max_attempts: 1,
            origin: "manual".into(),
        }
    }

    /// Ingests `n` events with one run each and finishes them with `status`.
    async fn finished(store: &Arc<dyn Store>, prefix: &str, n: usize, status: AttemptStatus) {
        for i in 0..n {
            let key = format!("{prefix}-{i}");
            store
                .ingest(event(key.clone()), vec![run(key)])
                .await
                .expect("ingest");
        }
        loop {
            let claimed = store.claim("test", 100, Utc::now()).await.expect("claim");
            if claimed.is_empty() {
                break;
            }
            for c in claimed {
                let attempt = FinishedAttempt {
                    attempt: c.attempt,
                    status,
                    error: None,
                    started_at: Utc::now(),
                    duration_us: 1,
                    node: "test".into(),
                    plugin_digest: None,
                    actions: Vec::new(),
                    logs: Vec::new(),
                };
                store
                    .finish(c.run_id, attempt, Next::Final)
                    .await
                    .expect("finish");
            }
        }
    }

    async fn count(store: &Arc<dyn Store>, status: RunStatus) -> usize {
        let filter = RunFilter {
            status: Some(status),
            limit: 100_000,
            ..RunFilter::default()
        };
        store.list_runs(filter).await.expect("list").len()
    }

    /// A SQLite store in a fresh directory (kept while the returned guard lives).
    async fn fresh_store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("s.db")))
            .await
            .expect("open");
        (dir, Arc::new(store))
    }

    #[tokio::test]
    async fn retention_removes_exactly_the_old_runs_under_concurrent_intake_and_the_file_shrinks() {
        let (_dir, store) = fresh_store().await;
        finished(&store, "ok", 1500, AttemptStatus::Succeeded).await;
        finished(&store, "bad", 300, AttemptStatus::Failed).await;
        store.checkpoint().await.expect("checkpoint");
        let before = size(store.as_ref()).await.expect("size");
        let intake = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..400 {
                    let key = format!("new-{i}");
                    store
                        .ingest(event(key.clone()), vec![run(key)])
                        .await
                        .expect("ingest");
                }
            })
        };
        // Eight days later: succeeded runs (7 days) go, failed ones (30 days) stay.
        let later = Utc::now() + chrono::Duration::days(8);
        let deleted = pass_at(store.as_ref(), &RetentionConfig::default(), later)
            .await
            .expect("pass");
        intake.await.expect("intake");
        assert_eq!(deleted, 1500);
        assert_eq!(count(&store, RunStatus::Succeeded).await, 0);
        assert_eq!(count(&store, RunStatus::Failed).await, 300);
        assert_eq!(
            count(&store, RunStatus::Queued).await,
            400,
            "new runs untouched"
        );
        store.checkpoint().await.expect("checkpoint");
        let after = size(store.as_ref()).await.expect("size");
        assert!(
            after < before,
            "the file shrinks: {before} -> {after} bytes"
        );
    }

    #[test]
    fn the_policy_covers_every_final_status_and_no_unfinished_one() {
        let p = policy(&RetentionConfig::default());
        assert_eq!(
            p.max_age[&RunStatus::Succeeded],
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(p.max_age[&RunStatus::Dead], Duration::from_secs(30 * 86400));
        for unfinished in [RunStatus::Queued, RunStatus::Running, RunStatus::Retrying] {
            assert!(!p.max_age.contains_key(&unfinished));
        }
    }

    #[test]
    fn halving_stops_at_a_day() {
        let mut p = policy(&RetentionConfig::default());
        let mut rounds = 0;
        while halve(&mut p) {
            rounds += 1;
        }
        assert!(rounds > 0 && rounds < 10, "{rounds}");
        assert!(p.max_age.values().all(|a| *a == MIN_AGE));
        assert_eq!(p.quarantine_max_age, Some(MIN_AGE));
        assert_eq!(p.runless_event_max_age, Some(MIN_AGE));
    }

    /// Quarantined requests and events without runs count toward `max_db_mib` and go when it is
    /// exceeded, although they are younger than `failed_days`.
    #[tokio::test]
    async fn the_size_cap_removes_quarantine_and_runless_events_too() {
        let (_dir, store) = fresh_store().await;
        let two_days_ago = Utc::now() - chrono::Duration::days(2);
        for i in 0..300 {
            let request = NewQuarantine {
                received_at: two_days_ago,
                reason: format!("unsupported {i}"),
                headers: "{}".into(),
                body: vec![b'q'; 8 * 1024],
            };
            store.quarantine(request).await.expect("quarantine");
            let mut runless = event(format!("runless-{i}"));
            runless.received_at = two_days_ago;
            store.ingest(runless, vec![]).await.expect("ingest");
        }
        let config = RetentionConfig {
            max_db_mib: Some(1),
            ..RetentionConfig::default()
        };
        pass_at(store.as_ref(), &RetentionConfig::default(), Utc::now())
            .await
            .expect("pass");
        assert_eq!(
            store.quarantine_list(500, None).await.expect("list").len(),
            300
        );
        pass_at(store.as_ref(), &config, Utc::now())
            .await
            .expect("pass");
        assert!(
            store
                .quarantine_list(500, None)
                .await
                .expect("list")
                .is_empty()
        );
        let events = store
            .list_events(EventFilter {
                limit: 500,
                ..EventFilter::default()
            })
            .await
            .expect("events");
        assert!(events.is_empty(), "{} events left", events.len());
        store.checkpoint().await.expect("checkpoint");
        let left = size(store.as_ref()).await.expect("size");
        let stats = store.stats().await.expect("stats");
        assert!(left <= 1024 * 1024, "{left} bytes left: {stats:?}");
    }
}
