//! Conformance: node leases. Heartbeats, expiry, recovering a dead node's runs (once, in lane
//! order, never a live node's), a zombie's late result, leaving, and the node list.

use super::fixtures::{attempt, queue_run, t0};
use crate::{AttemptStatus, ClaimedRun, Next, RunId, RunStatus, Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

const LEASE: Duration = Duration::from_secs(10);

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

async fn ingest(store: &dyn Store, key: &str, lane: &str) -> RunId {
    queue_run(store, key, Some(1), lane).await
}

async fn claim(store: &dyn Store, node: &str, secs: i64) -> Vec<ClaimedRun> {
    store.claim(node, 100, at(secs)).await.expect("claim")
}

fn ids(claimed: &[ClaimedRun]) -> Vec<(RunId, u32)> {
    claimed.iter().map(|c| (c.run_id, c.attempt)).collect()
}

async fn beat(store: &dyn Store, node: &str, secs: i64) {
    store
        .heartbeat(node, LEASE, at(secs))
        .await
        .expect("heartbeat");
}

/// A node whose lease expired has its runs recovered (attempt `interrupted`, back at the head
/// of the lane) and a live node claims them in lane order.
pub async fn expired_nodes_runs_move_to_a_live_node_in_order(store: Arc<dyn Store>) {
    let a1 = ingest(&*store, "a1", "lane-a").await;
    let a2 = ingest(&*store, "a2", "lane-a").await;
    let b1 = ingest(&*store, "b1", "lane-b").await;
    beat(&*store, "node-a", 0).await;
    beat(&*store, "node-b", 0).await;
    assert_eq!(
        ids(&claim(&*store, "node-a", 1).await),
        vec![(a1, 1), (b1, 1)]
    );
    assert_eq!(
        store.recover_expired(at(9)).await.expect("recover"),
        0,
        "still live"
    );
    beat(&*store, "node-b", 9).await;
    assert_eq!(store.recover_expired(at(10)).await.expect("recover"), 2);
    assert_eq!(store.recover_expired(at(10)).await.expect("again"), 0);
    let detail = store.get_run(a1).await.expect("get").expect("run");
    assert_eq!(detail.run.status, RunStatus::Queued);
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(detail.attempts[0].status, AttemptStatus::Interrupted);
    assert_eq!(detail.attempts[0].node, "node-a");
    assert!(
        claim(&*store, "node-a", 11).await.is_empty(),
        "an expired node claims nothing until it heartbeats"
    );
    let taken = claim(&*store, "node-b", 11).await;
    assert_eq!(ids(&taken), vec![(a1, 2), (b1, 2)], "heads first, not a2");
    let [head, _] = <[ClaimedRun; 2]>::try_from(taken).expect("two");
    store
        .finish(a1, attempt(&head, AttemptStatus::Succeeded), Next::Final)
        .await
        .expect("finish");
    assert_eq!(ids(&claim(&*store, "node-b", 12).await), vec![(a2, 1)]);
}

/// Runs of live nodes, and of nodes that never took a lease, are left alone.
pub async fn live_nodes_runs_are_untouched(store: Arc<dyn Store>) {
    let a = ingest(&*store, "a", "lane-a").await;
    let b = ingest(&*store, "b", "lane-b").await;
    beat(&*store, "node-a", 0).await;
    beat(&*store, "node-idle", 0).await;
    let mine = claim(&*store, "node-a", 0).await;
    assert_eq!(mine.len(), 2);
    let [first, second] = <[ClaimedRun; 2]>::try_from(mine).expect("two");
    store
        .finish(b, attempt(&second, AttemptStatus::Succeeded), Next::Final)
        .await
        .expect("finish");
    let c = ingest(&*store, "c", "lane-c").await;
    assert_eq!(ids(&claim(&*store, "node-unleased", 0).await), vec![(c, 1)]);
    beat(&*store, "node-a", 8).await;
    assert_eq!(
        store.recover_expired(at(15)).await.expect("recover"),
        0,
        "node-a renewed at 8 s; node-idle expired holding nothing; node-unleased has no lease"
    );
    assert_eq!(store.queue_depth().await.expect("depth").running, 2);
    store
        .finish(a, attempt(&first, AttemptStatus::Succeeded), Next::Final)
        .await
        .expect("finish");
}

/// A node declared dead cannot finish a recovered run, before or after another node claimed it
/// and even after it heartbeats again; the new claim's result is accepted.
pub async fn a_zombies_finish_is_refused_after_recovery(store: Arc<dyn Store>) {
    let r = ingest(&*store, "z", "lane-z").await;
    beat(&*store, "node-a", 0).await;
    let zombie = claim(&*store, "node-a", 0).await.remove(0);
    assert_eq!(store.recover_expired(at(10)).await.expect("recover"), 1);
    let refused = |e: StoreResultUnit| matches!(e, Err(StoreError::Conflict { .. }));
    let late = store
        .finish(r, attempt(&zombie, AttemptStatus::Succeeded), Next::Final)
        .await;
    assert!(refused(late.clone()), "refused while queued: {late:?}");
    beat(&*store, "node-a", 11).await;
    beat(&*store, "node-b", 11).await;
    let fresh = claim(&*store, "node-b", 11).await.remove(0);
    assert_eq!((fresh.run_id, fresh.attempt), (r, 2));
    let late = store
        .finish(r, attempt(&zombie, AttemptStatus::Succeeded), Next::Final)
        .await;
    assert!(
        refused(late.clone()),
        "refused after the new claim: {late:?}"
    );
    store
        .finish(r, attempt(&fresh, AttemptStatus::Succeeded), Next::Final)
        .await
        .expect("the new claim's result is accepted");
    let detail = store.get_run(r).await.expect("get").expect("run");
    assert_eq!(detail.run.status, RunStatus::Succeeded);
    let statuses: Vec<AttemptStatus> = detail.attempts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        vec![AttemptStatus::Interrupted, AttemptStatus::Succeeded]
    );
}

