//! The PostgreSQL backend: the whole conformance suite, each test on a fresh database of one
//! throwaway server per test process, plus what only Postgres has (schema versions on a shared
//! server, work notifications between nodes, reconnecting the listener, two nodes claiming).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_store::conformance::{
    Reopen, assert_too_new, attempt, claim_now, event, finish_as, index_all, ingest_lanes,
    old_events_are_backfilled, run, text_ids,
};
use switchboard_store::pg_test_server::{self, PgTestServer};
use switchboard_store::prelude::*;
use switchboard_store::{AttemptStatus, Next, PostgresConfig, PostgresStore, Store, StoreError};
use tokio::task::JoinSet;

/// A bound on waiting for a notification, so a missing one fails instead of hanging.
const WAKE_BOUND: Duration = Duration::from_secs(30);

fn server() -> &'static PgTestServer {
    pg_test_server::shared()
        .unwrap_or_else(|e| panic!("cannot start the throwaway PostgreSQL server: {e}"))
}

async fn connect(url: &str) -> PostgresStore {
    let mut config = PostgresConfig::new(url);
    config.pool_size = 4;
    PostgresStore::connect(config).await.expect("connect")
}

async fn fresh_url() -> String {
    server().fresh_database().await.expect("fresh database")
}

async fn fresh() -> (Arc<dyn Store>, ()) {
    (Arc::new(connect(&fresh_url().await).await), ())
}

switchboard_store::store_conformance!(fresh);

/// One database, connected with the background word indexer off.
struct PausedIndexer(String);

#[async_trait::async_trait]
impl Reopen for PausedIndexer {
    async fn open(&self) -> Arc<dyn Store> {
        let mut config = PostgresConfig::new(&self.0);
        config.pool_size = 4;
        config.index_words = false;
        Arc::new(PostgresStore::connect(config).await.expect("connect"))
    }
}

async fn paused() -> (Box<dyn Reopen>, ()) {
    (Box::new(PausedIndexer(fresh_url().await)), ())
}

switchboard_store::word_index_conformance!(paused);

/// Runs SQL on the database directly (outside the store).
async fn raw(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let done = client.batch_execute(sql).await;
    drop(client);
    driver.await.ok();
    done
}

#[tokio::test]
async fn migrates_once_and_refuses_a_newer_schema() {
    let url = fresh_url().await;
    let (a, b) = tokio::join!(connect(&url), connect(&url));
    assert_eq!(a.schema_version().await.expect("version"), 6);
    assert_eq!(b.schema_version().await.expect("version"), 6);
    a.kv_set("ns", "k", b"v".to_vec(), None).await.expect("kv");
    drop((a, b));
    let again = connect(&url).await;
    assert_eq!(
        again.kv_get("ns", "k").await.expect("kv"),
        Some(b"v".to_vec())
    );
    drop(again);
    raw(&url, "UPDATE schema_version SET version = 99")
        .await
        .expect("bump");
    assert_too_new(PostgresStore::connect(PostgresConfig::new(url)).await, 6);
}

#[tokio::test]
async fn a_failed_connect_is_an_open_error_without_the_password() {
    let port = server().port();
    let mut config = PostgresConfig::new(format!(
        "postgres://postgres:s3cret@127.0.0.1:{port}/no_such_db"
    ));
    config.connect_timeout = Duration::from_secs(5);
    let err = PostgresStore::connect(config.clone())
        .await
        .expect_err("no database");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(!format!("{config:?}").contains("s3cret"));
    let bad = PostgresStore::connect(PostgresConfig::new("postgres://[::1")).await;
    assert!(matches!(bad, Err(StoreError::Open { .. })), "{bad:?}");
}

