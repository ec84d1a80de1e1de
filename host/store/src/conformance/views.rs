//! Conformance: the runs filters the dashboard adds (trigger kind, `until`, payload text) and
//! its read models (oldest run, connections, chat timeline).

use super::fixtures::{attempt, event, run, t0};
use super::words::filtered_ids;
use crate::{LedgerIntent, NewEvent, RunFilter, Store};
use chrono::TimeDelta;
use std::sync::Arc;

fn at(key: &str, minute: i64, kind: &str, payload: &str) -> NewEvent {
    let mut e = event(key, Some(7));
    e.received_at = t0() + TimeDelta::minutes(minute);
    e.kind = kind.to_owned();
    e.payload = payload.to_owned();
    e
}

/// Runs filter by their event's kind, by `until` (exclusive) and by words of the payload: every
/// word, whole, case-insensitive, values only; a text without words matches nothing.
pub async fn history_filters_by_kind_until_and_text(store: Arc<dyn Store>) {
    let events = [
        at(
            "t0",
            0,
            "message.received",
            r#"{"text":"Сколько стоит ДОСТАВКА в Казань?"}"#,
        ),
        at(
            "t1",
            1,
            "message.sent",
            r#"{"text":"Доставка бесплатная","n":4815162342}"#,
        ),
        at(
            "t2",
            2,
            "schedule.fired",
            r#"{"schedule":"report#0","text":"deliveries"}"#,
        ),
        at(
            "t3",
            3,
            "message.received",
            r#"{"text":"<img src=x onerror=1> доставка"}"#,
        ),
    ];
    let mut runs = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let ingested = store.ingest(e, vec![run("p", &format!("k{i}"))]).await;
        runs.push(ingested.expect("ingest").run_ids[0]);
    }
    let all = RunFilter {
        limit: 100,
        ..RunFilter::default()
    };
    let kind = RunFilter {
        kind: Some("message.received".into()),
        ..all.clone()
    };
    assert_eq!(filtered_ids(&*store, kind).await, vec![runs[3], runs[0]]);
    let until = RunFilter {
        until: Some(t0() + TimeDelta::minutes(2)),
        ..all.clone()
    };
    assert_eq!(filtered_ids(&*store, until).await, vec![runs[1], runs[0]]);
    let text = |t: &str| RunFilter {
        text: Some(t.into()),
        ..all.clone()
    };
    assert_eq!(
        filtered_ids(&*store, text("доставка")).await,
        vec![runs[3], runs[1], runs[0]]
    );
    assert_eq!(
        filtered_ids(&*store, text("ДОСТАВКА казань")).await,
        vec![runs[0]]
    );
    assert_eq!(
        filtered_ids(&*store, text("4815162342")).await,
        vec![runs[1]]
    );
    assert_eq!(filtered_ids(&*store, text("onerror")).await, vec![runs[3]]);
    assert!(
        filtered_ids(&*store, text("достав")).await.is_empty(),
        "whole words"
    );
    assert!(
        filtered_ids(&*store, text("schedule")).await.is_empty(),
        "keys are not text"
    );
    assert!(
        filtered_ids(&*store, text("?!")).await.is_empty(),
        "no words, no match"
    );
    let both = RunFilter {
        kind: Some("message.received".into()),
        until: Some(t0() + TimeDelta::minutes(3)),
        ..text("доставка")
    };
    assert_eq!(filtered_ids(&*store, both).await, vec![runs[0]]);
}

