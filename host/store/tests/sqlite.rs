//! The SQLite backend: the whole conformance suite on a fresh temporary database file each,
//! plus what only SQLite has (migrations, reopening, WAL, group commit, bytes per run).

use std::sync::Arc;
use switchboard_store::conformance::{
    Reopen, assert_too_new, claim_now, event, finish_as, old_events_are_backfilled, queue_run, run,
    run_all, sqlite_in,
};
use switchboard_store::prelude::*;
use switchboard_store::{AttemptStatus, SqliteConfig, SqliteStore, Store, StoreError};
use tempfile::TempDir;
use tokio::task::JoinSet;

async fn fresh() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    (Arc::new(sqlite_in(&dir).await), dir)
}

switchboard_store::store_conformance!(fresh);

/// One database file, opened with the background word indexer off.
struct PausedIndexer(std::path::PathBuf);

#[async_trait::async_trait]
impl Reopen for PausedIndexer {
    async fn open(&self) -> Arc<dyn Store> {
        let mut config = SqliteConfig::new(&self.0);
        config.index_words = false;
        Arc::new(SqliteStore::open(config).await.expect("open"))
    }
}

async fn paused() -> (Box<dyn Reopen>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    (Box::new(PausedIndexer(dir.path().join("store.db"))), dir)
}

switchboard_store::word_index_conformance!(paused);

#[tokio::test]
async fn migrates_an_empty_file_and_turns_on_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("store.db"), b"").expect("empty file");
    let store = sqlite_in(&dir).await;
    assert_eq!(store.schema_version().await.expect("version"), 9);
    assert_eq!(store.journal_mode().await.expect("mode"), "wal");
}

#[tokio::test]
async fn reopening_after_drop_keeps_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = sqlite_in(&dir).await;
    let ingested = first
        .ingest(event("keep", Some(1)), vec![run("p", "l"), run("p", "l")])
        .await
        .expect("ingest");
    first
        .kv_set("ns", "k", b"v".to_vec(), None)
        .await
        .expect("kv");
    drop(first);
    let second = sqlite_in(&dir).await;
    let again = second
        .ingest(event("keep", Some(1)), vec![run("p", "l")])
        .await
        .expect("ingest");
    assert!(again.duplicate, "the dedupe key survived");
    assert_eq!(
        second.kv_get("ns", "k").await.expect("kv"),
        Some(b"v".to_vec())
    );
    let claimed = claim_now(&second, "n", 10).await;
    assert_eq!(
        claimed.iter().map(|c| c.run_id).collect::<Vec<_>>(),
        vec![ingested.run_ids[0]]
    );
    let next = second
        .ingest(event("next", Some(1)), vec![run("p", "l")])
        .await
        .expect("ingest");
    assert!(next.run_ids[0] > ingested.run_ids[1], "ids keep growing");
    assert_eq!(
        second.recover("n").await.expect("recover"),
        1,
        "lane positions survive a reopen"
    );
    let head = claim_now(&second, "n", 10).await;
    assert_eq!(head[0].run_id, ingested.run_ids[0]);
}

#[tokio::test]
async fn refuses_a_file_from_a_newer_build_and_garbage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    drop(sqlite_in(&dir).await);
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute_batch("PRAGMA user_version = 99")
        .expect("bump");
    drop(conn);
    assert_too_new(SqliteStore::open(SqliteConfig::new(&path)).await, 9);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).expect("junk");
    let err = SqliteStore::open(SqliteConfig::new(&junk))
        .await
        .expect_err("not a database");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_handles_a_thousand_concurrent_ingests() {
    let (store, _dir) = fresh().await;
    let mut set = JoinSet::new();
    for i in 0..1000 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            let key = format!("g{}", i % 900);
            store
                .ingest(
                    event(&key, Some(i)),
                    vec![run("p", &format!("lane-{}", i % 37))],
                )
                .await
                .expect("ingest")
        });
    }
    let mut duplicates = 0;
    while let Some(done) = set.join_next().await {
        duplicates += usize::from(done.expect("task").duplicate);
    }
    assert_eq!(duplicates, 100);
    assert_eq!(store.queue_depth().await.expect("depth").queued, 900);
    let stats = store.stats().await.expect("stats");
    let events = stats
        .rows
        .iter()
        .find(|(t, _)| t == "events")
        .map(|(_, n)| *n);
    assert_eq!(events, Some(900));
}

