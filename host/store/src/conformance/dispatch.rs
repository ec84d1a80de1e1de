//! Conformance: lanes, claiming, finishing, retries, recovery, requeue and wake-ups.

use super::fixtures::{attempt, claim_now, event, finish_as, ingest_lanes, queue_run, run, t0};
use crate::{AttemptStatus, ClaimedRun, Next, RunFilter, RunId, RunStatus, Store, StoreError};
use chrono::TimeDelta;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

async fn claim_ids(store: &dyn Store, limit: usize, secs: i64) -> Vec<RunId> {
    let claimed = store
        .claim("node-a", limit, t0() + TimeDelta::seconds(secs))
        .await
        .expect("claim");
    claimed.iter().map(|c| c.run_id).collect()
}

async fn claim_one(store: &dyn Store) -> ClaimedRun {
    let mut claimed = store.claim("node-a", 1, t0()).await.expect("claim");
    assert_eq!(claimed.len(), 1, "one run is claimable");
    claimed.remove(0)
}

/// A lane's second run is not claimable while its first is queued or running; other lanes are.
pub async fn lane_order(store: Arc<dyn Store>) {
    let a = queue_run(&*store, "e1", Some(1), "chat-1").await;
    let a2 = queue_run(&*store, "e2", Some(1), "chat-1").await;
    let b = queue_run(&*store, "e3", Some(2), "chat-2").await;
    assert_eq!(
        claim_ids(&*store, 10, 0).await,
        vec![a, b],
        "one run per lane, oldest first"
    );
    assert!(
        claim_ids(&*store, 10, 0).await.is_empty(),
        "a2 waits while a is running"
    );
    assert_eq!(store.recover("node-a").await.expect("recover"), 2);
    let head = claim_one(&*store).await;
    assert_eq!(
        (head.run_id, head.attempt),
        (a, 2),
        "the queued head goes first, not a2"
    );
    assert_eq!(
        claim_ids(&*store, 10, 0).await,
        vec![b],
        "lane 1 is busy, lane 2 is not"
    );
    assert!(claim_ids(&*store, 10, 0).await.is_empty());
    store
        .finish(a, attempt(&head, AttemptStatus::Succeeded), Next::Final)
        .await
        .expect("finish");
    assert_eq!(
        claim_ids(&*store, 10, 0).await,
        vec![a2],
        "the lane moves on after its head finished"
    );
}

/// Many concurrent claimers never get the same run, never run two runs of a lane at once, and
/// see each lane in order.
pub async fn concurrent_claimers_never_share_a_run(store: Arc<dyn Store>) {
    let mut order: HashMap<String, Vec<RunId>> = HashMap::new();
    for i in 0..200 {
        let lane = format!("lane-{}", i % 25);
        let ingested = store
            .ingest(event(&format!("c{i}"), Some(i)), vec![run("p", &lane)])
            .await
            .expect("ingest");
        order.entry(lane).or_default().push(ingested.run_ids[0]);
    }
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Vec<RunId>>>> = Arc::default();
    let mut set = JoinSet::new();
    for worker in 0..8 {
        let (store, busy, seen) = (Arc::clone(&store), Arc::clone(&busy), Arc::clone(&seen));
        set.spawn(async move { claim_loop(&*store, worker, &busy, &seen).await });
    }
    let mut total = 0;
    while let Some(done) = set.join_next().await {
        total += done.expect("claimer");
    }
    assert_eq!(total, 200, "every run claimed exactly once");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen, order, "each lane claimed in arrival order");
}

