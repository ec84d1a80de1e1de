//! Database bytes per run for an auto-reply-shaped run: the stored form of a real Radist webhook
//! (the golden WABA text of connectors/radist), one queued run, one attempt with two actions and
//! two log lines, and the ledger record of its send, measured after a checkpoint; `runs show`
//! must still read it all back.
//!
//! The budget is [`BUDGET`]. What keeps a run small: an action's request and result are stored
//! once, in the ledger row, with the attempt's detail referring to it; the event payload, the
//! attempt detail and the ledger's request and result are packed with zstd against a dictionary
//! of the store's JSON shapes (host/store/src/sqlite/packing.rs); hex SHA-256s (fingerprint,
//! plugin digest) and UUID effect ids are stored as bytes; `runs_status` became `runs_done`
//! (finished runs only); since schema version 7 the dedupe key's unique index holds a 16-byte
//! digest and the row keeps the key's text only when the payload does not carry it, and the
//! names every run repeats (plugin, origin, node, event kind, action kind, attempt status; an
//! attempt's node and plugin digest) are ids of small tables.
//! Measured with this file's workload: 1,683 B per run before schema version 6 and packing
//! format 2, 1,294 B after, 1,046 B after version 7, 940 B with packing format 3 (2,961 B
//! before packing existed, with an older workload).

use std::sync::Arc;
use switchboard_store::conformance::{claim_now, run, sqlite_in};
use switchboard_store::{
    ActionRow, AttemptStatus, ClaimedRun, FinishedAttempt, LedgerBegin, LedgerIntent, LedgerResult,
    LogRow, NewEvent, Next, SqliteConfig, SqliteStore, Store,
};

const RUNS: usize = 2000;
/// Database per auto-reply run with its full history (the issue's target is 1,024 B for the
/// e2e bench's run; this workload's run is about 115 B larger): 940 B measured, 3% margin.
const BUDGET: u64 = 970;

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

/// The send the auto-reply plugin makes (WABA buttons) as the runtime records it: Radist's send
/// body with the connection id, keys in order (a `serde_json::Value`).
fn send_request(chat: i64) -> String {
    format!(
        concat!(
            r#"{{"chat_id":{chat},"connection_id":70001,"message_type":"waba_interactive","#,
            r#""mode":"async","waba_interactive":{{"action":{{"buttons":["#,
            r#"{{"reply":{{"id":"Да","title":"Да"}},"type":"reply"}},"#,
            r#"{{"reply":{{"id":"Нет","title":"Нет"}},"type":"reply"}}]}},"#,
            r#""body":"Доставка от 990 ₽. Оформить заказ?","type":"button"}}}}"#
        ),
        chat = chat
    )
}

fn send_result(i: usize) -> String {
    format!(
        r#"{{"created_at":{{"nanoseconds":118000000,"seconds":1771506424}},"message_id":"9b1e4c2a-5d6f-4a7b-8c9d-{i:012x}"}}"#
    )
}

async fn record_send(store: &Arc<dyn Store>, c: &ClaimedRun, i: usize, chat: i64) {
    let begun = store.ledger_begin(send_intent(c, i, chat)).await;
    assert_eq!(begun.expect("ledger begin"), LedgerBegin::Fresh);
    complete_send(store, c, i).await;
}

