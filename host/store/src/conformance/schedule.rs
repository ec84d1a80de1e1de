//! Conformance: cron slots fire once, and schedule counters.

use super::fixtures::{event, finish_as, run, run_all, t0};
use crate::{AttemptStatus, NewEvent, NewRun, SlotFire, SlotFired, Store};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use tokio::task::JoinSet;

fn slot_event(key: &str, slot: DateTime<Utc>, n: usize) -> NewEvent {
    let mut e = event(&format!("schedule:{key}:{}:{n}", slot.timestamp()), None);
    e.kind = "schedule.fired".to_owned();
    e
}

fn slot_run(key: &str) -> NewRun {
    NewRun {
        origin: "schedule".to_owned(),
        ..run("cron-plugin", &format!("schedule:{key}"))
    }
}

/// Concurrent fires of one slot queue exactly one run.
pub async fn cron_slot_fires_once_under_concurrency(store: Arc<dyn Store>) {
    let slot = t0();
    let mut set = JoinSet::new();
    for n in 0..16 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            store
                .fire_slot(
                    "daily",
                    slot,
                    false,
                    slot_event("daily", slot, n),
                    slot_run("daily"),
                )
                .await
                .expect("fire")
        });
    }
    let mut fired = Vec::new();
    while let Some(done) = set.join_next().await {
        fired.extend(done.expect("task"));
    }
    assert_eq!(fired.len(), 1, "one slot, one run");
    assert_eq!(store.last_slot("daily").await.expect("last"), Some(slot));
    assert_eq!(store.queue_depth().await.expect("depth").queued, 1);
    let again = store
        .fire_slot(
            "daily",
            slot,
            false,
            slot_event("daily", slot, 99),
            slot_run("daily"),
        )
        .await;
    assert_eq!(again.expect("fire again"), None);
    let other = store
        .fire_slot(
            "hourly",
            slot,
            false,
            slot_event("hourly", slot, 0),
            slot_run("hourly"),
        )
        .await;
    assert!(
        other.expect("other schedule").is_some(),
        "slots are unique per schedule"
    );
    assert_eq!(store.last_slot("never").await.expect("last"), None);
}

/// Unfinished runs per schedule, catch-up and skip/miss counters.
pub async fn schedule_counters_and_overlap(store: Arc<dyn Store>) {
    let (s1, s2) = (t0(), t0() + TimeDelta::hours(1));
    store
        .fire_slot("k", s1, false, slot_event("k", s1, 0), slot_run("k"))
        .await
        .expect("fire")
        .expect("new");
    store
        .fire_slot("k", s2, true, slot_event("k", s2, 0), slot_run("k"))
        .await
        .expect("fire")
        .expect("new");
    assert_eq!(
        store
            .schedule_unfinished_runs("k", "schedule:k")
            .await
            .expect("unfinished"),
        2
    );
    let claimed = store.claim("node-a", 10, t0()).await.expect("claim");
    assert_eq!(claimed.len(), 1, "a schedule's runs share a lane");
    finish_as(&*store, &claimed[0], AttemptStatus::Succeeded).await;
    assert_eq!(
        store
            .schedule_unfinished_runs("k", "schedule:k")
            .await
            .expect("unfinished"),
        1
    );
    store.schedule_count("k", 3, 2).await.expect("count");
    store.schedule_count("k", 1, 0).await.expect("count");
    store.schedule_count("idle", 0, 5).await.expect("count");
    let states = store.schedule_states().await.expect("states");
    assert_eq!(states.len(), 2);
    let k = states.iter().find(|s| s.schedule_key == "k").expect("k");
    assert_eq!(
        (k.fired, k.caught_up, k.skipped, k.missed, k.last_slot),
        (2, 1, 4, 2, Some(s2))
    );
    let idle = states
        .iter()
        .find(|s| s.schedule_key == "idle")
        .expect("idle");
    assert_eq!((idle.fired, idle.missed, idle.last_slot), (0, 5, None));
}

/// A skipped slot moves `last_slot` forward (never back) without queuing a run.
pub async fn skipped_slots_move_last_slot(store: Arc<dyn Store>) {
    let (s1, s2, s3) = (t0(), t0() + TimeDelta::hours(1), t0() + TimeDelta::hours(2));
    store.skip_slot("k", s2).await.expect("skip");
    assert_eq!(store.last_slot("k").await.expect("last"), Some(s2));
    store.skip_slot("k", s1).await.expect("skip an older slot");
    assert_eq!(
        store.last_slot("k").await.expect("last"),
        Some(s2),
        "never goes back"
    );
    assert_eq!(store.queue_depth().await.expect("depth").queued, 0);
    let fired = store
        .fire_slot("k", s3, false, slot_event("k", s3, 0), slot_run("k"))
        .await;
    assert!(fired.expect("fire").is_some());
    assert_eq!(store.last_slot("k").await.expect("last"), Some(s3));
    let state = store.schedule_states().await.expect("states").remove(0);
    assert_eq!((state.schedule_key.as_str(), state.fired), ("k", 1));
}

