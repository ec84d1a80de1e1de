//! Files written at older schema versions open at the latest one and answer as before.
//!
//! - From version 5 (at 6: `runs_done` and `lanes_ready` rebuilt as partial indexes over the rows
//!   already there, ledger ids stored as text before): claiming the queued head, retention by
//!   age, failures per connection, the ledger read back.
//! - From version 6 (at 7: events keyed by a digest of their dedupe key, attempts' node and
//!   plugin digest in `attempt_sources`, runs' plugin, origin and node and events' kind in
//!   `names`): the run and its attempt, the event's key and kind, a connection's newest status
//!   event, the runs listed by plugin, a node's running runs, a pending send; a duplicate of a
//!   migrated event is still recognised, and new rows are written in the new form beside the old.

use std::collections::BTreeMap;
use std::time::Duration;
use switchboard_store::conformance::{claim_now, event, run};
use switchboard_store::prelude::*;
use switchboard_store::{
    AttemptStatus, EventId, RetentionPolicy, RunFilter, RunId, RunStatus, SqliteConfig, SqliteStore,
};

/// Every migration before the latest, in order; a file "at version N" has the first N.
const MIGRATIONS: [&str; 6] = [
    include_str!("../src/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/sqlite/migrations/0002_nodes.sql"),
    include_str!("../src/sqlite/migrations/0003_search.sql"),
    include_str!("../src/sqlite/migrations/0004_word_index.sql"),
    include_str!("../src/sqlite/migrations/0005_status_pages.sql"),
    include_str!("../src/sqlite/migrations/0006_fewer_pages.sql"),
];

/// Runs 1–2 failed and 3 succeeded long ago (time 0), run 4 the queued head of lane `q`, run 5
/// waiting behind it; run 3's send is in the ledger with its ids as text.
const ROWS_5: &str = r#"
INSERT INTO events (id, dedupe_key, kind, connection_id, chat_id, payload, received_at) VALUES
    (1, 'k1', 'message.received', 7, 1, '{}', 0), (2, 'k2', 'message.received', 7, 1, '{}', 0),
    (3, 'k3', 'message.received', 7, 1, '{}', 0), (4, 'k4', 'message.received', 7, 2, '{}', 0),
    (5, 'k5', 'message.received', 7, 2, '{}', 0);
INSERT INTO runs (id, event_id, plugin, lane, seq, status, budget, max_attempts, origin, error,
    created_at, updated_at) VALUES
    (1, 1, 'p', 'a', 1, 'failed', 3, 3, 'webhook', 'boom', 0, 0),
    (2, 2, 'p', 'b', 2, 'failed', 3, 3, 'webhook', 'boom', 0, 0),
    (3, 3, 'p', 'c', 3, 'succeeded', 3, 3, 'webhook', NULL, 0, 0),
    (4, 4, 'p', 'q', 4, 'queued', 3, 3, 'webhook', NULL, 0, 0),
    (5, 5, 'p', 'q', 5, 'queued', 3, 3, 'webhook', NULL, 0, 0);
INSERT INTO lanes (lane, head, head_seq, state) VALUES ('q', 4, 4, 0);
INSERT INTO ledger (run_id, seq, kind, fingerprint, request, intent_at, result, effect_id)
    VALUES (3, 1, 'messages.send',
        '00000000000000000000000000000000000000000000000000000000000000aa', '{"chat_id":1}', 0,
        '{}', '3f9a2c1e-7b4d-4e8a-9c61-000000000003');
UPDATE counters SET value = 5;
PRAGMA user_version = 5;
"#;

/// Run 1 succeeded on node `n1` (its attempt with a plugin digest as bytes), run 2 is running
/// on `n1` with a send pending; event 1's payload carries its key, event 2's does not.
const ROWS_6: &str = r#"
INSERT INTO events (id, dedupe_key, kind, connection_id, chat_id, payload, received_at) VALUES
    (1, 'radist:1', 'message.received', 7, 1,
        '{"source":"webhook","event":{"dedupe_key":"radist:1"}}', 0),
    (2, 'k2', 'connection.status-changed', 7, NULL, '{}', 0);
INSERT INTO runs (id, event_id, plugin, lane, seq, status, attempt, budget, max_attempts, origin,
    node, created_at, updated_at) VALUES
    (1, 1, 'auto-reply', 'auto-reply/7/1', 1, 'succeeded', 1, 3, 3, 'webhook', 'n1', 0, 0),
    (2, 2, 'auto-reply', 'l2', 2, 'running', 1, 3, 3, 'replay', 'n1', 0, 0);
INSERT INTO lanes (lane, head, head_seq, state) VALUES ('l2', 2, 2, 2);
INSERT INTO attempts (run_id, attempt, status, started_at, duration_us, node, plugin_digest)
    VALUES (1, 1, 'succeeded', 0, 10, 'n1',
        x'0000000000000000000000000000000000000000000000000000000000000007');
INSERT INTO ledger (run_id, seq, kind, fingerprint, request, connection_id, chat_id, intent_at)
    VALUES (2, 1, 'messages.send', 'f', '{"chat_id":1}', 7, 1, 0);
INSERT INTO nodes (node, started_at, heartbeat_at, lease_until) VALUES
    ('n1', 0, 0, 9000000000000000);
UPDATE counters SET value = 2;
PRAGMA user_version = 6;
"#;