/// The intent of run `c`'s send (the `i`th run's, to `chat`).
fn send_intent(c: &ClaimedRun, i: usize, chat: i64) -> LedgerIntent {
    LedgerIntent {
        run_id: c.run_id,
        seq: 1,
        kind: "messages.send".to_owned(),
        fingerprint: format!("{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        request: send_request(chat),
        chat: Some((70001, chat)),
        at: chrono::Utc::now(),
    }
}

async fn complete_send(store: &Arc<dyn Store>, c: &ClaimedRun, i: usize) {
    let effect = format!("9b1e4c2a-5d6f-4a7b-8c9d-{i:012x}");
    let done = LedgerResult {
        run_id: c.run_id,
        seq: 1,
        result: send_result(i),
        effect_id: Some(effect),
    };
    store.ledger_complete(done).await.expect("ledger complete");
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
        plugin_digest: Some(format!("{:064x}", 7)),
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
    print_bytes_by_table(&dir.path().join("store.db"));
    assert_keys_stored_as_digests(&dir.path().join("store.db"));
    assert_eq!(stats.wal_bytes, 0, "the checkpoint truncated the WAL");
    let last = store
        .get_run(switchboard_store::RunId(i64::try_from(RUNS).unwrap_or(0)))
        .await
        .expect("get run")
        .expect("the last run is kept");
    let chat = i64::try_from(38_000_000 + RUNS - 1).unwrap_or(0);
    assert_eq!(last.attempts[0].actions, actions(RUNS - 1, chat));
    assert_eq!(last.event.event.payload, payload(RUNS - 1));
    let key = new_event(RUNS - 1).dedupe_key;
    assert_eq!(
        last.event.event.dedupe_key, key,
        "read back from the payload"
    );
    assert_duplicate(&store, RUNS - 1).await;
    assert_eq!(last.attempts[0].logs.len(), 2);
    assert_eq!(last.ledger.len(), 1, "runs show prints the ledger");
    assert!(
        per_run <= BUDGET,
        "an auto-reply run costs {per_run} B of database, over the {BUDGET} B budget"
    );
}

/// Every event's unique key is a 16-byte digest, and no row repeats the key its payload carries.
fn assert_keys_stored_as_digests(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let digests: i64 = conn
        .query_row(
            "SELECT count(*) FROM events WHERE dedupe_key IS NULL AND length(dedupe) = 16",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(digests, RUNS as i64);
}

/// Ingesting run `i`'s event again creates nothing, and the events list shows its key.
async fn assert_duplicate(store: &Arc<dyn Store>, i: usize) {
    let again = store
        .ingest(new_event(i), Vec::new())
        .await
        .expect("ingest");
    assert!(again.duplicate, "the digest of its key is known");
    let filter = switchboard_store::EventFilter {
        limit: 1,
        ..Default::default()
    };
    let listed = store.list_events(filter).await.expect("events");
    assert_eq!(listed[0].dedupe_key, new_event(i).dedupe_key);
}

/// Where the bytes go: pages and bytes of each table and index (`dbstat`), per run.
fn print_bytes_by_table(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("open for dbstat");
    let mut stmt = conn
        .prepare(
            "SELECT name, count(*), sum(pgsize), sum(payload) FROM dbstat
             GROUP BY name ORDER BY sum(pgsize) DESC",
        )
        .expect("dbstat is compiled in");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .expect("dbstat");
    eprintln!(
        "{:<36} {:>6} {:>10} {:>10} {:>8}",
        "table/index", "pages", "bytes", "payload", "B/run"
    );
    for row in rows {
        let (name, pages, bytes, payload) = row.expect("dbstat row");
        let per_run = bytes / RUNS as i64;
        eprintln!("{name:<36} {pages:>6} {bytes:>10} {payload:>10} {per_run:>8}");
    }
}

/// WAL frames (pages) in the file: its header, then a 24-byte header and a page per frame.
fn wal_frames(db: &std::path::Path, page_size: u64) -> u64 {
    let wal = db.with_file_name("store.db-wal");
    let size = std::fs::metadata(wal).map_or(0, |m| m.len());
    size.saturating_sub(32) / (page_size + 24)
}

/// The table or index each page belongs to (`dbstat`, read at the end of each phase: a page
/// freed and reused later belongs to its new owner); pages it does not list are the header
/// page, free pages and the pointer-map pages of `auto_vacuum`.
fn page_owners(db: &std::path::Path) -> std::collections::HashMap<u32, String> {
    let conn = rusqlite::Connection::open(db).expect("open for dbstat");
    let mut stmt = conn
        .prepare("SELECT pageno, name FROM dbstat")
        .expect("dbstat");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("dbstat rows");
    rows.map(|r| r.expect("dbstat row")).collect()
}

/// Which tables and indexes the WAL frames `frames` wrote, per operation, most first.
fn by_owner(
    wal: &[u8],
    page: u64,
    frames: &std::ops::Range<u64>,
    owners: &std::collections::HashMap<u32, String>,
) -> String {
    let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
    for frame in frames.clone() {
        let at = usize::try_from(32 + frame * (page + 24)).expect("a WAL offset");
        let number: [u8; 4] = wal[at..at + 4].try_into().expect("a frame header");
        let owner = owners.get(&u32::from_be_bytes(number));
        *counts
            .entry(owner.map_or("(header, free, pointer map)", String::as_str))
            .or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let per_op = |n: u64| n as f64 / OPS as f64;
    counts
        .iter()
        .map(|(name, n)| format!("{name} {:.2}", per_op(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pages each kind of write dirties, one commit each: WAL frames written over [`OPS`] calls
/// while a reader holds the snapshot from before them, so no checkpoint can let the WAL
/// restart and overwrite frames (each commit's frames are all appended).
const OPS: u64 = 200;

#[tokio::test]
async fn pages_written_per_ingest_claim_ledger_and_finish() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    // The payload word indexer commits on its own schedule; off, each commit is one operation.
    let config = SqliteConfig {
        index_words: false,
        ..SqliteConfig::new(&db)
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(config).await.expect("open"));
    for i in 0..50 {
        auto_reply_run(&store, 1_000_000 + i).await;
    }
    store.checkpoint().await.expect("checkpoint");
    let page = store.stats().await.expect("stats").page_size;
    let reader = rusqlite::Connection::open(&db).expect("reader");
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM runs;")
        .expect("hold a snapshot");
    let mut phases = Vec::new();
    let mut mark = wal_frames(&db, page);
    let mut phase = |name: &'static str, mark: &mut u64| {
        let now = wal_frames(&db, page);
        let owners = page_owners(&db);
        phases.push((name, (now - *mark) as f64 / OPS as f64, *mark..now, owners));
        *mark = now;
    };
    let mut claimed = Vec::new();
    for i in 0..OPS as usize {
        let event = new_event(i);
        let lane = format!("auto-reply/70001/{}", event.chat_id.unwrap_or(0));
        store
            .ingest(event, vec![run("auto-reply", &lane)])
            .await
            .expect("ingest");
    }
    phase("ingest (event + 1 run)", &mut mark);
    for _ in 0..OPS {
        claimed.extend(claim_now(&*store, "switchboard-1", 1).await);
    }
    phase("claim (1 run)", &mut mark);
    assert_eq!(claimed.len() as u64, OPS, "every run was claimed");
    for (i, c) in claimed.iter().enumerate() {
        let chat = c.chat_id.unwrap_or(0);
        let intent = send_intent(c, i, chat);
        store.ledger_begin(intent).await.expect("ledger begin");
    }
    phase("ledger intent", &mut mark);
    for (i, c) in claimed.iter().enumerate() {
        complete_send(&store, c, i).await;
    }
    phase("ledger result", &mut mark);
    for (i, c) in claimed.iter().enumerate() {
        let chat = c.chat_id.unwrap_or(0);
        store
            .finish(c.run_id, finished(c, i, chat), Next::Final)
            .await
            .expect("finish");
    }
    phase("finish", &mut mark);
    let wal = std::fs::read(db.with_file_name("store.db-wal")).expect("read the WAL");
    drop(reader);
    for (name, pages, frames, owners) in &phases {
        let owners = by_owner(&wal, page, frames, owners);
        eprintln!("{name:<24} {pages:>5.2} pages per commit: {owners}");
    }
    for ((name, pages, _, _), (_, bound)) in phases.iter().zip(PAGE_BOUNDS) {
        assert!(
            *pages <= bound,
            "{name} wrote {pages:.2} pages, over {bound}"
        );
    }
}

/// The most pages each phase's commit may write: an ingest (event + one run), a claim, a
/// ledger intent, a ledger result, a finish. Measured before schema version 6 and counter
/// blocks: 13.81, 10.18, 3.35, 3.60, 11.02; after: 11.78, 7.14, 2.81, 3.79, 9.02.
const PAGE_BOUNDS: [(&str, f64); 5] = [
    ("ingest", 12.5),
    ("claim", 8.0),
    ("ledger intent", 4.0),
    ("ledger result", 4.5),
    ("finish", 10.0),
];