fn fire(key: &str, slot: DateTime<Utc>, bound: Option<u64>) -> SlotFire {
    SlotFire {
        schedule_key: key.to_owned(),
        slot,
        catch_up: false,
        max_unfinished: bound,
        event: slot_event(key, slot, 0),
        run: slot_run(key),
    }
}

/// A pass's slots fire in one call, in order, each bounded by its overlap policy as if fired
/// one after another; firing the same batch again (another node, a restart) changes nothing.
pub async fn fire_slots_handles_a_batch_in_order(store: Arc<dyn Store>) {
    let (s1, s2) = (t0(), t0() + TimeDelta::minutes(1));
    let batch = vec![
        fire("a", s1, Some(1)),
        fire("a", s2, Some(1)),
        fire("b", s1, Some(2)),
        fire("b", s2, Some(2)),
        fire("c", s1, None),
        fire("c", s2, None),
    ];
    let fired = store.fire_slots(batch.clone()).await.expect("fire");
    let shape: Vec<&str> = fired.iter().map(outcome).collect();
    assert_eq!(
        shape,
        ["fired", "skipped", "fired", "fired", "fired", "fired"]
    );
    assert_eq!(store.queue_depth().await.expect("depth").queued, 5);
    let again = store.fire_slots(batch).await.expect("fire again");
    assert!(again.iter().all(|f| *f == SlotFired::Taken), "{again:?}");
    let states = store.schedule_states().await.expect("states");
    let a = states.iter().find(|s| s.schedule_key == "a").expect("a");
    assert_eq!((a.fired, a.skipped, a.last_slot), (1, 1, Some(s2)));
    assert_eq!(store.queue_depth().await.expect("depth").queued, 5);
    assert!(store.fire_slots(Vec::new()).await.expect("none").is_empty());
}

/// An overlap bound counts the schedule's open runs in its lane, and nothing else: not its
/// finished slots, not a run fired without a bound (in a lane of its own), not another run in
/// the same lane.
pub async fn overlap_counts_the_open_runs_in_the_lane(store: Arc<dyn Store>) {
    let at = |m: i64| t0() + TimeDelta::minutes(m);
    for m in 0..40 {
        let fired = store.fire_slots(vec![fire("k", at(m), Some(1))]).await;
        assert!(
            matches!(fired.expect("fire")[..], [SlotFired::Fired(_)]),
            "slot {m}"
        );
        assert_eq!(run_all(&*store).await.len(), 1, "slot {m} ran");
    }
    let unbounded = SlotFire {
        run: NewRun {
            lane: "schedule:k/40".to_owned(),
            ..slot_run("k")
        },
        ..fire("k", at(40), None)
    };
    store
        .ingest(event("webhook:1", None), vec![run("other", "schedule:k")])
        .await
        .expect("a webhook run in the lane");
    let fired = store.fire_slots(vec![unbounded]).await.expect("fire");
    assert!(matches!(fired[..], [SlotFired::Fired(_)]), "{fired:?}");
    let count = || store.schedule_unfinished_runs("k", "schedule:k");
    assert_eq!(
        count().await.expect("count"),
        0,
        "40 slots ran, the rest is not its own"
    );
    let fired = store.fire_slots(vec![fire("k", at(41), Some(1))]).await;
    assert!(matches!(fired.expect("fire")[..], [SlotFired::Fired(_)]));
    assert_eq!(count().await.expect("count"), 1);
    let fired = store.fire_slots(vec![fire("k", at(42), Some(1))]).await;
    assert_eq!(
        fired.expect("fire"),
        [SlotFired::Skipped],
        "slot 41 is open"
    );
    let fired = store.fire_slots(vec![fire("k", at(43), Some(2))]).await;
    assert!(matches!(fired.expect("fire")[..], [SlotFired::Fired(_)]));
    assert_eq!(count().await.expect("count"), 2);
    while let claimed @ [_, ..] = &store.claim("n", 10, t0()).await.expect("claim")[..] {
        for c in claimed {
            finish_as(&*store, c, AttemptStatus::Succeeded).await;
        }
    }
    assert_eq!(count().await.expect("count"), 0);
}

fn outcome(f: &SlotFired) -> &'static str {
    match f {
        SlotFired::Fired(_) => "fired",
        SlotFired::Skipped => "skipped",
        SlotFired::Taken => "taken",
    }
}
