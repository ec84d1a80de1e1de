//! Database bytes per run for an auto-reply-shaped run: the stored form of a real Radist webhook
//! (the golden WABA text of connectors/radist), one queued run, one attempt with two actions and
//! two log lines, and the ledger record of its send, measured after a checkpoint; `runs show`
//! must still read it all back.
//!
//! The target is ≤ 2 KiB per run ([`BUDGET`]). Two things keep it there: an action's request and
//! result are stored once, in the ledger row, with the attempt's detail referring to it; and the
//! event payload and attempt detail are packed with zstd against a dictionary of the store's JSON
//! shapes (host/store/src/sqlite/packing.rs). Measured: 1,501 B per run (2,961 B before both).

use std::sync::Arc;
use switchboard_store::conformance::{claim_now, run, sqlite_in};
use switchboard_store::{
    ActionRow, AttemptStatus, ClaimedRun, FinishedAttempt, LedgerBegin, LedgerIntent, LogRow,
    NewEvent, Next, Store,
};

const RUNS: usize = 2000;
/// The target: 2 KiB of database per run with its full history.
const BUDGET: u64 = 2_048;

/// What intake stores for the golden `create_inbound_waba_text` webhook (its normalized form,
/// with the source type intake learned), for message `i`.
fn payload(i: usize) -> String {
    format!(
        concat!(
            r#"{{"source":"webhook","event":{{"kind":"message.received","#,
            r#""dedupe_key":"radist:messages.create:3f9a2c1e-7b4d-4e8a-9c61-{i:012x}","#,
            r#""connection_id":70001,"chat_id":{chat},"contact_id":{contact},"#,
            r#""chat":{{"name":"Ivan","phone":"79000000000","username":null,"profile_link":null}},"#,
            r#""message":{{"message_id":"3f9a2c1e-7b4d-4e8a-9c61-{i:012x}","#,
            r#""source_message_id":"wamid.HBgLNzkwMDAwMDAwMDAVAgASGBQzRUIwQjlCN0Q1QTBGQzY0QkE1MwA=","#,
            r#""chat_id":"79000000000","direction":"inbound","message_type":"text","author":null,"#,
            r#""created_at":"2026-02-19T13:07:03Z","delivered_at":null,"read_at":null,"#,
            r#""error_at":null,"error_type":null,"error_text":null,"#,
            r#""text":{{"text":"Здравствуйте! Сколько стоит доставка?"}},"reply_to":null}},"#,
            r#""delivery":null,"status":null}},"source_type":"waba"}}"#
        ),
        i = i,
        chat = 38_000_000 + i,
        contact = 32_000_000 + i,
    )
}

fn new_event(i: usize) -> NewEvent {
    NewEvent {
        dedupe_key: format!("radist:messages.create:3f9a2c1e-7b4d-4e8a-9c61-{i:012x}"),
        kind: "message.received".to_owned(),
        connection_id: Some(70001),
        chat_id: Some(i64::try_from(38_000_000 + i).unwrap_or(0)),
        payload: payload(i),
        received_at: chrono::Utc::now(),
    }
}

/// The send the auto-reply plugin makes (WABA buttons), as the runtime summarises it.
fn send_request(chat: i64) -> String {
    format!(
        concat!(
            r#"{{"chat_id":{chat},"message_type":"interactive","interactive":{{"type":"button","#,
            r#""body":{{"text":"Доставка от 990 ₽. Оформить заказ?"}},"action":{{"buttons":["#,
            r#"{{"type":"reply","reply":{{"id":"Да","title":"Да"}}}},"#,
            r#"{{"type":"reply","reply":{{"id":"Нет","title":"Нет"}}}}]}}}},"connection_id":70001}}"#
        ),
        chat = chat
    )
}

fn send_result(i: usize) -> String {
    format!(
        r#"{{"message_id":"9b1e4c2a-5d6f-4a7b-8c9d-{i:012x}","created_at":{{"seconds":1771506424,"nanoseconds":118000000}}}}"#
    )
}