type StoreResultUnit = crate::StoreResult<()>;

/// Many nodes recovering the same dead node at once recover each run exactly once.
pub async fn concurrent_recover_expired_recovers_each_run_once(store: Arc<dyn Store>) {
    let mut runs = Vec::new();
    for i in 0..40 {
        runs.push(ingest(&*store, &format!("c{i}"), &format!("lane-{i}")).await);
    }
    beat(&*store, "node-dead", 0).await;
    assert_eq!(claim(&*store, "node-dead", 0).await.len(), 40);
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.recover_expired(at(30)).await.expect("recover") });
    }
    let total: usize = tasks.join_all().await.into_iter().sum();
    assert_eq!(total, 40, "every run recovered once in all");
    for id in &runs {
        let detail = store.get_run(*id).await.expect("get").expect("run");
        assert_eq!(
            detail.attempts.len(),
            1,
            "one interrupted attempt for run {id}"
        );
        assert_eq!(detail.run.status, RunStatus::Queued);
    }
    let again = claim(&*store, "node-live", 31).await;
    assert_eq!(again.len(), 40);
    assert!(again.iter().all(|c| c.attempt == 2));
}

/// `leave` ends the lease at once: the node is no longer live and what it still holds is
/// recoverable; a later heartbeat starts a new lease.
pub async fn leave_ends_the_lease(store: Arc<dyn Store>) {
    let r = ingest(&*store, "l", "lane-l").await;
    store
        .heartbeat("node-a", Duration::from_secs(300), at(0))
        .await
        .expect("heartbeat");
    assert_eq!(claim(&*store, "node-a", 0).await.len(), 1);
    assert_eq!(store.recover_expired(at(1)).await.expect("recover"), 0);
    store.leave("node-a").await.expect("leave");
    let listed = store.nodes(at(1)).await.expect("nodes");
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].live, "left: {listed:?}");
    assert!(listed[0].left_at.is_some());
    assert_eq!(store.recover_expired(at(1)).await.expect("recover"), 1);
    assert!(
        claim(&*store, "node-a", 1).await.is_empty(),
        "a node that left claims nothing"
    );
    assert_eq!(
        store
            .get_run(r)
            .await
            .expect("get")
            .expect("run")
            .run
            .status,
        RunStatus::Queued
    );
    beat(&*store, "node-a", 2).await;
    let back = store.nodes(at(3)).await.expect("nodes").remove(0);
    assert!(back.live && back.left_at.is_none(), "back: {back:?}");
    assert_eq!(back.started_at, at(2), "a new lease after leaving");
}

