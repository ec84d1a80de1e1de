//! Conformance: intake (dedupe, atomicity) and quarantine.

use super::fixtures::{claim_now, event, finish_as, newest_events, run, t0};
use crate::{EventFilter, NewQuarantine, RunId, Store};
use std::sync::Arc;
use tokio::task::JoinSet;

/// A duplicate dedupe key creates nothing and answers the first event's id.
pub async fn dedupe_returns_first_id(store: Arc<dyn Store>) {
    let first = store
        .ingest(event("dup", Some(1)), vec![run("a", "l1"), run("b", "l2")])
        .await
        .expect("ingest");
    assert!(!first.duplicate);
    assert_eq!(first.run_ids.len(), 2);
    let mut again = event("dup", Some(2));
    again.payload = r#"{"other":true}"#.to_owned();
    let second = store
        .ingest(again, vec![run("a", "l1"), run("c", "l3")])
        .await
        .expect("ingest duplicate");
    assert!(second.duplicate);
    assert_eq!(second.event_id, first.event_id);
    assert!(second.run_ids.is_empty());
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!(depth.queued, 2, "the duplicate queued no runs");
    let events = newest_events(&*store, 10).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].chat_id,
        Some(1),
        "the first event is kept as given"
    );
    let other = store
        .ingest(event("other", Some(1)), vec![])
        .await
        .expect("ingest other");
    assert_ne!(other.event_id, first.event_id);
}

/// An event and its runs appear together or not at all, and concurrent deliveries of one
/// dedupe key create exactly one event with exactly its runs.
pub async fn ingest_is_atomic(store: Arc<dyn Store>) {
    let mut set = JoinSet::new();
    for i in 0..32 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            let runs = (0..3)
                .map(|r| run(&format!("p{r}"), &format!("lane-{i}-{r}")))
                .collect();
            store
                .ingest(event("same-delivery", Some(7)), runs)
                .await
                .expect("ingest")
        });
    }
    let mut fresh = 0;
    let mut ids = Vec::new();
    while let Some(done) = set.join_next().await {
        let ingested = done.expect("task");
        ids.push(ingested.event_id);
        if !ingested.duplicate {
            fresh += 1;
            assert_eq!(ingested.run_ids.len(), 3);
        }
    }
    assert_eq!(fresh, 1, "exactly one delivery creates the event");
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every delivery answers the same event id"
    );
    let detail = store
        .get_event(ids[0])
        .await
        .expect("get")
        .expect("event exists");
    assert_eq!(detail.runs.len(), 3);
    // Readers never see an event without its runs while ingests are committing.
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..50 {
                let runs = vec![run("x", &format!("w{i}")), run("y", &format!("w{i}"))];
                store
                    .ingest(event(&format!("w{i}"), Some(8)), runs)
                    .await
                    .expect("ingest");
            }
        })
    };
    for _ in 0..50 {
        let events = store.list_events(EventFilter {
            chat: Some((70001, 8)),
            limit: 100,
            ..Default::default()
        });
        for e in events.await.expect("list") {
            let runs = store
                .get_event(e.id)
                .await
                .expect("get")
                .expect("listed event exists")
                .runs;
            assert_eq!(
                runs.len(),
                2,
                "event {} was visible without all its runs",
                e.id
            );
        }
    }
    writer.await.expect("writer");
}