async fn claim_loop(
    store: &dyn Store,
    worker: usize,
    busy: &Mutex<HashSet<String>>,
    seen: &Mutex<HashMap<String, Vec<RunId>>>,
) -> usize {
    let mut done = 0;
    loop {
        let claimed = store
            .claim(&format!("node-{worker}"), 3, t0())
            .await
            .expect("claim");
        if claimed.is_empty()
            && store.queue_depth().await.expect("depth") == crate::QueueDepth::default()
        {
            return done;
        }
        for c in &claimed {
            assert!(
                busy.lock().expect("lock").insert(c.lane.clone()),
                "lane {} claimed twice at once",
                c.lane
            );
            seen.lock()
                .expect("lock")
                .entry(c.lane.clone())
                .or_default()
                .push(c.run_id);
        }
        for c in claimed {
            busy.lock().expect("lock").remove(&c.lane);
            finish_as(store, &c, AttemptStatus::Succeeded).await;
            done += 1;
        }
        tokio::task::yield_now().await;
    }
}

/// A retrying run waits for `not_before`, keeps the head of its lane, and comes back with the
/// next attempt number.
pub async fn retry_respects_not_before_and_lane_order(store: Arc<dyn Store>) {
    let first = queue_run(&*store, "r1", Some(1), "lane").await;
    let second = queue_run(&*store, "r2", Some(1), "lane").await;
    let claimed = claim_one(&*store).await;
    assert_eq!((claimed.run_id, claimed.attempt), (first, 1));
    let not_before = t0() + TimeDelta::seconds(30);
    store
        .finish(
            first,
            attempt(&claimed, AttemptStatus::TimedOut),
            Next::Retry { not_before },
        )
        .await
        .expect("retry");
    assert_eq!(store.queue_depth().await.expect("depth").retrying, 1);
    assert_eq!(store.next_retry_at().await.expect("next"), Some(not_before));
    assert!(
        claim_ids(&*store, 10, 0).await.is_empty(),
        "neither the retrying head nor the run behind it"
    );
    assert!(
        claim_ids(&*store, 10, 29).await.is_empty(),
        "not before not_before"
    );
    let again = store.claim("node-a", 10, not_before).await.expect("claim");
    assert_eq!(
        again
            .iter()
            .map(|c| (c.run_id, c.attempt))
            .collect::<Vec<_>>(),
        vec![(first, 2)]
    );
    store
        .finish(
            first,
            attempt(&again[0], AttemptStatus::Succeeded),
            Next::Final,
        )
        .await
        .expect("finish");
    assert_eq!(claim_ids(&*store, 10, 30).await, vec![second]);
    assert_eq!(store.next_retry_at().await.expect("next"), None);
}

/// A deferred run waits for `not_before` at the head of its lane like a retrying one, but its
/// attempt does not count: the next claim hands out the same attempt number (even past
/// `max_attempts`), and that attempt's record replaces the deferred one.
pub async fn defer_waits_without_spending_an_attempt(store: Arc<dyn Store>) {
    let first = queue_run(&*store, "d1", Some(1), "lane").await;
    let second = queue_run(&*store, "d2", Some(1), "lane").await;
    let mut not_before = t0();
    for _ in 0..3 {
        let claimed = store.claim("node-a", 10, not_before).await.expect("claim");
        let ids: Vec<_> = claimed.iter().map(|c| (c.run_id, c.attempt)).collect();
        assert_eq!(
            ids,
            vec![(first, 1)],
            "the same attempt again, the lane held"
        );
        not_before += TimeDelta::seconds(30);
        let deferred = attempt(&claimed[0], AttemptStatus::Failed);
        store
            .finish(first, deferred, Next::Defer { not_before })
            .await
            .expect("defer");
        assert_eq!(store.queue_depth().await.expect("depth").retrying, 1);
        assert_eq!(store.next_retry_at().await.expect("next"), Some(not_before));
        let early = not_before - TimeDelta::seconds(1);
        let none = store.claim("node-a", 10, early).await.expect("claim");
        assert!(
            none.is_empty(),
            "nothing before not_before, nothing behind it"
        );
    }
    let claimed = store.claim("node-a", 10, not_before).await.expect("claim");
    assert_eq!(claimed[0].attempt, 1);
    assert_eq!(claimed[0].max_attempts, run("p", "lane").max_attempts);
    let done = attempt(&claimed[0], AttemptStatus::Succeeded);
    store
        .finish(first, done, Next::Final)
        .await
        .expect("finish");
    let detail = store.get_run(first).await.expect("get").expect("run");
    assert_eq!(detail.run.status, RunStatus::Succeeded);
    let attempts: Vec<_> = detail
        .attempts
        .iter()
        .map(|a| (a.attempt, a.status))
        .collect();
    assert_eq!(attempts, vec![(1, AttemptStatus::Succeeded)]);
    let next = store.claim("node-a", 10, not_before).await.expect("claim");
    assert_eq!(
        next.iter().map(|c| c.run_id).collect::<Vec<_>>(),
        vec![second]
    );
}

