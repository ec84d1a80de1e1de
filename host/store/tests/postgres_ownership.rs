//! PostgreSQL: `sslmode` as libpq documents it (the throwaway server has no TLS), a lease taken
//! per process start on the database's clock, a damaged event that fails only its own run, and
//! `synchronous_commit` following the durability setting.

use std::time::Duration;
use switchboard_store::conformance::{claim_now, event, queue_run, run};
use switchboard_store::pg_test_server::{self, PgTestServer};
use switchboard_store::prelude::*;
use switchboard_store::{
    Durability, LeaseTaken, PostgresConfig, PostgresStore, Renewal, RunStatus, StoreError,
};

const LEASE: Duration = Duration::from_secs(10);

fn server() -> &'static PgTestServer {
    pg_test_server::shared()
        .unwrap_or_else(|e| panic!("cannot start the throwaway PostgreSQL server: {e}"))
}

async fn fresh_url() -> String {
    server().fresh_database().await.expect("fresh database")
}

async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
    let mut config = PostgresConfig::new(url);
    config.pool_size = 2;
    config.connect_timeout = Duration::from_secs(5);
    PostgresStore::connect(config).await
}

#[tokio::test]
async fn sslmode_require_fails_clearly_without_tls_and_disable_and_prefer_connect() {
    let url = fresh_url().await;
    for mode in ["disable", "prefer"] {
        let store = connect(&format!("{url}?sslmode={mode}")).await;
        let store = store.unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        store
            .kv_set("ns", "k", b"v".to_vec(), None)
            .await
            .expect("write");
    }
    connect(&url).await.expect("no sslmode is libpq's prefer");
    for mode in ["require", "verify-full"] {
        let refused = connect(&format!("{url}?sslmode={mode}")).await;
        let message = refused
            .map(|_| ())
            .expect_err("no TLS, no connection")
            .to_string();
        assert!(
            message.contains("TLS") || message.contains("tls") || message.contains("SSL"),
            "sslmode={mode} names TLS: {message}"
        );
        assert!(
            message.contains("requires TLS"),
            "and what to do: {message}"
        );
    }
    let wrong = connect(&format!("{url}?sslmode=always")).await;
    let wrong = wrong.map(|_| ()).expect_err("unknown mode").to_string();
    assert!(wrong.contains("sslmode `always`"), "{wrong}");
}

#[tokio::test]
async fn a_live_lease_is_held_against_a_new_process_until_it_expires_on_the_database_clock() {
    let store = connect(&fresh_url().await).await.expect("connect");
    let now = store.clock().await.expect("clock");
    let drift = (now - chrono::Utc::now()).num_seconds().abs();
    assert!(
        drift < 60,
        "the server runs on this machine: {drift} s apart"
    );
    assert_eq!(
        store.take_lease("n", LEASE, now).await.expect("take"),
        LeaseTaken::Granted
    );
    let again = store.take_lease("n", LEASE, now + chrono::TimeDelta::seconds(1));
    match again.await.expect("take") {
        LeaseTaken::Held {
            heartbeat_at,
            lease_until,
        } => {
            assert_eq!(heartbeat_at.timestamp_micros(), now.timestamp_micros());
            assert_eq!(
                lease_until.timestamp_micros(),
                (now + LEASE).timestamp_micros()
            );
        }
        LeaseTaken::Granted => panic!("a live lease was handed to a second process"),
    }
    let expired = now + chrono::TimeDelta::seconds(10);
    assert_eq!(
        store.take_lease("n", LEASE, expired).await.expect("take"),
        LeaseTaken::Granted,
        "an expired lease goes to the new process"
    );
}

/// A process cut off from the database for longer than its lease, whose node id a new process
/// took meanwhile, comes back: its heartbeat says `Lost` instead of renewing beside the new
/// holder, the store refuses its claims, and its `leave` does not end the new holder's lease.
#[tokio::test]
async fn a_process_whose_node_id_was_taken_over_loses_its_lease_and_claims_nothing() {
    let url = fresh_url().await;
    let old = connect(&url).await.expect("connect");
    let new = connect(&url).await.expect("connect");
    let now = old.clock().await.expect("clock");
    let at = |s: i64| now + chrono::TimeDelta::seconds(s);
    assert_eq!(
        old.take_lease("n", LEASE, now).await.expect("take"),
        LeaseTaken::Granted
    );
    let renewed = old.heartbeat("n", LEASE, at(1)).await.expect("beat");
    assert_eq!(renewed, Renewal::Renewed);
    let taken = new.take_lease("n", LEASE, at(12)).await.expect("take");
    assert_eq!(taken, LeaseTaken::Granted, "the old lease expired at 11 s");
    let back = old.heartbeat("n", LEASE, at(13)).await.expect("beat");
    assert_eq!(
        back,
        Renewal::Lost,
        "the old process must not renew beside the new one"
    );
    let queued = old
        .ingest(event("after", Some(1)), vec![run("p", "after")])
        .await
        .expect("ingest");
    let stolen = old.claim("n", 10, at(13)).await.expect("claim");
    assert!(stolen.is_empty(), "the old process claimed {stolen:?}");
    let claimed = new.claim("n", 10, at(13)).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].run_id, queued.run_ids[0]);
    old.leave("n").await.expect("leave");
    let nodes = new.nodes(at(13)).await.expect("nodes");
    let n = nodes.iter().find(|n| n.node == "n").expect("listed");
    assert!(
        n.live && n.left_at.is_none(),
        "the new holder's lease still stands: {n:?}"
    );
    let renewed = new.heartbeat("n", LEASE, at(14)).await.expect("beat");
    assert_eq!(renewed, Renewal::Renewed);
}

#[tokio::test]
async fn an_unreadable_event_fails_its_run_and_never_blocks_claim() {
    let url = fresh_url().await;
    let store = connect(&url).await.expect("connect");
    let bad = store
        .ingest(event("bad", Some(1)), vec![run("p", "bad")])
        .await
        .expect("ingest");
    let good = queue_run(&store, "good", Some(2), "good").await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("raw connect");
    let driver = tokio::spawn(connection);
    client
        .execute(
            "UPDATE events SET received_at = 9223372036854775807 WHERE id = $1",
            &[&bad.event_id.0],
        )
        .await
        .expect("damage");
    drop(client);
    driver.await.ok();
    let claimed = claim_now(&store, "n", 10).await;
    let ids: Vec<_> = claimed.iter().map(|c| c.run_id).collect();
    assert_eq!(ids, vec![good], "the healthy run is claimed");
    let runs = store
        .list_runs(switchboard_store::RunFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    let failed = runs
        .iter()
        .find(|r| r.run_id == bad.run_ids[0])
        .expect("listed");
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("cannot be read"), "{error}");
}

#[tokio::test]
async fn durability_sets_synchronous_commit() {
    let url = fresh_url().await;
    for (durability, expected) in [(Durability::Full, "on"), (Durability::Normal, "off")] {
        let mut config = PostgresConfig::new(&url);
        config.pool_size = 1;
        config.durability = durability;
        let store = PostgresStore::connect(config).await.expect("connect");
        assert_eq!(store.synchronous_commit().await.expect("setting"), expected);
    }
}