/// The oldest kept run, and each connection's newest event and newest status event.
pub async fn oldest_run_and_connections(store: Arc<dyn Store>) {
    assert_eq!(store.oldest_run().await.expect("oldest"), None);
    assert!(store.connections(10).await.expect("none").is_empty());
    let mut first = at("c0", 0, "message.received", r#"{"text":"hi"}"#);
    first.connection_id = Some(70002);
    let kept = store
        .ingest(first, vec![run("p", "a")])
        .await
        .expect("ingest");
    let status = r#"{"source":"webhook","event":{"status":"active"}}"#;
    let mut online = at("c1", 1, "connection.status-changed", status);
    online.chat_id = None;
    online.connection_id = Some(70002);
    store.ingest(online, vec![]).await.expect("ingest");
    store
        .ingest(
            at("c2", 2, "message.received", r#"{"text":"later"}"#),
            vec![],
        )
        .await
        .expect("ingest");
    store
        .ingest(
            at("c3", 3, "message.read", r#"{"text":"read"}"#),
            vec![run("p", "b")],
        )
        .await
        .expect("ingest");
    let oldest = store.oldest_run().await.expect("oldest").expect("a run");
    assert_eq!(oldest.run_id, kept.run_ids[0]);
    let found = store.connections(10).await.expect("connections");
    let summary: Vec<_> = found
        .iter()
        .map(|c| {
            let status = c.last_status.as_ref().map(|e| e.event.dedupe_key.as_str());
            (
                c.connection_id,
                c.last_event.event.dedupe_key.as_str(),
                status,
            )
        })
        .collect();
    assert_eq!(summary, [(70001, "c3", None), (70002, "c1", Some("c1"))]);
    assert_eq!(
        found[1]
            .last_status
            .as_ref()
            .map(|e| e.event.payload.as_str()),
        Some(status)
    );
    assert_eq!(store.connections(1).await.expect("one").len(), 1);
}

/// A chat's events with payloads, its runs and their ledger, newest first, bounded.
pub async fn chat_timeline_reads_a_chat_at_once(store: Arc<dyn Store>) {
    let mut runs = Vec::new();
    for i in 0..4_i64 {
        let text = format!(r#"{{"text":"message {i}"}}"#);
        let e = at(&format!("m{i}"), i, "message.received", &text);
        let ingested = store
            .ingest(e, vec![run("p", "chat")])
            .await
            .expect("ingest");
        runs.push(ingested.run_ids[0]);
    }
    let elsewhere = event("other", Some(8));
    store
        .ingest(elsewhere, vec![run("p", "x")])
        .await
        .expect("ingest");
    for (seq, run_id) in [(1, runs[3]), (2, runs[3]), (1, runs[1])] {
        let intent = LedgerIntent {
            run_id,
            seq,
            kind: "messages.send".into(),
            fingerprint: format!("f{seq}"),
            request: r#"{"text":{"text":"reply"}}"#.into(),
            chat: Some((70001, 7)),
            at: t0(),
        };
        store.ledger_begin(intent).await.expect("intent");
    }
    let timeline = store.chat_timeline(70001, 7, 3).await.expect("timeline");
    let keys: Vec<_> = timeline
        .events
        .iter()
        .map(|e| e.event.dedupe_key.as_str())
        .collect();
    assert_eq!(keys, ["m3", "m2", "m1"]);
    assert_eq!(timeline.events[0].event.payload, r#"{"text":"message 3"}"#);
    let listed: Vec<_> = timeline.runs.iter().map(|r| r.run_id).collect();
    assert_eq!(listed, [runs[3], runs[2], runs[1]]);
    let ledger: Vec<_> = timeline
        .ledger
        .iter()
        .map(|l| (l.intent.run_id, l.intent.seq))
        .collect();
    assert_eq!(ledger, [(runs[3], 1), (runs[3], 2), (runs[1], 1)]);
    let empty = store.chat_timeline(1, 1, 50).await.expect("empty");
    assert_eq!(empty, crate::ChatTimeline::default());
}

/// Failed runs of the last day are counted per connection and error in one aggregate: every
/// failed ending, errors cut to `FAILURE_ERROR_CHARS`, a run without error under its status;
/// older failures, successes and runs without a connection are left out.
pub async fn failures_are_counted_per_connection_and_error(store: Arc<dyn Store>) {
    use crate::{AttemptStatus, ConnectionFailures, Next};
    let now = chrono::Utc::now();
    let long = "x".repeat(300);
    // (connection, how it ends, error, hours ago)
    let cases: [(Option<i64>, AttemptStatus, Option<&str>, i64); 7] = [
        (Some(70001), AttemptStatus::Failed, Some("boom"), 1),
        (Some(70001), AttemptStatus::Failed, Some("boom"), 2),
        (Some(70001), AttemptStatus::Trapped, Some(&long), 3),
        (Some(70002), AttemptStatus::Denied, None, 4),
        (Some(70001), AttemptStatus::Failed, Some("boom"), 30),
        (Some(70001), AttemptStatus::Succeeded, None, 1),
        (None, AttemptStatus::Failed, Some("boom"), 1),
    ];
    for (i, (connection, ..)) in cases.iter().enumerate() {
        let mut e = event(&format!("f{i}"), Some(i as i64));
        e.connection_id = *connection;
        store
            .ingest(e, vec![run("p", &format!("f{i}"))])
            .await
            .expect("ingest");
    }
    let claimed = store.claim("node-a", 10, t0()).await.expect("claim");
    assert_eq!(claimed.len(), cases.len());
    for (c, (_, status, error, hours)) in claimed.iter().zip(cases) {
        let mut ended = attempt(c, status);
        ended.error = error.map(str::to_owned);
        ended.started_at = now - TimeDelta::hours(hours);
        store
            .finish(c.run_id, ended, Next::Final)
            .await
            .expect("finish");
    }
    let since = now - TimeDelta::hours(24);
    let found = store
        .failures_by_connection(since, 100)
        .await
        .expect("failures");
    let group = |connection_id, error: &str, runs| ConnectionFailures {
        connection_id,
        error: error.to_owned(),
        runs,
    };
    let clipped: String = long
        .chars()
        .take(crate::model::views::FAILURE_ERROR_CHARS)
        .collect();
    assert_eq!(
        found,
        vec![
            group(70001, "boom", 2),
            group(70001, &clipped, 1),
            group(70002, "denied", 1),
        ]
    );
    let later = store
        .failures_by_connection(now, 100)
        .await
        .expect("failures");
    assert!(later.is_empty(), "nothing failed after now: {later:?}");
}