/// Events with no subscribed plugin are stored too.
pub async fn events_without_runs_are_stored(store: Arc<dyn Store>) {
    let mut e = event("lonely", None);
    e.kind = "unsupported".to_owned();
    let ingested = store.ingest(e, vec![]).await.expect("ingest");
    assert!(!ingested.duplicate && ingested.run_ids.is_empty());
    let detail = store
        .get_event(ingested.event_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(detail.event.event.kind, "unsupported");
    assert_eq!(detail.event.event.chat_id, None);
    assert!(detail.runs.is_empty());
}

/// Quarantined requests are kept byte for byte, listed newest first, and deletable.
pub async fn quarantine_round_trip(store: Arc<dyn Store>) {
    let body = vec![0u8, 159, 146, 150, b'{'];
    let q = |reason: &str| NewQuarantine {
        received_at: t0(),
        reason: reason.to_owned(),
        headers: r#"{"content-type":"application/json"}"#.to_owned(),
        body: body.clone(),
    };
    let first = store
        .quarantine(q("invalid json"))
        .await
        .expect("quarantine");
    let second = store
        .quarantine(q("missing event_type"))
        .await
        .expect("quarantine");
    let listed = store.quarantine_list(10, None).await.expect("list");
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    assert_eq!(listed[0].body_len, 5);
    assert_eq!(
        store
            .quarantine_list(10, Some(second))
            .await
            .expect("page")
            .len(),
        1
    );
    let entry = store
        .quarantine_get(first)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (entry.body, entry.reason.as_str(), entry.received_at),
        (body, "invalid json", t0())
    );
    assert!(store.quarantine_delete(first).await.expect("delete"));
    assert!(!store.quarantine_delete(first).await.expect("delete again"));
    assert_eq!(store.quarantine_get(first).await.expect("get"), None);
}

/// `queue_depth` says since when the claimable run first in arrival order waits for a worker,
/// ignoring runs queued behind their own lane's running head, and nothing once none waits
/// (intake's backpressure reads it).
pub async fn queue_depth_reports_the_oldest_ready_run(store: Arc<dyn Store>) {
    let oldest = |d: crate::QueueDepth| (d.queued, d.oldest_ready_at);
    assert_eq!(oldest(store.queue_depth().await.expect("depth")), (0, None));
    let at = |s: i64| t0() + chrono::TimeDelta::seconds(s);
    for (key, lane, s) in [
        ("a1", "lane-a", 0),
        ("a2", "lane-a", 1),
        ("b1", "lane-b", 5),
    ] {
        let mut e = event(key, Some(s));
        e.received_at = at(s);
        store.ingest(e, vec![run("p", lane)]).await.expect("ingest");
    }
    assert_eq!(
        oldest(store.queue_depth().await.expect("depth")),
        (3, Some(at(0)))
    );
    let claimed = store.claim("n", 1, at(6)).await.expect("claim");
    assert_eq!(claimed.len(), 1, "lane-a's head");
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!(
        oldest(depth),
        (2, Some(at(5))),
        "a2 waits behind its lane's running head, not for a worker"
    );
    store.claim("n", 1, at(6)).await.expect("claim");
    assert_eq!(oldest(store.queue_depth().await.expect("depth")), (1, None));
}

