//! Conformance: listing and reading runs and events.

use super::fixtures::{event, finish_as, newest_events, run, t0};
use crate::{AttemptStatus, EventFilter, EventId, RunFilter, RunId, RunStatus, Store};
use chrono::TimeDelta;
use std::sync::Arc;

async fn list(store: &dyn Store, filter: RunFilter) -> Vec<RunId> {
    store
        .list_runs(filter)
        .await
        .expect("list")
        .iter()
        .map(|r| r.run_id)
        .collect()
}

/// Runs are listed newest first and filtered by plugin, status, chat, time and page.
pub async fn history_filters(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..6_i64 {
        let mut e = event(&format!("h{i}"), Some(i % 2));
        e.received_at = t0() + TimeDelta::minutes(i);
        let plugin = if i < 3 { "alpha" } else { "beta" };
        ids.push(
            store
                .ingest(e, vec![run(plugin, &format!("l{i}"))])
                .await
                .expect("ingest")
                .run_ids[0],
        );
    }
    let claimed = store.claim("node-a", 1, t0()).await.expect("claim");
    finish_as(&*store, &claimed[0], AttemptStatus::Failed).await;
    let all = RunFilter {
        limit: 100,
        ..RunFilter::default()
    };
    let newest_first: Vec<RunId> = ids.iter().rev().copied().collect();
    assert_eq!(list(&*store, all.clone()).await, newest_first);
    let alpha = RunFilter {
        plugin: Some("alpha".into()),
        ..all.clone()
    };
    assert_eq!(list(&*store, alpha).await, vec![ids[2], ids[1], ids[0]]);
    let failed = RunFilter {
        status: Some(RunStatus::Failed),
        ..all.clone()
    };
    assert_eq!(list(&*store, failed).await, vec![ids[0]]);
    let chat = RunFilter {
        chat: Some((70001, 1)),
        ..all.clone()
    };
    assert_eq!(list(&*store, chat).await, vec![ids[5], ids[3], ids[1]]);
    let since = RunFilter {
        since: Some(t0() + TimeDelta::minutes(4)),
        ..all.clone()
    };
    assert_eq!(list(&*store, since).await, vec![ids[5], ids[4]]);
    let page = RunFilter {
        limit: 2,
        before: Some(ids[4]),
        ..all.clone()
    };
    assert_eq!(list(&*store, page).await, vec![ids[3], ids[2]]);
    assert!(
        list(&*store, RunFilter { limit: 0, ..all })
            .await
            .is_empty()
    );
    let detail = store.get_run(ids[0]).await.expect("get").expect("run");
    assert_eq!(
        (detail.run.status, detail.event.event.dedupe_key.as_str()),
        (RunStatus::Failed, "h0")
    );
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(store.get_run(RunId(i64::MAX)).await.expect("get"), None);
    events_filters(&*store).await;
}

async fn events_filters(store: &dyn Store) {
    let all = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    let events = store.list_events(all.clone()).await.expect("events");
    assert_eq!(events.len(), 6);
    assert!(events.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(events[5].received_at, t0(), "times round-trip");
    let chat = store
        .list_events(EventFilter {
            chat: Some((70001, 0)),
            ..all.clone()
        })
        .await
        .expect("chat");
    assert_eq!(chat.len(), 3);
    let none = store
        .list_events(EventFilter {
            kind: Some("message.sent".into()),
            ..all.clone()
        })
        .await;
    assert!(none.expect("kind").is_empty());
    let since = EventFilter {
        since: Some(t0() + TimeDelta::minutes(5)),
        ..all.clone()
    };
    assert_eq!(store.list_events(since).await.expect("since").len(), 1);
    let page = EventFilter {
        before: Some(events[0].id),
        limit: 1,
        ..all
    };
    assert_eq!(
        store.list_events(page).await.expect("page")[0].id,
        events[1].id
    );
    let detail = store
        .get_event(events[0].id)
        .await
        .expect("get")
        .expect("event");
    assert_eq!(detail.runs.len(), 1);
    assert_eq!(detail.runs[0].plugin, "beta");
    assert_eq!(store.get_event(EventId(i64::MAX)).await.expect("get"), None);
}

/// Lists stop at [`MAX_PAGE`](crate::MAX_PAGE) rows whatever limit is asked for, and listed
/// events carry no payload (their detail does).
pub async fn lists_are_capped_and_carry_no_payloads(store: Arc<dyn Store>) {
    let big = "x".repeat(64 * 1024);
    for i in 0..=crate::MAX_PAGE {
        let mut event = event(&format!("cap-{i}"), Some(1));
        event.payload = format!(r#"{{"i":{i},"pad":"{big}"}}"#);
        store
            .ingest(event, vec![run("p", &format!("lane-{i}"))])
            .await
            .expect("ingest");
    }
    let events = newest_events(&*store, 10_000).await;
    assert_eq!(events.len(), crate::MAX_PAGE, "cut to the largest page");
    let listed = serde_json::to_string(&events).expect("json");
    assert!(!listed.contains("pad"), "a listed event has no payload");
    assert!(
        listed.len() < 200 * crate::MAX_PAGE,
        "{} bytes",
        listed.len()
    );
    let runs = store
        .list_runs(RunFilter {
            limit: 10_000,
            ..RunFilter::default()
        })
        .await
        .expect("runs");
    assert_eq!(runs.len(), crate::MAX_PAGE);
    let detail = store.get_event(events[0].id).await.expect("get");
    let detail = detail.expect("listed event exists");
    assert!(
        detail.event.event.payload.contains(&big),
        "the detail keeps it"
    );
}
