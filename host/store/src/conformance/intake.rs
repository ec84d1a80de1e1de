//! Conformance: intake (dedupe, atomicity) and quarantine.

use super::{event, newest_events, run, t0};
use crate::{EventFilter, NewQuarantine, Store};
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
    assert_eq!(detail.event.kind, "unsupported");
    assert_eq!(detail.event.chat_id, None);
    assert!(detail.runs.is_empty());
}

/// Quarantined requests are kept byte for byte, listed newest first, and deletable.
pub async fn quarantine_round_trip(store: Arc<dyn Store>) {
    let body = vec![0u8, 159, 146, 150, b'{'];
    let q = |reason: &str| NewQuarantine {
        received_at: super::t0(),
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
        (body, "invalid json", super::t0())
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