/// Ingests that commit together keep a lone ingest's promises. Sixteen writers each ingest
/// 24 events in turn: one run in a lane four writers share, one in a lane of two events,
/// and every third event delivered twice at once. A worker claims and finishes runs meanwhile;
/// a writer ingests the second event of a two-event lane as soon as the worker has claimed the
/// first one's run, so the finish that empties that lane races the ingest that appends to it
/// (and often commits in its group). Every key makes one event with exactly its runs, each twin
/// answers that event, every run runs once, in its own lane, and each writer's runs in the
/// shared lane run in the order it ingested them.
pub async fn concurrent_ingests_keep_lanes_and_dedupe(store: Arc<dyn Store>) {
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    const WRITERS: usize = 16;
    const EACH: usize = 24;
    let ingesting = Arc::new(AtomicBool::new(true));
    // The worker holds the only sender: if it panics, a writer waiting on it fails too.
    let (claims, claims_seen) = tokio::sync::watch::channel(());
    let claimed_ids: Arc<Mutex<HashSet<RunId>>> = Arc::default();
    let worker = {
        let store = Arc::clone(&store);
        let ingesting = Arc::clone(&ingesting);
        let claimed_ids = Arc::clone(&claimed_ids);
        tokio::spawn(async move {
            let mut ran: Vec<(RunId, String)> = Vec::new();
            loop {
                let still = ingesting.load(Ordering::SeqCst);
                let claimed = claim_now(&*store, "n", 1).await;
                if claimed.is_empty() && !still {
                    return ran;
                }
                if claimed.is_empty() {
                    tokio::task::yield_now().await;
                }
                if let Ok(mut ids) = claimed_ids.lock() {
                    ids.extend(claimed.iter().map(|c| c.run_id));
                }
                claims.send_replace(());
                for c in claimed {
                    finish_as(&*store, &c, crate::AttemptStatus::Succeeded).await;
                    ran.push((c.run_id, c.lane));
                }
            }
        })
    };
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let mut claims = claims_seen.clone();
        let claimed_ids = Arc::clone(&claimed_ids);
        writers.spawn(async move {
            let mut mine: Vec<(crate::Ingested, [String; 2])> = Vec::new();
            for i in 0..EACH {
                if let Some((first, _)) = mine.last().filter(|_| i % 2 == 1) {
                    let run = first.run_ids[1];
                    while !claimed_ids.lock().is_ok_and(|ids| ids.contains(&run)) {
                        claims.changed().await.expect("the worker is running");
                    }
                }
                let key = format!("k{w}-{i}");
                let lanes = [format!("shared{}", w % 4), format!("pair{w}-{}", i / 2)];
                let runs = vec![run("p", &lanes[0]), run("q", &lanes[1])];
                let deliver = |runs| store.ingest(event(&key, Some(9)), runs);
                let ingested = if i % 3 == 0 {
                    let (a, b) = tokio::join!(deliver(runs.clone()), deliver(runs));
                    let (a, b) = (a.expect("ingest"), b.expect("ingest twin"));
                    assert_eq!(a.event_id, b.event_id, "{key}: twins answer one event");
                    assert!(a.duplicate != b.duplicate, "{key}: one twin is new");
                    if a.duplicate { b } else { a }
                } else {
                    deliver(runs).await.expect("ingest")
                };
                assert!(!ingested.duplicate, "{key} is new");
                assert_eq!(ingested.run_ids.len(), 2, "{key}'s runs");
                mine.push((ingested, lanes));
            }
            (w, mine)
        });
    }
    let mut lane_of: HashMap<RunId, String> = HashMap::new();
    let mut order_of: Vec<Vec<RunId>> = vec![Vec::new(); WRITERS];
    let mut events = HashSet::new();
    while let Some(done) = writers.join_next().await {
        let (w, mine) = done.expect("writer");
        for (ingested, lanes) in mine {
            assert!(events.insert(ingested.event_id), "one event per key");
            let detail = store.get_event(ingested.event_id).await.expect("get");
            let detail = detail.expect("the event is stored");
            assert_eq!(detail.runs.len(), 2, "exactly the event's runs");
            order_of[w].push(ingested.run_ids[0]);
            for (id, lane) in ingested.run_ids.into_iter().zip(lanes) {
                assert!(
                    lane_of.insert(id, lane).is_none(),
                    "run {id} answered twice"
                );
            }
        }
    }
    ingesting.store(false, Ordering::SeqCst);
    let ran = worker.await.expect("worker");
    assert_eq!(ran.len(), WRITERS * EACH * 2, "every run ran once");
    for (id, lane) in &ran {
        assert_eq!(lane_of.get(id), Some(lane), "run {id} ran in its own lane");
    }
    let position: HashMap<RunId, usize> = ran.iter().enumerate().map(|(n, r)| (r.0, n)).collect();
    assert_eq!(position.len(), ran.len(), "no run ran twice");
    for (w, order) in order_of.iter().enumerate() {
        let at: Vec<usize> = order
            .iter()
            .filter_map(|id| position.get(id).copied())
            .collect();
        assert!(
            at.windows(2).all(|p| p[0] < p[1]),
            "writer {w}'s runs in its shared lane ran out of order: {at:?}"
        );
    }
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!(depth.queued, 0, "nothing left queued");
}
