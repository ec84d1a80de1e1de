//! Conformance: the two-phase action ledger and echo detection.

use super::fixtures::{attempt, claim_now, queue_run, t0};
use crate::{LedgerBegin, LedgerIntent, LedgerRecord, LedgerResult, RunId, Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

fn intent(run_id: RunId, seq: u32, fingerprint: &str, chat: Option<(i64, i64)>) -> LedgerIntent {
    LedgerIntent {
        run_id,
        seq,
        kind: "messages.send".to_owned(),
        fingerprint: fingerprint.to_owned(),
        request: r#"{"text":"hi"}"#.to_owned(),
        chat,
        at: t0(),
    }
}

fn result(run_id: RunId, seq: u32, result: &str, effect_id: Option<&str>) -> LedgerResult {
    LedgerResult {
        run_id,
        seq,
        result: result.to_owned(),
        effect_id: effect_id.map(str::to_owned),
    }
}

async fn a_run(store: &dyn Store, key: &str) -> RunId {
    queue_run(store, key, Some(1), key).await
}

/// Writes `intent`; a refusal fails the test.
async fn begin(store: &dyn Store, intent: LedgerIntent) -> LedgerBegin {
    store.ledger_begin(intent).await.expect("begin")
}

/// Whether a send intent marks the chat pending since `since`.
async fn pending(store: &dyn Store, connection: i64, chat: i64, since: DateTime<Utc>) -> bool {
    store
        .pending_intent_for_chat(connection, chat, since)
        .await
        .expect("pending")
}

/// Fresh, then pending, then completed; a different fingerprint is a mismatch; decisions stick.
pub async fn ledger_two_phases(store: Arc<dyn Store>) {
    let r = a_run(&*store, "ledger").await;
    assert_eq!(
        begin(&*store, intent(r, 1, "fp-1", None)).await,
        LedgerBegin::Fresh
    );
    let pending = begin(&*store, intent(r, 1, "fp-1", None)).await;
    assert_eq!(pending, LedgerBegin::Pending { intent_at: t0() });
    let mismatch = begin(&*store, intent(r, 1, "fp-other", None)).await;
    let recorded = LedgerBegin::Mismatch {
        recorded_fingerprint: "fp-1".to_owned(),
        kind: "messages.send".to_owned(),
    };
    assert_eq!(mismatch, recorded);
    store
        .ledger_complete(result(r, 1, r#"{"id":"m-9"}"#, Some("m-9")))
        .await
        .expect("complete");
    let done = begin(&*store, intent(r, 1, "fp-1", None)).await;
    let expected = LedgerBegin::Completed {
        result: r#"{"id":"m-9"}"#.to_owned(),
        effect_id: Some("m-9".to_owned()),
    };
    assert_eq!(done, expected);
    assert_eq!(
        begin(&*store, intent(r, 2, "fp-2", None)).await,
        LedgerBegin::Fresh
    );
    store
        .ledger_decide(r, 2, "delivered: found m-10 after the intent".to_owned())
        .await
        .expect("decide");
    let entries = store.ledger_for_run(r).await.expect("entries");
    assert_eq!(
        entries.iter().map(|e| e.intent.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(entries[0].effect_id.as_deref(), Some("m-9"));
    assert_eq!(
        entries[1].decision.as_deref(),
        Some("delivered: found m-10 after the intent")
    );
    assert_eq!(entries[1].result, None);
    let detail = store.get_run(r).await.expect("get").expect("run");
    assert_eq!(detail.ledger, entries, "run history carries the ledger");
    let missing = store.ledger_complete(result(r, 3, "{}", None)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let missing = store.ledger_decide(r, 3, "x".to_owned()).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let other = a_run(&*store, "ledger-2").await;
    assert_eq!(
        begin(&*store, intent(other, 1, "fp-x", None)).await,
        LedgerBegin::Fresh
    );
}

/// Our own effects are recognised by id; a send intent without a result marks its chat pending.
pub async fn echo_lookups(store: Arc<dyn Store>) {
    let r = a_run(&*store, "echo").await;
    let chat = Some((70001, 5));
    begin(&*store, intent(r, 1, "fp", chat)).await;
    let mut upload = intent(r, 2, "fp-up", Some((70001, 6)));
    upload.kind = "files.upload".to_owned();
    store.ledger_begin(upload).await.expect("begin upload");
    assert!(pending(&*store, 70001, 5, t0()).await);
    assert!(
        !pending(&*store, 70001, 6, t0()).await,
        "only messages.send counts"
    );
    assert!(!pending(&*store, 70002, 5, t0()).await, "other connection");
    let later = t0() + chrono::TimeDelta::microseconds(1);
    assert!(
        !pending(&*store, 70001, 5, later).await,
        "an intent recorded before the window does not mark the chat"
    );
    assert!(!store.is_own_effect("m-1").await.expect("own"));
    store
        .ledger_complete(result(r, 1, "{}", Some("m-1")))
        .await
        .expect("complete");
    assert!(!pending(&*store, 70001, 5, t0()).await);
    assert!(store.is_own_effect("m-1").await.expect("own"));
    assert!(!store.is_own_effect("m-2").await.expect("own"));
}

/// A record that rides with a later write: whole (intent and result), or a result onto the
/// intent `ledger_begin` recorded.
fn deferred(intent: Option<LedgerIntent>, done: LedgerResult) -> LedgerRecord {
    LedgerRecord { intent, done }
}

/// Deferred records ride with the run's next intent (`ledger_begin_after`), with its `finish`
/// (`finish_recorded`; a refused one writes only the results of recorded intents) or alone
/// (`ledger_record`); a whole record never replaces what (run, seq) already holds, and
/// `ledger_lookup` answers as `ledger_begin` would without writing.
pub async fn deferred_records_ride_with_the_next_write(store: Arc<dyn Store>) {
    queue_run(&*store, "deferred", Some(5), "deferred").await;
    let claimed = claim_now(&*store, "n", 1).await.remove(0);
    let r = claimed.run_id;
    let mut clock = intent(r, 1, "fp-clock", None);
    clock.kind = "clock.now".to_owned();
    assert_eq!(
        store.ledger_lookup(clock.clone()).await.expect("lookup"),
        LedgerBegin::Fresh
    );
    assert!(
        store.ledger_for_run(r).await.expect("entries").is_empty(),
        "a lookup writes nothing"
    );
    let clock_done = result(r, 1, r#"{"seconds":1}"#, None);
    let send = intent(r, 2, "fp-send", Some((70001, 5)));
    let begun = store
        .ledger_begin_after(
            vec![deferred(Some(clock.clone()), clock_done)],
            send.clone(),
        )
        .await
        .expect("begin after");
    assert_eq!(begun, LedgerBegin::Fresh);
    let completed = LedgerBegin::Completed {
        result: r#"{"seconds":1}"#.to_owned(),
        effect_id: None,
    };
    assert_eq!(
        store.ledger_lookup(clock.clone()).await.expect("lookup"),
        completed,
        "the earlier record was written with the intent"
    );
    assert_eq!(
        store.ledger_lookup(send.clone()).await.expect("lookup"),
        LedgerBegin::Pending { intent_at: t0() }
    );
    // A whole record for a known (run, seq) keeps the earlier one.
    let other = deferred(Some(clock.clone()), result(r, 1, r#"{"seconds":2}"#, None));
    store.ledger_record(vec![other]).await.expect("record");
    assert_eq!(store.ledger_lookup(clock).await.expect("lookup"), completed);
    // A refused finish writes only the results of recorded intents (the send happened).
    let sent = deferred(None, result(r, 2, r#"{"id":"m-7"}"#, Some("m-7")));
    let mut tag = intent(r, 3, "fp-tag", None);
    tag.kind = "tags.add".to_owned();
    let tagged = deferred(Some(tag.clone()), result(r, 3, "{}", None));
    let records = vec![sent, tagged];
    let mut stale = attempt(&claimed, crate::AttemptStatus::Succeeded);
    stale.attempt += 1;
    let refused = store
        .finish_recorded(r, stale, crate::Next::Final, records.clone())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    assert!(
        !pending(&*store, 70001, 5, t0()).await,
        "the send's result was written"
    );
    assert!(store.is_own_effect("m-7").await.expect("own"));
    let tag_seen = store.ledger_lookup(tag.clone()).await.expect("lookup");
    assert_eq!(tag_seen, LedgerBegin::Fresh, "a whole record is not");
    let attempt = attempt(&claimed, crate::AttemptStatus::Succeeded);
    store
        .finish_recorded(r, attempt, crate::Next::Final, records)
        .await
        .expect("finish");
    let entries = store.ledger_for_run(r).await.expect("entries");
    let seqs: Vec<_> = entries
        .iter()
        .map(|e| (e.intent.seq, e.result.as_deref()))
        .collect();
    let expected = [
        (1, Some(r#"{"seconds":1}"#)),
        (2, Some(r#"{"id":"m-7"}"#)),
        (3, Some("{}")),
    ];
    assert_eq!(seqs, expected);
    assert_eq!(entries[2].intent.kind, "tags.add");
    let detail = store.get_run(r).await.expect("get").expect("run");
    assert_eq!(
        detail.ledger, entries,
        "run history carries the deferred records"
    );
    let missing = deferred(None, result(r, 9, "{}", None));
    let refused = store.ledger_record(vec![missing]).await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "a result needs its intent: {refused:?}"
    );
}