#[tokio::test]
async fn a_failing_job_does_not_undo_its_batch_neighbours() {
    let (store, _dir) = fresh().await;
    let (a, b, c) = tokio::join!(
        store.kv_set("q", "a", vec![1], Some(1)),
        store.kv_set("q", "b", vec![1], Some(1)),
        store.ingest(event("neighbour", Some(1)), vec![run("p", "l")]),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one key fits: {a:?} {b:?}");
    assert!(!c.expect("ingest").duplicate);
    assert_eq!(store.kv_count("q").await.expect("count"), 1);
    assert_eq!(store.queue_depth().await.expect("depth").queued, 1);
}

/// Prints the database bytes one simple run costs (event, run, attempt with 2 actions and 2 logs).
#[tokio::test]
async fn bytes_per_simple_run() {
    let (store, dir) = fresh().await;
    let runs = 2000;
    for i in 0..runs {
        let mut e = event(&format!("radist:msg:{i:08}"), Some(100_000 + i));
        e.payload = format!(
            r#"{{"kind":"message.received","connection_id":70001,"chat_id":{},"message":{{"id":"{i}","text":"Здравствуйте, сколько стоит доставка?"}}}}"#,
            100_000 + i
        );
        store
            .ingest(e, vec![run("auto-reply", &format!("auto-reply:70001:{i}"))])
            .await
            .expect("ingest");
    }
    let claimed = claim_now(&*store, "node-a", 1024).await;
    let more = claim_now(&*store, "node-a", 1024).await;
    for c in claimed.iter().chain(&more) {
        finish_as(&*store, c, AttemptStatus::Succeeded).await;
    }
    store.checkpoint().await.expect("checkpoint");
    let stats = store.stats().await.expect("stats");
    let used = (stats.page_count - stats.free_pages) * stats.page_size;
    let per_run = used / runs.unsigned_abs();
    eprintln!(
        "bytes per simple run: {per_run} ({used} bytes for {runs} runs, file {} bytes)",
        stats.file_bytes
    );
    assert!(dir.path().join("store.db").exists());
    assert!(
        per_run <= 2048,
        "a simple run costs {per_run} bytes, over the 2 KiB budget"
    );
}

#[tokio::test]
async fn two_writers_on_one_file_keep_lane_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (service, cli) = (sqlite_in(&dir).await, sqlite_in(&dir).await);
    let r1 = queue_run(&cli, "x1", Some(1), "lane").await;
    let r2 = queue_run(&cli, "x2", Some(1), "lane").await;
    let r3 = queue_run(&service, "x3", Some(1), "lane").await;
    let order = run_all(&service).await;
    assert_eq!(order, vec![r1, r2, r3]);
}

/// The writer leaves checkpoints to the background thread: with enough commits the main file
/// grows (pages copied out of the WAL) without anyone calling `checkpoint`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_checkpoints_copy_the_wal_into_the_main_file() {
    let (store, _dir) = fresh().await;
    let initial = store.stats().await.expect("stats").file_bytes;
    let mut rounds = 0;
    while store.stats().await.expect("stats").file_bytes <= initial {
        rounds += 1;
        assert!(
            rounds <= 500,
            "500 rounds of commits and the main file never grew: no checkpoint ran"
        );
        for i in 0..20 {
            let key = format!("ckpt-{rounds}-{i}");
            store
                .ingest(event(&key, Some(i)), vec![run("p", &key)])
                .await
                .expect("ingest");
        }
    }
}

/// A word in more events than the planner's threshold is found by walking runs newest first
/// (an index seek per run): the pages hold exactly the matching runs, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_common_word_pages_the_same_runs_as_a_rare_one() {
    let (store, _dir) = fresh().await;
    let mut ids = Vec::new();
    let ingests = (0..4_400).map(|i| {
        let mut e = event(&format!("w{i}"), Some(1));
        let word = if i % 2 == 0 { "common" } else { "other" };
        e.payload = format!(r#"{{"text":"{word} {i}"}}"#);
        store.ingest(e, vec![run("p", &format!("l{i}"))])
    });
    for (i, done) in futures::future::join_all(ingests)
        .await
        .into_iter()
        .enumerate()
    {
        ids.push((i, done.expect("ingest").run_ids[0]));
    }
    ids.sort_by_key(|(_, id)| std::cmp::Reverse(*id));
    let expected: Vec<_> = ids
        .iter()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(expected.len(), 2_200, "over the 2,000 threshold");
    let page = |before| switchboard_store::RunFilter {
        text: Some("COMMON".into()),
        limit: 50,
        before,
        ..switchboard_store::RunFilter::default()
    };
    let first = store.list_runs(page(None)).await.expect("first page");
    let first: Vec<_> = first.iter().map(|r| r.run_id).collect();
    assert_eq!(first, expected[..50]);
    let deep = store
        .list_runs(page(Some(expected[999])))
        .await
        .expect("deep");
    let deep: Vec<_> = deep.iter().map(|r| r.run_id).collect();
    assert_eq!(deep, expected[1_000..1_050]);
    let both = store.list_runs(switchboard_store::RunFilter {
        text: Some("common 2398".into()),
        ..page(None)
    });
    let both = both.await.expect("both words");
    assert_eq!(both.len(), 1);
}

