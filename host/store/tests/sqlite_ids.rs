//! Event ids, run ids and lane positions come from blocks the writer reserves (the `counters`
//! table holds a block's end, written once per block): they must stay unique and increasing
//! after a crash in the middle of a block and when two processes write the same file.

use switchboard_store::conformance::{attempt, claim_now, event, run, sqlite_in};
use switchboard_store::prelude::*;
use switchboard_store::{AttemptStatus, Ingested, LedgerResult, Next, SqliteConfig, SqliteStore};

async fn ingest(store: &SqliteStore, key: &str, lane: &str) -> Ingested {
    let ingested = store
        .ingest(event(key, Some(1)), vec![run("p", lane)])
        .await
        .expect("ingest");
    assert!(!ingested.duplicate, "{key} is new");
    ingested
}

/// (event id, run id) of one ingest.
fn ids(i: &Ingested) -> (i64, i64) {
    (i.event_id.0, i.run_ids[0].0)
}

#[tokio::test]
async fn ids_go_on_above_everything_committed_after_a_crash_mid_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_in(&dir).await;
    let mut before = Vec::new();
    for i in 0..5 {
        before.push(ids(&ingest(&store, &format!("k{i}"), "lane").await));
    }
    // The files as a power cut would leave them: committed frames are in the WAL, the block's
    // unused ids are in no file.
    let crashed = tempfile::tempdir().expect("temp dir");
    for name in ["store.db", "store.db-wal"] {
        std::fs::copy(dir.path().join(name), crashed.path().join(name)).expect("copy");
    }
    let reopened = sqlite_in(&crashed).await;
    let after = ids(&ingest(&reopened, "after the crash", "lane").await);
    let last = before.last().copied().expect("five ingests");
    assert!(
        after.0 > last.0 && after.1 > last.1,
        "{after:?} after {before:?}"
    );
    let claimed = claim_now(&reopened, "n", 10).await;
    assert_eq!(claimed.len(), 1, "one lane, its head first");
    assert_eq!(claimed[0].run_id.0, before[0].1, "the lane keeps its order");
}

#[tokio::test]
async fn two_processes_on_one_file_never_hand_out_the_same_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = sqlite_in(&dir).await;
    let cli = SqliteStore::open(SqliteConfig::new(dir.path().join("store.db")))
        .await
        .expect("second open");
    let mut seen: Vec<(i64, i64)> = Vec::new();
    for i in 0..6 {
        let store = if i % 2 == 0 { &service } else { &cli };
        seen.push(ids(&ingest(store, &format!("k{i}"), "shared").await));
    }
    for pair in seen.windows(2) {
        assert!(
            pair[1].0 > pair[0].0 && pair[1].1 > pair[0].1,
            "ids increase in commit order: {seen:?}"
        );
    }
    let order: Vec<i64> = {
        let mut runs = Vec::new();
        for _ in 0..6 {
            let claimed = claim_now(&service, "n", 1).await;
            let c = claimed.first().expect("the lane's head");
            runs.push(c.run_id.0);
            let done = attempt(c, AttemptStatus::Succeeded);
            service
                .finish(c.run_id, done, Next::Final)
                .await
                .expect("finish");
        }
        runs
    };
    let ingested: Vec<i64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(order, ingested, "the shared lane runs in ingest order");
}

/// Effect ids are stored as bytes since schema version 6; an echo of a message sent before (its
/// id stored as text) must still be recognised as the service's own, or a plugin would answer
/// its own message.
#[tokio::test]
async fn echo_lookups_find_effect_ids_stored_as_text_before_version_6_and_as_bytes_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_in(&dir).await;
    let old = "3f9a2c1e-7b4d-4e8a-9c61-000000000001";
    let new = "3f9a2c1e-7b4d-4e8a-9c61-000000000002";
    let raw = rusqlite::Connection::open(dir.path().join("store.db")).expect("raw open");
    raw.execute(
        "INSERT INTO ledger (run_id, seq, kind, fingerprint, request, intent_at, result, effect_id)
         VALUES (999999, 1, 'messages.send', 'f', '{}', 0, '{}', ?1)",
        [old],
    )
    .expect("a row as version 5 wrote it");
    drop(raw);
    let run = ingest(&store, "k", "lane").await.run_ids[0];
    let intent = switchboard_store::LedgerIntent {
        run_id: run,
        seq: 1,
        kind: "messages.send".to_owned(),
        fingerprint: format!("{:064x}", 42),
        request: "{}".to_owned(),
        chat: None,
        at: chrono::Utc::now(),
    };
    store.ledger_begin(intent).await.expect("intent");
    let done = LedgerResult {
        run_id: run,
        seq: 1,
        result: "{}".to_owned(),
        effect_id: Some(new.to_owned()),
    };
    store.ledger_complete(done).await.expect("result");
    for effect in [old, new] {
        assert!(
            store.is_own_effect(effect).await.expect("lookup"),
            "{effect}"
        );
    }
    let other = "3f9a2c1e-7b4d-4e8a-9c61-000000000003";
    assert!(!store.is_own_effect(other).await.expect("lookup"));
    let entries = store.ledger_for_run(run).await.expect("ledger");
    assert_eq!(
        entries[0].effect_id.as_deref(),
        Some(new),
        "read back as text"
    );
    assert_eq!(entries[0].intent.fingerprint, format!("{:064x}", 42));
}