async fn record_send(store: &Arc<dyn Store>, c: &ClaimedRun, i: usize, chat: i64) {
    let intent = LedgerIntent {
        run_id: c.run_id,
        seq: 1,
        kind: "messages.send".to_owned(),
        fingerprint: format!("{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        request: send_request(chat),
        chat: Some((70001, chat)),
        at: chrono::Utc::now(),
    };
    let begun = store.ledger_begin(intent).await.expect("ledger begin");
    assert_eq!(begun, LedgerBegin::Fresh);
    let effect = format!("9b1e4c2a-5d6f-4a7b-8c9d-{i:012x}");
    store
        .ledger_complete(c.run_id, 1, send_result(i), Some(effect))
        .await
        .expect("ledger complete");
}

fn actions(i: usize, chat: i64) -> Vec<ActionRow> {
    vec![
        ActionRow {
            seq: 0,
            kind: "config.get".to_owned(),
            request: r#"{"key":"rules"}"#.to_owned(),
            outcome: r#"{"found":true}"#.to_owned(),
            latency_us: 3,
            replayed: false,
            decision: None,
        },
        ActionRow {
            seq: 1,
            kind: "messages.send".to_owned(),
            request: send_request(chat),
            outcome: send_result(i),
            latency_us: 1840,
            replayed: false,
            decision: None,
        },
    ]
}

fn finished(c: &ClaimedRun, i: usize, chat: i64) -> FinishedAttempt {
    let logs = vec![
        LogRow {
            level: "debug".to_owned(),
            source: "plugin".to_owned(),
            message: format!("rule 1 matches in chat {chat}"),
        },
        LogRow {
            level: "info".to_owned(),
            source: "plugin".to_owned(),
            message: format!("replied in chat {chat} (9b1e4c2a-5d6f-4a7b-8c9d-{i:012x})"),
        },
    ];
    FinishedAttempt {
        attempt: c.attempt,
        status: AttemptStatus::Succeeded,
        error: None,
        started_at: chrono::Utc::now(),
        duration_us: 2450,
        node: "switchboard-1".to_owned(),
        plugin_digest: Some(format!("sha256:{:064x}", 7)),
        actions: actions(i, chat),
        logs,
    }
}

/// One whole auto-reply run: intake, claim, the ledgered send, finish.
async fn auto_reply_run(store: &Arc<dyn Store>, i: usize) {
    let event = new_event(i);
    let chat = event.chat_id.unwrap_or(0);
    let lane = format!("auto-reply/70001/{chat}");
    let ingested = store
        .ingest(event, vec![run("auto-reply", &lane)])
        .await
        .expect("ingest");
    let claimed = claim_now(&**store, "switchboard-1", 1).await;
    let c = claimed.first().expect("the run is claimable");
    assert_eq!(c.run_id, ingested.run_ids[0]);
    record_send(store, c, i, chat).await;
    store
        .finish(c.run_id, finished(c, i, chat), Next::Final)
        .await
        .expect("finish");
}

#[tokio::test]
async fn an_auto_reply_run_stays_within_its_size_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(sqlite_in(&dir).await);
    let before = store.stats().await.expect("stats");
    let empty = before.page_count - before.free_pages;
    for i in 0..RUNS {
        auto_reply_run(&store, i).await;
    }
    store.checkpoint().await.expect("checkpoint");
    let stats = store.stats().await.expect("stats");
    let used = (stats.page_count - stats.free_pages - empty) * stats.page_size;
    let per_run = used / RUNS as u64;
    eprintln!("auto-reply run: {per_run} B per run ({used} B for {RUNS} runs)");
    assert_eq!(stats.wal_bytes, 0, "the checkpoint truncated the WAL");
    let last = store
        .get_run(switchboard_store::RunId(i64::try_from(RUNS).unwrap_or(0)))
        .await
        .expect("get run")
        .expect("the last run is kept");
    let chat = i64::try_from(38_000_000 + RUNS - 1).unwrap_or(0);
    assert_eq!(last.attempts[0].actions, actions(RUNS - 1, chat));
    assert_eq!(last.event.payload, payload(RUNS - 1));
    assert_eq!(last.attempts[0].logs.len(), 2);
    assert_eq!(last.ledger.len(), 1, "runs show prints the ledger");
    assert!(
        per_run <= BUDGET,
        "an auto-reply run costs {per_run} B of database, over the {BUDGET} B budget"
    );
}