/// Runs left running by a dead process go back to queued, keep their attempt count, and the
/// interrupted attempt is recorded; a result for the interrupted attempt is refused.
pub async fn recover_after_crash(store: Arc<dyn Store>) {
    ingest_lanes(&*store, "k", 3).await;
    let claimed = store.claim("node-a", 2, t0()).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    assert_eq!(store.recover("node-a").await.expect("recover"), 2);
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!((depth.queued, depth.running), (3, 0));
    let detail = store
        .get_run(claimed[0].run_id)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(detail.run.status, RunStatus::Queued);
    assert_eq!(detail.run.attempt, 1, "the attempt count is kept");
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(detail.attempts[0].status, AttemptStatus::Interrupted);
    let stale = store
        .finish(
            claimed[0].run_id,
            attempt(&claimed[0], AttemptStatus::Succeeded),
            Next::Final,
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "stale result refused: {stale:?}"
    );
    let reclaimed = store.claim("node-b", 10, t0()).await.expect("claim");
    assert_eq!(reclaimed.len(), 3);
    let attempts: HashMap<RunId, u32> = reclaimed.iter().map(|c| (c.run_id, c.attempt)).collect();
    assert_eq!(attempts[&claimed[0].run_id], 2);
    assert_eq!(store.recover("node-b").await.expect("recover"), 3);
    assert_eq!(store.recover("node-b").await.expect("recover again"), 0);
}

