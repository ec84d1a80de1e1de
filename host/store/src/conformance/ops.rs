//! Conformance: retention, size figures, checkpoint and backup.

use super::fixtures::{attempt, claim_now, event, ingest_lanes, run};
use crate::{AttemptStatus, EventId, Next, RetentionPolicy, RunStatus, Store};
use chrono::{TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Purge deletes exactly the finished runs older than their status allows (with their events
/// once runless), in batches, while ingest carries on.
pub async fn retention_purges_exactly_the_eligible_runs(store: Arc<dyn Store>) {
    let ingested = ingest_lanes(&*store, "p", 30).await;
    let events: Vec<EventId> = ingested.iter().map(|i| i.event_id).collect();
    let claimed = claim_now(&*store, "node-a", 20).await;
    assert_eq!(claimed.len(), 20);
    for (n, c) in claimed.iter().enumerate() {
        let status = if n < 10 {
            AttemptStatus::Succeeded
        } else {
            AttemptStatus::Failed
        };
        store
            .finish(c.run_id, attempt(c, status), Next::Final)
            .await
            .expect("finish");
    }
    let ingesting = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..200 {
                store
                    .ingest(
                        event(&format!("new{i}"), Some(1000 + i)),
                        vec![run("p", "busy")],
                    )
                    .await
                    .expect("ingest");
            }
        })
    };
    let mut policy = RetentionPolicy::default();
    policy
        .max_age
        .insert(RunStatus::Succeeded, Duration::from_secs(3600));
    policy
        .max_age
        .insert(RunStatus::Failed, Duration::from_secs(30 * 86_400));
    policy.max_age.insert(RunStatus::Queued, Duration::ZERO);
    let later = Utc::now() + TimeDelta::hours(2);
    assert_eq!(store.purge(&policy, 3, later).await.expect("purge"), 10);
    ingesting.await.expect("ingest task");
    assert_eq!(
        store.purge(&policy, 3, later).await.expect("purge again"),
        0
    );
    let succeeded = crate::RunFilter {
        status: Some(RunStatus::Succeeded),
        limit: 100,
        ..Default::default()
    };
    assert!(store.list_runs(succeeded).await.expect("list").is_empty());
    let failed = crate::RunFilter {
        status: Some(RunStatus::Failed),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(store.list_runs(failed).await.expect("list").len(), 10);
    assert_eq!(
        store.queue_depth().await.expect("depth").queued,
        210,
        "unfinished runs are never purged"
    );
    let gone = claimed[0].event_id;
    assert_eq!(
        store.get_event(gone).await.expect("get"),
        None,
        "a runless event goes with its run"
    );
    assert_eq!(store.get_run(claimed[0].run_id).await.expect("get"), None);
    assert!(
        store
            .get_event(claimed[10].event_id)
            .await
            .expect("get")
            .is_some()
    );
    assert_eq!(events.len(), 30);
}

/// Stats count rows; checkpoint succeeds; a backup is written once and never overwrites.
pub async fn stats_checkpoint_and_backup(store: Arc<dyn Store>) {
    for i in 0..20 {
        store
            .ingest(
                event(&format!("s{i}"), Some(i)),
                vec![run("p", "l"), run("q", "l")],
            )
            .await
            .expect("ingest");
    }
    store
        .kv_set("ns", "k", vec![7; 100], None)
        .await
        .expect("kv");
    let stats = store.stats().await.expect("stats");
    let rows = |table: &str| stats.rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
    assert_eq!(
        (rows("events"), rows("runs"), rows("kv")),
        (Some(20), Some(40), Some(1))
    );
    assert!(stats.page_count > 0 && stats.page_size > 0);
    store.checkpoint().await.expect("checkpoint");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backup.db");
    store.backup(&path).await.expect("backup");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 0, "the backup file holds the database");
    assert!(
        store.backup(&path).await.is_err(),
        "an existing file is never overwritten"
    );
}

/// Ids keep growing after a purge emptied the tables (history links never point elsewhere).
pub async fn ids_are_never_reused_after_purge(store: Arc<dyn Store>) {
    let first = store
        .ingest(event("old", Some(1)), vec![run("p", "l")])
        .await
        .expect("ingest");
    let claimed = claim_now(&*store, "node-a", 1).await;
    let done = attempt(&claimed[0], AttemptStatus::Succeeded);
    store
        .finish(claimed[0].run_id, done, Next::Final)
        .await
        .expect("finish");
    let mut policy = RetentionPolicy::default();
    policy.max_age.insert(RunStatus::Succeeded, Duration::ZERO);
    let later = Utc::now() + TimeDelta::hours(1);
    assert_eq!(store.purge(&policy, 10, later).await.expect("purge"), 1);
    assert_eq!(store.get_event(first.event_id).await.expect("get"), None);
    let next = store
        .ingest(event("new", Some(1)), vec![run("p", "l")])
        .await
        .expect("ingest");
    assert!(next.event_id > first.event_id, "event id reused");
    assert!(next.run_ids[0] > first.run_ids[0], "run id reused");
}

/// Purge also deletes quarantined requests and events that queued no run once they are older
/// than their ages, and keeps younger ones and events that still have runs.
pub async fn retention_purges_old_quarantine_and_runless_events(store: Arc<dyn Store>) {
    let now = Utc::now();
    let quarantine = |at, reason: &str| crate::NewQuarantine {
        received_at: at,
        reason: reason.to_owned(),
        headers: "{}".to_owned(),
        body: vec![b'x'; 64],
    };
    let old = now - TimeDelta::days(10);
    for i in 0..7 {
        let q = quarantine(old, &format!("old {i}"));
        store.quarantine(q).await.expect("quarantine");
    }
    let young = store
        .quarantine(quarantine(now, "young"))
        .await
        .expect("quarantine");
    let mut runless_old = event("runless-old", Some(1));
    runless_old.received_at = old;
    let runless_old = store.ingest(runless_old, vec![]).await.expect("ingest");
    let mut runless_young = event("runless-young", Some(1));
    runless_young.received_at = now;
    let runless_young = store.ingest(runless_young, vec![]).await.expect("ingest");
    let mut with_run = event("with-run", Some(2));
    with_run.received_at = old;
    let with_run = store
        .ingest(with_run, vec![run("p", "lane")])
        .await
        .expect("ingest");
    let policy = RetentionPolicy {
        quarantine_max_age: Some(Duration::from_secs(86_400)),
        runless_event_max_age: Some(Duration::from_secs(86_400)),
        ..RetentionPolicy::default()
    };
    store.purge(&policy, 3, now).await.expect("purge");
    let left = store.quarantine_list(100, None).await.expect("list");
    let left: Vec<_> = left.iter().map(|q| q.id).collect();
    assert_eq!(left, vec![young], "only the young request is kept");
    let gone = store.get_event(runless_old.event_id).await.expect("get");
    assert_eq!(gone, None, "an old event without runs is deleted");
    for kept in [runless_young.event_id, with_run.event_id] {
        let found = store.get_event(kept).await.expect("get");
        assert!(found.is_some(), "event {kept} is kept");
    }
    let redelivered = event("runless-old", Some(1));
    let again = store.ingest(redelivered, vec![]).await.expect("ingest");
    assert!(!again.duplicate, "its dedupe key went with it");
}