/// A store is every role: each consumer can hold only the role it uses, and what one role wrote
/// the others see.
#[tokio::test]
async fn each_role_alone_serves_from_the_same_store() {
    use switchboard_store::role;
    let (store, _dir) = fresh().await;
    let kv: Arc<dyn role::Kv> = store.clone();
    kv.kv_set("ns", "k", b"v".to_vec(), None)
        .await
        .expect("set");
    let intake: Arc<dyn role::Intake> = store.clone();
    let runs = vec![run("p", "l")];
    let ingested = intake
        .ingest(event("e", Some(1)), runs)
        .await
        .expect("ingest");
    assert_eq!(ingested.run_ids.len(), 1);
    let dispatch: Arc<dyn role::Dispatch> = store.clone();
    assert_eq!(dispatch.queue_depth().await.expect("depth").queued, 1);
    let history: Arc<dyn role::History> = store.clone();
    let found = history.get_run(ingested.run_ids[0]).await.expect("get");
    assert!(found.is_some());
    assert_eq!(
        store.kv_get("ns", "k").await.expect("get"),
        Some(b"v".to_vec())
    );
}

/// A file at schema 3 holding an event stored before the payload word index existed (no words)
/// and one whose words schema 3 wrote at intake: after the upgrade the text filter finds both,
/// and the same indexer (its watermark starting at 0) indexes both again, the old words dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_before_the_word_index_are_backfilled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("old file");
        conn.execute_batch(include_str!("../src/sqlite/migrations/0001_initial.sql"))
            .expect("schema 1");
        conn.execute_batch(include_str!("../src/sqlite/migrations/0002_nodes.sql"))
            .expect("schema 2");
        conn.execute_batch(include_str!("../src/sqlite/migrations/0003_search.sql"))
            .expect("schema 3");
        conn.execute_batch(
            r#"INSERT INTO events (id, dedupe_key, kind, connection_id, chat_id, payload, received_at)
                 VALUES (1, 'old-1', 'message.received', 1, 2, '{"text":"Старая доставка"}', 0),
                        (2, 'old-2', 'message.received', 1, 2, '{"text":"оплата"}', 0);
               INSERT INTO runs (id, event_id, plugin, lane, seq, status, budget, max_attempts,
                   origin, created_at, updated_at)
                 VALUES (1, 1, 'p', 'l', 1, 'succeeded', 3, 3, 'webhook', 0, 0),
                        (2, 2, 'p', 'l', 2, 'succeeded', 3, 3, 'webhook', 0, 0);
               INSERT INTO event_words (rowid, words) VALUES (2, 'оплата');
               UPDATE counters SET value = 2;
               PRAGMA user_version = 3;"#,
        )
        .expect("old rows");
    }
    let store = PausedIndexer(path).open().await;
    let (old, paid) = (switchboard_store::RunId(1), switchboard_store::RunId(2));
    old_events_are_backfilled(&*store, &[("доставка", old), ("оплата", paid)]).await;
}

/// A word of many events pages the same whichever way a page is found: among the word's
/// matches in the newest runs when a full page is there, by walking the runs otherwise (here
/// the word's events are all older than the newest 10,000 runs but ten).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_common_word_pages_through_every_match_newest_first() {
    const EVENTS: i64 = 12_000;
    const OLD: i64 = 2_010;
    let (store, _dir) = fresh().await;
    for i in 0..EVENTS {
        let mut e = event(&format!("p{i}"), Some(3));
        let word = if i < OLD {
            "старый"
        } else {
            "новый"
        };
        e.payload = serde_json::json!({ "text": word }).to_string();
        store
            .ingest(e, vec![run("p", "lane")])
            .await
            .expect("ingest");
    }
    for (word, matching) in [("старый", OLD), ("новый", EVENTS - OLD)] {
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let filter = switchboard_store::RunFilter {
                text: Some(word.into()),
                before,
                limit: 500,
                ..switchboard_store::RunFilter::default()
            };
            let page = store.list_runs(filter).await.expect("list");
            let Some(last) = page.last() else { break };
            before = Some(last.run_id);
            seen.extend(page.iter().map(|r| r.run_id.0));
        }
        let newest = if word == "старый" { OLD } else { EVENTS };
        let expected: Vec<i64> = (1..=newest).rev().take(matching as usize).collect();
        assert_eq!(seen, expected, "every run of {word}, newest first");
    }
}