/// A file at schema `version` holding `rows` (which set that version last), opened by today's
/// store.
async fn upgraded(dir: &tempfile::TempDir, version: usize, rows: &str) -> SqliteStore {
    let path = dir.path().join("store.db");
    let conn = rusqlite::Connection::open(&path).expect("old file");
    for sql in &MIGRATIONS[..version] {
        conn.execute_batch(sql).expect("old schema");
    }
    conn.execute_batch(rows).expect("old rows");
    drop(conn);
    SqliteStore::open(SqliteConfig::new(path))
        .await
        .expect("open")
}

#[tokio::test]
async fn a_version_5_file_answers_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir, 5, ROWS_5).await;
    assert_eq!(store.schema_version().await.expect("version"), 9);
    let failures = store
        .failures_by_connection(chrono::DateTime::UNIX_EPOCH, 10)
        .await
        .expect("failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!((failures[0].connection_id, failures[0].runs), (7, 2));
    let entries = store.ledger_for_run(RunId(3)).await.expect("ledger");
    assert_eq!(entries[0].intent.fingerprint, format!("{:064x}", 0xaa));
    let effect = "3f9a2c1e-7b4d-4e8a-9c61-000000000003";
    assert_eq!(entries[0].effect_id.as_deref(), Some(effect));
    assert!(store.is_own_effect(effect).await.expect("echo lookup"));
    let claimed = claim_now(&store, "n", 10).await;
    let ids: Vec<i64> = claimed.iter().map(|c| c.run_id.0).collect();
    assert_eq!(ids, [4], "the queued head, not the run behind it");
    let policy = RetentionPolicy {
        max_age: BTreeMap::from([
            (RunStatus::Failed, Duration::from_secs(60)),
            (RunStatus::Succeeded, Duration::from_secs(60)),
        ]),
        quarantine_max_age: None,
        runless_event_max_age: None,
    };
    let purged = store
        .purge(&policy, 2, chrono::Utc::now())
        .await
        .expect("purge");
    assert_eq!(
        purged, 3,
        "every finished run, in batches of 2; none of the open ones"
    );
    assert!(store.get_run(RunId(4)).await.expect("get").is_some());
    let fresh = store
        .ingest(event("k6", Some(2)), vec![run("p", "z")])
        .await
        .expect("ingest");
    assert!(fresh.run_ids[0].0 > 5, "ids go on above the old counter");
}

#[tokio::test]
async fn a_version_6_file_reads_back_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir, 6, ROWS_6).await;
    assert_eq!(store.schema_version().await.expect("version"), 9);
    let detail = store.get_run(RunId(1)).await.expect("get").expect("kept");
    let r = &detail.run;
    assert_eq!(
        (r.plugin.as_str(), r.origin.as_str()),
        ("auto-reply", "webhook")
    );
    assert_eq!(r.node.as_deref(), Some("n1"));
    assert_eq!(detail.event.event.dedupe_key, "radist:1");
    assert_eq!(detail.run.event_kind, "message.received");
    let connections = store.connections(10).await.expect("connections");
    let status = connections[0]
        .last_status
        .as_ref()
        .expect("event 2 is a status event");
    assert_eq!(
        (status.id, status.event.kind.as_str()),
        (EventId(2), "connection.status-changed")
    );
    assert_eq!(detail.attempts[0].node, "n1");
    assert_eq!(detail.attempts[0].status, AttemptStatus::Succeeded);
    let digest = format!("{:064x}", 7);
    assert_eq!(
        detail.attempts[0].plugin_digest.as_deref(),
        Some(digest.as_str())
    );
    let running = store.get_run(RunId(2)).await.expect("get").expect("kept");
    assert_eq!(running.run.origin, "replay");
    let listed = store
        .list_runs(RunFilter {
            plugin: Some("auto-reply".to_owned()),
            limit: 10,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    let ids: Vec<i64> = listed.iter().map(|r| r.run_id.0).collect();
    assert_eq!(ids, [2, 1]);
    let epoch = chrono::DateTime::UNIX_EPOCH;
    let pending = store.pending_intent_for_chat(7, 1, epoch).await;
    assert!(pending.expect("pending"), "run 2's send is still pending");
    let ledger = store.ledger_for_run(RunId(2)).await.expect("ledger");
    assert_eq!(ledger[0].intent.kind, "messages.send");
    let nodes = store.nodes(chrono::Utc::now()).await.expect("nodes");
    assert_eq!(
        (nodes[0].running, nodes[0].lanes.clone()),
        (1, vec!["l2".to_owned()])
    );
}

#[tokio::test]
async fn a_duplicate_of_a_migrated_event_is_still_recognised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir, 6, ROWS_6).await;
    for (key, id) in [("radist:1", 1), ("k2", 2)] {
        let again = store
            .ingest(event(key, Some(1)), vec![run("auto-reply", "x")])
            .await
            .expect("ingest");
        assert!(again.duplicate, "{key} was stored before the upgrade");
        assert_eq!((again.event_id, again.run_ids.len()), (EventId(id), 0));
    }
    let fresh = store
        .ingest(event("k3", Some(1)), vec![run("echo", "y")])
        .await
        .expect("ingest");
    assert!(!fresh.duplicate);
    let claimed = claim_now(&store, "n2", 10).await;
    assert_eq!(claimed.len(), 1, "the new run; run 2 is still running");
    assert_eq!(
        (claimed[0].plugin.as_str(), claimed[0].origin.as_str()),
        ("echo", "webhook")
    );
    let events = store
        .list_events(switchboard_store::EventFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    let keys: Vec<&str> = events.iter().map(|e| e.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["k3", "k2", "radist:1"]);
}
