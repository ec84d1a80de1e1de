//! A file written at schema version 5 opens at the latest version (at 6: `runs_done` and
//! `lanes_ready` rebuilt as partial indexes over the rows already there, ledger ids stored as
//! text before; 7: see `sqlite_upgrade_7.rs`) and every
//! query that read a changed index answers as before: claiming the queued head, retention by
//! age, failures per connection, the ledger read back.

use std::collections::BTreeMap;
use std::time::Duration;
use switchboard_store::conformance::claim_now;
use switchboard_store::prelude::*;
use switchboard_store::{RetentionPolicy, RunId, RunStatus, SqliteConfig, SqliteStore};

const MIGRATIONS: [&str; 5] = [
    include_str!("../src/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/sqlite/migrations/0002_nodes.sql"),
    include_str!("../src/sqlite/migrations/0003_search.sql"),
    include_str!("../src/sqlite/migrations/0004_word_index.sql"),
    include_str!("../src/sqlite/migrations/0005_status_pages.sql"),
];

/// Runs 1–2 failed and 3 succeeded long ago (time 0), run 4 the queued head of lane `q`, run 5
/// waiting behind it; run 3's send is in the ledger with its ids as text.
const ROWS: &str = r#"
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
async fn a_version_5_file_answers_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = upgraded(&dir).await;
    assert_eq!(store.schema_version().await.expect("version"), 7);
    let failures = store
        .failures_by_connection(chrono::DateTime::UNIX_EPOCH, 10)
        .await
        .expect("failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!((failures[0].connection_id, failures[0].runs), (7, 2));
    let entries = store.ledger_for_run(RunId(3)).await.expect("ledger");
    assert_eq!(entries[0].fingerprint, format!("{:064x}", 0xaa));
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
        .ingest(
            switchboard_store::conformance::event("k6", Some(2)),
            vec![switchboard_store::conformance::run("p", "z")],
        )
        .await
        .expect("ingest");
    assert!(fresh.run_ids[0].0 > 5, "ids go on above the old counter");
}
