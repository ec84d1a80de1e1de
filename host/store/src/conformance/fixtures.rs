//! What the conformance cases share: a fixed instant, events, runs and attempts to store, and
//! the few steps many cases take (claim now, queue one run, finish as, list the newest).

use crate::{
    ActionRow, AttemptStatus, ClaimedRun, EventFilter, EventSummary, FinishedAttempt, Ingested,
    LogRow, NewEvent, NewRun, Next, RunId, Store, StoreError,
};
use chrono::{DateTime, TimeZone, Utc};

/// A fixed instant the suite measures from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// An event on `chat` of connection 70001 (or without a chat).
pub fn event(key: &str, chat: Option<i64>) -> NewEvent {
    NewEvent {
        dedupe_key: key.to_owned(),
        kind: "message.received".to_owned(),
        connection_id: chat.map(|_| 70001),
        chat_id: chat,
        payload: format!(r#"{{"key":"{key}","text":"привет"}}"#),
        received_at: t0(),
    }
}

/// A run of `plugin` in `lane`, 3 attempts, from a webhook.
pub fn run(plugin: &str, lane: &str) -> NewRun {
    NewRun {
        plugin: plugin.to_owned(),
        lane: lane.to_owned(),
        max_attempts: 3,
        origin: "webhook".to_owned(),
    }
}

/// The attempt a claimed run ends with, carrying two actions and two log lines.
pub fn attempt(claimed: &ClaimedRun, status: AttemptStatus) -> FinishedAttempt {
    let action = |seq| ActionRow {
        seq,
        kind: "messages.send".to_owned(),
        request: r#"{"chat_id":1,"text":"hi"}"#.to_owned(),
        outcome: r#"{"ok":true,"message_id":"m-1"}"#.to_owned(),
        latency_us: 850,
        replayed: false,
        decision: None,
    };
    let log = |message: &str| LogRow {
        level: "info".to_owned(),
        source: "plugin".to_owned(),
        message: message.to_owned(),
    };
    FinishedAttempt {
        attempt: claimed.attempt,
        status,
        error: (status != AttemptStatus::Succeeded)
            .then(|| format!("attempt {} {status}", claimed.attempt)),
        started_at: Utc::now(),
        duration_us: 1200,
        node: "node-a".to_owned(),
        plugin_digest: Some("sha256:0123456789abcdef".to_owned()),
        actions: vec![action(1), action(2)],
        logs: vec![log("received"), log("replied")],
    }
}

/// Claims up to `limit` runs for `node` at the present moment.
pub async fn claim_now<S: Store + ?Sized>(store: &S, node: &str, limit: usize) -> Vec<ClaimedRun> {
    store.claim(node, limit, Utc::now()).await.expect("claim")
}

/// Ingests `event(key, chat)` with one run of plugin `p` in `lane`; returns the run's id.
pub async fn queue_run(store: &dyn Store, key: &str, chat: Option<i64>, lane: &str) -> RunId {
    let ingested = store
        .ingest(event(key, chat), vec![run("p", lane)])
        .await
        .expect("ingest");
    ingested.run_ids[0]
}

/// Ingests `n` events, the i-th `{key}{i}` on chat i with one run of plugin `p` in its own lane
/// `l{i}`; returns what each ingest did, in order.
pub async fn ingest_lanes(store: &dyn Store, key: &str, n: i64) -> Vec<Ingested> {
    let mut done = Vec::new();
    for i in 0..n {
        let runs = vec![run("p", &format!("l{i}"))];
        let e = event(&format!("{key}{i}"), Some(i));
        done.push(store.ingest(e, runs).await.expect("ingest"));
    }
    done
}

/// The newest `limit` events, unfiltered.
pub async fn newest_events(store: &dyn Store, limit: usize) -> Vec<EventSummary> {
    let filter = EventFilter {
        limit,
        ..EventFilter::default()
    };
    store.list_events(filter).await.expect("events")
}

/// Ends a claimed run's attempt with `status`, for good (`Next::Final`).
pub async fn finish_as(store: &dyn Store, claimed: &ClaimedRun, status: AttemptStatus) {
    store
        .finish(claimed.run_id, attempt(claimed, status), Next::Final)
        .await
        .expect("finish");
}

/// Claims runs on node `n` and finishes each as succeeded until none is claimable; returns
/// them in the order they ran.
pub async fn run_all(store: &dyn Store) -> Vec<RunId> {
    let mut order = Vec::new();
    while let Some(c) = claim_now(store, "n", 10).await.pop() {
        order.push(c.run_id);
        finish_as(store, &c, AttemptStatus::Succeeded).await;
    }
    order
}

/// Asserts that opening a database the tests stamped with schema version 99 was refused as
/// newer than the `supported` version.
pub fn assert_too_new<T: std::fmt::Debug>(opened: Result<T, StoreError>, supported: i64) {
    let err = opened.expect_err("newer schema");
    let expected = StoreError::SchemaTooNew {
        found: 99,
        supported,
    };
    assert_eq!(err, expected);
}

/// The SQLite store on `store.db` in `dir` (created and migrated when new): what the SQLite
/// backend's tests open, once or several times on one file.
pub async fn sqlite_in(dir: &tempfile::TempDir) -> crate::SqliteStore {
    let config = crate::SqliteConfig::new(dir.path().join("store.db"));
    crate::SqliteStore::open(config).await.expect("open")
}
