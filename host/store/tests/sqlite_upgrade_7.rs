//! A file written at schema version 6 opens at version 7 (events keyed by a digest of their
//! dedupe key, attempts' node and plugin digest in `attempt_sources`, runs' plugin, origin and
//! node and events' kind in `names`) and reads back as before: the run and its attempt, the
//! event's key and kind, a connection's newest status event, the runs listed by plugin, a
//! node's running runs, a pending send; a duplicate of a migrated event is still recognised, and new rows are
//! written in the new form beside the old.

use switchboard_store::conformance::{claim_now, event, run};
use switchboard_store::prelude::*;
use switchboard_store::{AttemptStatus, EventId, RunFilter, RunId, SqliteConfig, SqliteStore};

const MIGRATIONS: [&str; 6] = [
    include_str!("../src/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/sqlite/migrations/0002_nodes.sql"),
    include_str!("../src/sqlite/migrations/0003_search.sql"),
    include_str!("../src/sqlite/migrations/0004_word_index.sql"),
    include_str!("../src/sqlite/migrations/0005_status_pages.sql"),
    include_str!("../src/sqlite/migrations/0006_fewer_pages.sql"),
];

/// Run 1 succeeded on node `n1` (its attempt with a plugin digest as bytes), run 2 is running
/// on `n1` with a send pending; event 1's payload carries its key, event 2's does not.
const ROWS: &str = r#"
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

async fn upgraded(dir: &tempfile::TempDir) -> SqliteStore {
    let path = dir.path().join("store.db");
    let conn = rusqlite::Connection::open(&path).expect("old file");
    for sql in MIGRATIONS {
        conn.execute_batch(sql).expect("old schema");
    }
    conn.execute_batch(ROWS).expect("old rows");
    drop(conn);
    SqliteStore::open(SqliteConfig::new(path))
        .await
        .expect("open")
}

#[tokio::test]
async fn a_version_6_file_reads_back_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir).await;
    assert_eq!(store.schema_version().await.expect("version"), 7);
    let detail = store.get_run(RunId(1)).await.expect("get").expect("kept");
    let r = &detail.run;
    assert_eq!(
        (r.plugin.as_str(), r.origin.as_str()),
        ("auto-reply", "webhook")
    );
    assert_eq!(r.node.as_deref(), Some("n1"));
    assert_eq!(detail.event.dedupe_key, "radist:1");
    assert_eq!(detail.run.event_kind, "message.received");
    let connections = store.connections(10).await.expect("connections");
    let status = connections[0]
        .last_status
        .as_ref()
        .expect("event 2 is a status event");
    assert_eq!(
        (status.id, status.kind.as_str()),
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
    assert_eq!(ledger[0].kind, "messages.send");
    let nodes = store.nodes(chrono::Utc::now()).await.expect("nodes");
    assert_eq!(
        (nodes[0].running, nodes[0].lanes.clone()),
        (1, vec!["l2".to_owned()])
    );
}

#[tokio::test]
async fn a_duplicate_of_a_migrated_event_is_still_recognised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir).await;
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