/// Ingests one run on `producer` and waits (bounded) for `notify`; whether it fired.
async fn ingest_wakes(producer: &PostgresStore, notify: &tokio::sync::Notify, key: &str) -> bool {
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    producer
        .ingest(event(key, Some(1)), vec![run("p", "lane")])
        .await
        .expect("ingest");
    tokio::time::timeout(WAKE_BOUND, notified).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_on_one_node_wakes_the_other_through_listen_notify() {
    let url = fresh_url().await;
    let (producer, idle) = (connect(&url).await, connect(&url).await);
    let notify = idle.work_notify();
    assert!(
        ingest_wakes(&producer, &notify, "remote").await,
        "the idle node was not notified of new work"
    );
    assert_eq!(claim_now(&idle, "node-b", 10).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_after_its_connection_is_killed() {
    let url = fresh_url().await;
    let (producer, idle) = (connect(&url).await, connect(&url).await);
    let notify = idle.work_notify();
    let reconnected = notify.notified();
    tokio::pin!(reconnected);
    reconnected.as_mut().enable();
    raw(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await
    .expect("terminate listeners");
    let woke = tokio::time::timeout(WAKE_BOUND, reconnected).await;
    assert!(woke.is_ok(), "the listener did not come back");
    assert!(
        ingest_wakes(&producer, &notify, "after").await,
        "a reconnected listener hears new work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_claim_disjoint_runs() {
    let url = fresh_url().await;
    let nodes = [Arc::new(connect(&url).await), Arc::new(connect(&url).await)];
    for i in 0..200 {
        nodes[0]
            .ingest(
                event(&format!("e{i}"), Some(i)),
                vec![run("p", &format!("l{}", i % 10))],
            )
            .await
            .expect("ingest");
    }
    let mut set = JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        let node = Arc::clone(node);
        set.spawn(async move {
            let mut done = Vec::new();
            loop {
                let claimed = claim_now(&*node, &format!("n{n}"), 4).await;
                if claimed.is_empty() && node.queue_depth().await.expect("depth").queued == 0 {
                    return done;
                }
                for c in claimed {
                    finish_as(&*node, &c, AttemptStatus::Succeeded).await;
                    done.push((c.lane, c.run_id));
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(done) = set.join_next().await {
        all.extend(done.expect("node"));
    }
    let unique: HashSet<_> = all.iter().map(|(_, r)| *r).collect();
    assert_eq!(
        (all.len(), unique.len()),
        (200, 200),
        "every run ran exactly once"
    );
}

/// Concurrent callers in `ingest_rate`.
const CALLERS: usize = 16;

/// Prints a rough ingest rate (16 concurrent callers, one event with one run each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_rate() {
    let url = fresh_url().await;
    let mut config = PostgresConfig::new(url);
    config.pool_size = 16;
    let store = Arc::new(PostgresStore::connect(config).await.expect("connect"));
    let total = 4000_i64;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for c in 0..CALLERS as i64 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            for i in (c..total).step_by(CALLERS) {
                store
                    .ingest(
                        event(&format!("rate:{i}"), Some(i)),
                        vec![run("auto-reply", &format!("l{i}"))],
                    )
                    .await
                    .expect("ingest");
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("caller");
    }
    let took = started.elapsed();
    eprintln!(
        "postgres ingest: {total} events in {took:.2?} = {:.0}/s ({CALLERS} concurrent callers)",
        total as f64 / took.as_secs_f64()
    );
    assert_eq!(store.queue_depth().await.expect("depth").queued, 4000);
}

#[test]
fn a_server_that_cannot_start_says_why() {
    let err = PgTestServer::start_from(std::path::Path::new("/nonexistent/pg/bin"), false)
        .expect_err("no binaries");
    assert!(
        err.contains("/nonexistent/pg/bin/initdb is missing"),
        "{err}"
    );
    assert!(err.contains("apt-get install -y postgresql"), "{err}");
}

/// Runs ingested into one lane by concurrent callers are claimed strictly in the order they
/// were queued, even while a claimer runs alongside the ingests (lane positions are taken under
/// the lane's lock, so they follow commit order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingest_into_one_lane_keeps_claim_order() {
    let url = fresh_url().await;
    let store = Arc::new(connect(&url).await);
    let claimer = {
        let store = Arc::new(connect(&url).await);
        tokio::spawn(async move {
            let mut order = Vec::new();
            while order.len() < 160 {
                let notify = store.work_notify();
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let claimed = claim_now(&*store, "c", 8).await;
                assert!(claimed.len() <= 1, "one lane runs one run at a time");
                for c in &claimed {
                    order.push(c.run_id);
                    let done = attempt(c, AttemptStatus::Succeeded);
                    store
                        .finish(c.run_id, done, Next::Final)
                        .await
                        .expect("finish");
                }
                if claimed.is_empty() {
                    let woke = tokio::time::timeout(WAKE_BOUND, notified).await;
                    assert!(woke.is_ok(), "the claimer was not woken by new runs");
                }
            }
            order
        })
    };
    let mut set = JoinSet::new();
    for caller in 0..8 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            for i in 0..20 {
                let key = format!("one-lane:{caller}:{i}");
                store
                    .ingest(event(&key, Some(1)), vec![run("p", "the-lane")])
                    .await
                    .expect("ingest");
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("caller");
    }
    let order = claimer.await.expect("claimer");
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "claimed out of lane order: {order:?}"
    );
}

/// Finishes of many runs at once commit in groups: each good one is recorded, and a zombie's
/// finish (a stale attempt) in the same moment is refused on its own without undoing the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_finishes_commit_together_and_a_refused_one_spoils_none() {
    let url = fresh_url().await;
    let store = Arc::new(connect(&url).await);
    ingest_lanes(&*store, "e", 120).await;
    let claimed = claim_now(&*store, "n", 120).await;
    assert_eq!(claimed.len(), 120);
    let mut set = JoinSet::new();
    for (i, c) in claimed.into_iter().enumerate() {
        let store = Arc::clone(&store);
        set.spawn(async move {
            let mut a = attempt(&c, AttemptStatus::Succeeded);
            let zombie = i % 10 == 0;
            if zombie {
                a.attempt += 1;
            }
            (zombie, store.finish(c.run_id, a, Next::Final).await)
        });
    }
    let (mut recorded, mut refused) = (0, 0);
    while let Some(done) = set.join_next().await {
        match done.expect("task") {
            (false, Ok(())) => recorded += 1,
            (true, Err(StoreError::Conflict { .. })) => refused += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((recorded, refused), (108, 12));
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!(
        (depth.queued, depth.running),
        (0, 12),
        "the zombies' runs still run"
    );
}

/// Events stored at schema 3, before the payload word index existed, are found by the text
/// filter after the upgrade, and the same indexer backfills them (its watermark starts at 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_before_the_word_index_are_backfilled() {
    let url = fresh_url().await;
    let old_schema = [
        include_str!("../src/postgres/migrations/0001_initial.sql"),
        include_str!("../src/postgres/migrations/0002_nodes.sql"),
        include_str!("../src/postgres/migrations/0003_lease_holder.sql"),
        r#"CREATE TABLE schema_version (version BIGINT NOT NULL);
           INSERT INTO schema_version (version) VALUES (3);
           INSERT INTO events (dedupe_key, kind, connection_id, chat_id, payload, received_at)
             VALUES ('old-1', 'message.received', 1, 2, '{"text":"Старая доставка"}', 0),
                    ('old-2', 'message.received', 1, 2, '{"text":"оплата"}', 0);
           INSERT INTO runs (event_id, plugin, lane, seq, status, budget, max_attempts, origin,
               created_at, updated_at)
             SELECT id, 'p', 'l', id, 'succeeded', 3, 3, 'webhook', 0, 0 FROM events;"#,
    ];
    for sql in old_schema {
        raw(&url, sql).await.expect("old schema");
    }
    let store = PausedIndexer(url).open().await;
    old_events_are_backfilled(&*store, &[("доставка", switchboard_store::RunId(1))]).await;
}

/// An event whose transaction took its id but has not committed holds the word index's
/// watermark below it, however many passes run and whatever commits meanwhile: once it
/// commits, the text filter finds it and the indexer indexes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watermark_waits_for_an_event_still_being_written() {
    let url = fresh_url().await;
    let store = PausedIndexer(url.clone()).open().await;
    let first = store
        .ingest(event("first", Some(2)), vec![run("p", "a")])
        .await
        .expect("ingest");
    index_all(&*store, first.event_id.0).await;

    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let slow = client.transaction().await.expect("begin");
    let row = slow
        .query_one(
            "INSERT INTO events (dedupe_key, kind, connection_id, chat_id, payload, received_at)
             VALUES ('slow', 'message.received', 1, 2, '{\"text\":\"медленная доставка\"}', 0)
             RETURNING id",
            &[],
        )
        .await
        .expect("insert");
    let slow_id: i64 = row.get(0);
    slow.execute(
        "INSERT INTO runs (event_id, plugin, lane, seq, status, budget, max_attempts, origin,
             created_at, updated_at)
         VALUES ($1, 'p', 'slow', $1, 'succeeded', 3, 3, 'webhook', 0, 0)",
        &[&slow_id],
    )
    .await
    .expect("run");

    // Passes run before and after later events commit, each noting a point and settling one.
    for i in 0..4 {
        for _ in 0..2 {
            let pass = store.index_words(100).await.expect("pass");
            assert!(
                pass.watermark < slow_id,
                "the watermark {} passed event {slow_id}, still uncommitted",
                pass.watermark
            );
        }
        let later = store
            .ingest(event(&format!("later{i}"), Some(2)), vec![run("p", "b")])
            .await
            .expect("ingest");
        for _ in 0..3 {
            let pass = store.index_words(100).await.expect("pass");
            assert!(
                pass.watermark < slow_id,
                "the watermark {} passed event {slow_id}, still uncommitted (after event {})",
                pass.watermark,
                later.event_id.0
            );
        }
    }
    slow.commit().await.expect("commit");
    drop(client);
    driver.await.ok();

    let found = text_ids(&*store, "медленная").await;
    assert_eq!(found.len(), 1, "found before it is indexed: {found:?}");
    index_all(&*store, slow_id).await;
    assert_eq!(text_ids(&*store, "медленная").await, found, "and after");
}

/// How often `runs` was analysed by hand (`ANALYZE`, not autovacuum).
async fn manual_analyses(url: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'runs'",
            &[],
        )
        .await
        .expect("analyze_count");
    drop(client);
    driver.await.ok();
    row.get(0)
}

/// A young database's busy tables are analysed once the ids pass 1,024, so the statements that
/// pooled connections prepared while `runs` was empty are planned again (without it, a lookup
/// by id went on reading the whole table until autovacuum's first pass, a minute or more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_databases_busy_tables_are_analysed_as_they_grow() {
    let url = fresh_url().await;
    let store = connect(&url).await;
    ingest_lanes(&store, "young", 1000).await;
    assert_eq!(manual_analyses(&url).await, 0, "not before 1,024 ids");
    ingest_lanes(&store, "grown", 100).await;
    let deadline = Instant::now() + WAKE_BOUND;
    while manual_analyses(&url).await == 0 {
        assert!(
            Instant::now() < deadline,
            "runs was not analysed within {WAKE_BOUND:?} of passing 1,024 ids"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