/// Final, retry and dead outcomes set the run status; the attempt keeps its actions and logs.
pub async fn finish_final_retry_dead(store: Arc<dyn Store>) {
    ingest_lanes(&*store, "f", 3).await;
    let claimed = store.claim("node-a", 3, t0()).await.expect("claim");
    let [a, b, c] = <[ClaimedRun; 3]>::try_from(claimed).expect("three claimed");
    store
        .finish(a.run_id, attempt(&a, AttemptStatus::Trapped), Next::Final)
        .await
        .expect("final");
    let later = t0() + TimeDelta::minutes(1);
    store
        .finish(
            b.run_id,
            attempt(&b, AttemptStatus::Failed),
            Next::Retry { not_before: later },
        )
        .await
        .expect("retry");
    let dead = Next::Dead {
        reason: "attempts exhausted".to_owned(),
    };
    store
        .finish(c.run_id, attempt(&c, AttemptStatus::Failed), dead)
        .await
        .expect("dead");
    let get = |id| {
        let store = Arc::clone(&store);
        async move { store.get_run(id).await.expect("get").expect("run") }
    };
    let (da, db, dc) = (
        get(a.run_id).await,
        get(b.run_id).await,
        get(c.run_id).await,
    );
    assert_eq!(da.run.status, RunStatus::Trapped);
    assert_eq!(
        (db.run.status, db.run.not_before),
        (RunStatus::Retrying, Some(later))
    );
    assert_eq!(
        (dc.run.status, dc.run.error.as_deref()),
        (RunStatus::Dead, Some("attempts exhausted"))
    );
    let recorded = &da.attempts[0];
    let expected = attempt(&a, AttemptStatus::Trapped);
    assert_eq!(
        (&recorded.actions, &recorded.logs),
        (&expected.actions, &expected.logs)
    );
    assert_eq!(
        (recorded.duration_us, recorded.plugin_digest.as_deref()),
        (1200, expected.plugin_digest.as_deref())
    );
    let again = store
        .finish(a.run_id, attempt(&a, AttemptStatus::Succeeded), Next::Final)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "finishing twice is refused: {again:?}"
    );
    let missing = store
        .finish(
            RunId(i64::MAX),
            attempt(&a, AttemptStatus::Succeeded),
            Next::Final,
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// A finished run goes back to the end of its lane as a replay with a fresh attempt budget;
/// unfinished runs are refused; bulk requeue picks the matching finished runs.
pub async fn requeue_and_replay(store: Arc<dyn Store>) {
    let first = queue_run(&*store, "q1", Some(1), "lane").await;
    let c = claim_one(&*store).await;
    store
        .finish(first, attempt(&c, AttemptStatus::Failed), Next::Final)
        .await
        .expect("finish");
    let second = queue_run(&*store, "q2", Some(1), "lane").await;
    store.requeue(first, true).await.expect("requeue");
    let busy = store.requeue(second, true).await;
    assert!(
        matches!(busy, Err(StoreError::Conflict { .. })),
        "a queued run is not replayed: {busy:?}"
    );
    let missing = store.requeue(RunId(i64::MAX), true).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let next = claim_one(&*store).await;
    assert_eq!(
        next.run_id, second,
        "the replay waits behind the run queued before it"
    );
    store
        .finish(
            second,
            attempt(&next, AttemptStatus::Succeeded),
            Next::Final,
        )
        .await
        .expect("finish");
    let replay = claim_one(&*store).await;
    assert_eq!(
        (replay.run_id, replay.is_replay, replay.attempt),
        (first, true, 2)
    );
    assert!(
        replay.max_attempts >= replay.attempt + 2,
        "a replay gets its full attempt budget again"
    );
    store
        .finish(first, attempt(&replay, AttemptStatus::Failed), Next::Final)
        .await
        .expect("finish");
    let filter = RunFilter {
        status: Some(RunStatus::Failed),
        limit: 100,
        ..RunFilter::default()
    };
    assert_eq!(
        store.requeue_where(filter, true).await.expect("bulk"),
        vec![first]
    );
    let unfinished = RunFilter {
        status: Some(RunStatus::Queued),
        limit: 100,
        ..RunFilter::default()
    };
    assert!(
        store
            .requeue_where(unfinished, true)
            .await
            .expect("bulk")
            .is_empty()
    );
}

/// The work notify fires after a commit that adds claimable work.
pub async fn work_notify_fires_on_new_work(store: Arc<dyn Store>) {
    let notify = store.work_notify();
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    assert!(
        store
            .claim("node-a", 10, t0())
            .await
            .expect("claim")
            .is_empty()
    );
    store
        .ingest(event("wake", Some(1)), vec![run("p", "lane")])
        .await
        .expect("ingest");
    // Not a synchronisation sleep: a bound so a missing notify fails instead of hanging.
    let woke = tokio::time::timeout(std::time::Duration::from_secs(30), notified).await;
    assert!(woke.is_ok(), "ingest did not notify waiting dispatchers");
    assert_eq!(
        store.claim("node-a", 10, t0()).await.expect("claim").len(),
        1
    );
}

/// Extreme but well-typed values are stored or refused, never a panic that stops the store.
pub async fn extreme_values_do_not_break_the_store(store: Arc<dyn Store>) {
    let mut e = event("", Some(i64::MIN));
    (e.kind, e.payload, e.received_at) = (
        String::new(),
        String::new(),
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    );
    let runs = vec![crate::NewRun {
        max_attempts: u32::MAX,
        ..run("", "")
    }];
    let ingested = store.ingest(e, runs).await.expect("ingest");
    let claimed = store
        .claim("", usize::MAX, chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let mut done = attempt(&claimed[0], AttemptStatus::Failed);
    (done.duration_us, done.started_at) = (u64::MAX, chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let not_before = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    store
        .finish(ingested.run_ids[0], done, Next::Retry { not_before })
        .await
        .expect("finish");
    let all = RunFilter {
        limit: usize::MAX,
        before: Some(RunId(i64::MIN)),
        ..RunFilter::default()
    };
    assert!(store.list_runs(all).await.expect("list").is_empty());
    let detail = store
        .get_run(ingested.run_ids[0])
        .await
        .expect("get")
        .expect("run");
    assert_eq!(detail.run.max_attempts, u32::MAX);
    let took = detail.attempts[0].duration_us;
    assert!(
        took >= i64::MAX as u64,
        "a huge duration saturates at worst: {took}"
    );
    let next = store
        .next_retry_at()
        .await
        .expect("next")
        .map(|t| t.timestamp_micros());
    assert_eq!(
        next,
        Some(not_before.timestamp_micros()),
        "times keep microseconds"
    );
    store
        .kv_set("", "", Vec::new(), Some(0))
        .await
        .expect_err("a zero quota refuses every new key");
    store
        .schedule_count("s", u64::MAX, u64::MAX)
        .await
        .expect("count");
    assert!(
        store
            .purge(&crate::RetentionPolicy::default(), 0, t0())
            .await
            .is_ok()
    );
    assert_eq!(
        store.quarantine_list(usize::MAX, None).await.expect("list"),
        vec![]
    );
}

/// Many finishes at once, each with ledger records (PostgreSQL commits such a group together,
/// a statement per table for all of them): every one lands on its own run with its records,
/// every lane moves on to its next run, and a stale finish among them is refused alone, its
/// recorded intent's result still written.
pub async fn concurrent_finishes_land_each_on_its_run(store: Arc<dyn Store>) {
    use crate::{LedgerBegin, LedgerIntent, LedgerRecord, LedgerResult};
    const LANES: usize = 24;
    const STALE: usize = 5;
    ingest_lanes(&*store, "cf", LANES as i64).await;
    let mut next_in_lane = HashMap::new();
    for i in 0..LANES {
        let lane = format!("l{i}");
        let second = queue_run(&*store, &format!("cf-next{i}"), Some(i as i64), &lane).await;
        next_in_lane.insert(lane, second);
    }
    let claimed = store.claim("node-a", LANES, t0()).await.expect("claim");
    assert_eq!(claimed.len(), LANES, "one head per lane");
    let intent = |run_id, seq, kind: &str| LedgerIntent {
        run_id,
        seq,
        kind: kind.to_owned(),
        fingerprint: format!("fp-{run_id}-{seq}"),
        request: "{}".to_owned(),
        chat: Some((70001, 1)),
        at: t0(),
    };
    let done = |run_id: RunId, seq| LedgerResult {
        run_id,
        seq,
        result: format!(r#"{{"id":"m-{run_id}-{seq}"}}"#),
        effect_id: Some(format!("m-{run_id}-{seq}")),
    };
    for c in &claimed {
        let begun = store
            .ledger_begin(intent(c.run_id, 1, "messages.send"))
            .await
            .expect("begin");
        assert_eq!(begun, LedgerBegin::Fresh);
    }
    let mut tasks = JoinSet::new();
    let mut stale = None;
    for (i, c) in claimed.iter().cloned().enumerate() {
        let store = Arc::clone(&store);
        let records = vec![
            LedgerRecord {
                intent: None,
                done: done(c.run_id, 1),
            },
            LedgerRecord {
                intent: Some(intent(c.run_id, 2, "tags.add")),
                done: done(c.run_id, 2),
            },
        ];
        let mut finished = attempt(&c, AttemptStatus::Succeeded);
        if i == STALE {
            finished.attempt += 1;
        }
        let next = if i % 3 == 0 {
            Next::Retry {
                not_before: t0() + TimeDelta::minutes(1),
            }
        } else {
            Next::Final
        };
        let finish = async move {
            let out = store
                .finish_recorded(c.run_id, finished, next, records)
                .await;
            (i, c, out)
        };
        if i == STALE {
            stale = Some(finish);
        } else {
            tasks.spawn(finish);
        }
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        outcomes.push(joined.expect("task"));
    }
    // Refused on its own, after the others: PostgreSQL's own tests refuse one inside a group.
    outcomes.push(stale.expect("the stale finish").await);
    let mut moved_on = Vec::new();
    for (i, c, out) in outcomes {
        let detail = store.get_run(c.run_id).await.expect("get").expect("run");
        let ledger = store.ledger_for_run(c.run_id).await.expect("ledger");
        let send = ledger
            .iter()
            .find(|e| e.intent.seq == 1)
            .expect("the send's intent");
        let effect = format!("m-{}-1", c.run_id);
        assert_eq!(
            send.effect_id.as_deref(),
            Some(effect.as_str()),
            "run {i}: the send's result is written, refused or not"
        );
        if i == STALE {
            assert!(
                matches!(out, Err(StoreError::Conflict { .. })),
                "the stale finish is refused: {out:?}"
            );
            assert_eq!(
                detail.run.status,
                RunStatus::Running,
                "the stale one keeps its run"
            );
            assert!(detail.attempts.is_empty(), "and records no attempt");
            assert!(
                ledger.iter().all(|e| e.intent.seq != 2),
                "and none of its whole records"
            );
            continue;
        }
        out.unwrap_or_else(|e| panic!("run {i}: {e}"));
        let expected = if i % 3 == 0 {
            RunStatus::Retrying
        } else {
            RunStatus::Succeeded
        };
        assert_eq!(detail.run.status, expected, "run {i}");
        assert_eq!(detail.attempts.len(), 1, "run {i}: one attempt recorded");
        assert_eq!(detail.attempts[0].status, AttemptStatus::Succeeded);
        assert!(
            ledger.iter().any(|e| e.intent.seq == 2),
            "run {i}: the whole record"
        );
        if expected == RunStatus::Succeeded {
            moved_on.push(next_in_lane[&c.lane]);
        }
    }
    let mut heads = claim_ids(&*store, LANES, 0).await;
    heads.sort_unstable();
    moved_on.sort_unstable();
    assert_eq!(
        heads, moved_on,
        "exactly the lanes whose head succeeded hand out their next run (a retrying head waits)"
    );
}

/// A bulk requeue puts every run back in the order it answers, lane by lane: two lanes of
/// three and two runs, all finished, come back and run again in exactly that order.
pub async fn bulk_requeue_keeps_its_order_in_each_lane(store: Arc<dyn Store>) {
    async fn run_one_by_one(store: &dyn Store) -> Vec<RunId> {
        let mut order = Vec::new();
        while let Some(c) = claim_now(store, "n", 1).await.pop() {
            order.push(c.run_id);
            finish_as(store, &c, AttemptStatus::Succeeded).await;
        }
        order
    }
    let mut lane_of = std::collections::HashMap::new();
    for (key, lane) in [
        ("b1", "a"),
        ("b2", "b"),
        ("b3", "a"),
        ("b4", "a"),
        ("b5", "b"),
    ] {
        lane_of.insert(queue_run(&*store, key, Some(1), lane).await, lane);
    }
    assert_eq!(run_one_by_one(&*store).await.len(), 5);
    let filter = RunFilter {
        status: Some(RunStatus::Succeeded),
        limit: 100,
        ..RunFilter::default()
    };
    let requeued = store.requeue_where(filter, true).await.expect("bulk");
    assert_eq!(requeued.len(), 5, "every finished run is requeued");
    let again = run_one_by_one(&*store).await;
    assert_eq!(again.len(), 5, "every replay ran");
    for lane in ["a", "b"] {
        let of_lane = |ids: &[RunId]| -> Vec<RunId> {
            ids.iter().copied().filter(|r| lane_of[r] == lane).collect()
        };
        assert_eq!(
            of_lane(&again),
            of_lane(&requeued),
            "lane {lane} ran its replays in the order requeued"
        );
    }
}