/// `nodes` lists every node by name with its lease and the runs and lanes it holds.
pub async fn nodes_lists_leases_and_held_lanes(store: Arc<dyn Store>) {
    assert!(store.nodes(at(0)).await.expect("nodes").is_empty());
    ingest(&*store, "n1", "lane-2").await;
    ingest(&*store, "n2", "lane-1").await;
    beat(&*store, "node-b", 0).await;
    beat(&*store, "node-a", 0).await;
    beat(&*store, "node-a", 4).await;
    assert_eq!(claim(&*store, "node-a", 4).await.len(), 2);
    let listed = store.nodes(at(5)).await.expect("nodes");
    let names: Vec<&str> = listed.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(names, vec!["node-a", "node-b"]);
    let a = &listed[0];
    assert_eq!(
        (a.started_at, a.heartbeat_at, a.lease_until),
        (at(0), at(4), at(14))
    );
    assert_eq!((a.live, a.running, a.left_at), (true, 2, None));
    assert_eq!(a.lanes, vec!["lane-1".to_owned(), "lane-2".to_owned()]);
    assert_eq!((listed[1].running, listed[1].lanes.len()), (0, 0));
    let later = store.nodes(at(10)).await.expect("nodes");
    assert_eq!(
        (later[0].live, later[1].live),
        (true, false),
        "node-b expired at 10 s"
    );
    beat(&*store, "node-b", 20).await;
    let renewed = store.nodes(at(20)).await.expect("nodes").remove(1);
    assert_eq!(
        (renewed.started_at, renewed.live),
        (at(20), true),
        "expired, so a new lease"
    );
}

/// Retention forgets nodes dead for longer than the policy keeps runs, but never a live node, a
/// node dead only recently, or a dead node that still holds a running run (it is recovered first).
pub async fn purge_forgets_nodes_dead_longer_than_the_longest_age(store: Arc<dyn Store>) {
    use crate::RetentionPolicy;
    let held = ingest(&*store, "held", "lane-held").await;
    // `leave` stamps the real clock, so these nodes die by letting their leases run out.
    beat(&*store, "gone", 0).await;
    beat(&*store, "holder", 0).await;
    assert_eq!(ids(&claim(&*store, "holder", 1).await), vec![(held, 1)]);
    let day = 86_400;
    beat(&*store, "recent", 29 * day).await;
    beat(&*store, "live", 31 * day).await;
    let mut policy = RetentionPolicy::default();
    policy
        .max_age
        .insert(RunStatus::Succeeded, Duration::from_secs(7 * 86_400));
    policy
        .max_age
        .insert(RunStatus::Failed, Duration::from_secs(30 * 86_400));
    store
        .purge(&policy, 100, at(31 * day))
        .await
        .expect("purge");
    let names: Vec<String> = store
        .nodes(at(31 * day))
        .await
        .expect("nodes")
        .into_iter()
        .map(|n| n.node)
        .collect();
    assert_eq!(
        names,
        ["holder", "live", "recent"],
        "only `gone` is forgotten"
    );
    let kept = store
        .purge(&RetentionPolicy::default(), 100, at(400 * day))
        .await;
    assert_eq!(kept.expect("purge"), 0);
    assert_eq!(
        store.nodes(at(400 * day)).await.expect("nodes").len(),
        3,
        "no ages: kept"
    );
}
