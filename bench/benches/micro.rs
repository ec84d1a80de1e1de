//! Micro-benchmarks of the host's per-webhook and per-run work (criterion):
//!
//! - `webhook_decode`: `radist_connector::webhook::decode` on the golden Radist bodies, and
//!   decode plus the JSON the intake stores;
//! - `event_words`: the words the word indexer reads from one stored payload (every event);
//! - `intake_transaction`: one `Store::ingest` (the event and one queued run, one SQLite
//!   transaction) on a fresh file;
//! - `per_run`: the dispatcher's work for one run of a trivial plugin with the store-backed
//!   action ledger: ingest, claim, instantiate and call (`ok`), record the attempt; then the
//!   same with one `messages.send` to the in-process Radist sandbox (ledger intent and result
//!   written around the call); and the ledger write alone (intent + result).
//!
//! `cargo bench -p switchboard-bench --bench micro` (`-- per_run` for one group).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use radist_connector::webhook::{Decoded, decode};
use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use switchboard_runtime::event::{PluginEvent, RunInfo};
use switchboard_runtime::{
    FileKvStore, HostServices, Intent, Journal, JournalKey, Plugin, RunInput, RunStatus, Runtime,
    RuntimeConfig,
};
use switchboard_store::{
    ActionRow, AttemptStatus, FinishedAttempt, NewEvent, NewRun, Next, SqliteConfig, SqliteStore,
    Store,
};
use switchboard_testing::events::manual_run;
use switchboard_testing::{StoreJournal, build_plugins, ledger_records, repo_root};

/// Golden webhook bodies of the connector's tests (connectors/radist/tests/webhooks).
const BODIES: [&str; 5] = [
    "create_inbound_waba_text",
    "create_inbound_image_caption",
    "create_outbound_echo",
    "delivery_delivered",
    "status_changed_nested",
];

fn golden(name: &str) -> Vec<u8> {
    let path = repo_root().join(format!("connectors/radist/tests/webhooks/{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn webhook_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("webhook_decode");
    for name in BODIES {
        let body = golden(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| b.iter(|| decode(black_box(&body))));
    }
    let body = golden("create_inbound_waba_text");
    group.bench_function("waba_text_decode_and_store_json", |b| {
        b.iter(|| match decode(black_box(&body)) {
            Ok(Decoded::Event(event)) => {
                serde_json::to_string(&event).map(|s| s.len()).unwrap_or(0)
            }
            _ => 0,
        })
    });
    group.finish();
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn open_store(dir: &Path) -> Arc<dyn Store> {
    let store = SqliteStore::open(SqliteConfig::new(dir.join("bench.db")))
        .await
        .expect("open the store");
    Arc::new(store)
}

/// The stored form of the golden WABA text webhook (what intake writes), about 1 KiB.
fn stored_payload() -> String {
    match decode(&golden("create_inbound_waba_text")) {
        Ok(Decoded::Event(event)) => json!({"source": "webhook", "event": event}).to_string(),
        _ => panic!("the golden body decodes"),
    }
}

fn event_words(c: &mut Criterion) {
    let payload = stored_payload();
    let mut group = c.benchmark_group("event_words");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("stored_waba_text", |b| {
        b.iter(|| switchboard_store::search::event_words(black_box(&payload)).len())
    });
    group.finish();
}

fn intake_transaction(c: &mut Criterion) {
    let rt = tokio();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = rt.block_on(open_store(dir.path()));
    let payload = stored_payload();
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("intake_transaction");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ingest_event_and_one_run", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let chat = i64::try_from(i % 5000).unwrap_or(0);
            let event = NewEvent {
                dedupe_key: format!("radist:messages.create:bench-{i}"),
                kind: "message.received".to_owned(),
                connection_id: Some(70001),
                chat_id: Some(chat),
                payload: payload.clone(),
                received_at: Utc::now(),
            };
            let run = new_run("auto-reply", format!("auto-reply/70001/{chat}"));
            let store = Arc::clone(&store);
            async move { store.ingest(event, vec![run]).await.expect("ingest") }
        })
    });
    group.finish();
}

fn new_run(plugin: &str, lane: String) -> NewRun {
    NewRun {
        plugin: plugin.to_owned(),
        lane,
        max_attempts: 5,
        origin: "webhook".to_owned(),
    }
}

/// A store, the hostile component under a manifest granting a send, and a sandbox chat.
struct RunBench {
    store: Arc<dyn Store>,
    plugin: Plugin,
    chat_id: i64,
    next: AtomicU64,
    _sandbox: SandboxHandle,
    _dirs: [tempfile::TempDir; 2],
}

async fn run_bench() -> RunBench {
    let wasm = build_plugins()
        .expect("plugins build")
        .wasm("hostile")
        .expect("hostile")
        .to_owned();
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let inbound = radist_sandbox::control::Inbound {
        connection_id: 70001,
        phone: Some("79000000777".to_owned()),
        text: Some("hi".to_owned()),
        ..Default::default()
    };
    let chat_id = sandbox
        .control()
        .inbound(&inbound)
        .await
        .expect("chat")
        .chat_id;
    let (db, kv) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let store = open_store(db.path()).await;
    let mut services = HostServices::new(Arc::new(FileKvStore::open(kv.path()).expect("kv")));
    services.journal = Arc::new(StoreJournal::deferring(store.clone()));
    services.radist = Some(radist(&sandbox));
    let text = format!(
        "manifest_version = 1\n[plugin]\nname = \"bench\"\nwasm = {wasm:?}\n[[trigger]]\non = [\"manual\"]\n[capabilities]\nmessages = {{ connections = [70001], types = [\"text\"] }}\nhttp = {{ allow = [\"http://127.0.0.1:1\"] }}\n"
    );
    let manifest = switchboard_manifest::parse_manifest("bench.toml", &text).expect("manifest");
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let plugin = runtime
        .load_plugin(&manifest, "bench.toml", &wasm, services)
        .expect("load");
    RunBench {
        store,
        plugin,
        chat_id,
        next: AtomicU64::new(0),
        _sandbox: sandbox,
        _dirs: [db, kv],
    }
}

fn radist(sandbox: &SandboxHandle) -> radist_connector::RadistClient {
    let base = reqwest::Url::parse(&sandbox.base_url()).expect("base url");
    let config = radist_connector::ClientConfig::new(
        sandbox.api_key(),
        radist_connector::models::CompanyId(sandbox.company_id()),
    )
    .with_base_url(base)
    .with_retry(radist_connector::RetryPolicy::none());
    radist_connector::RadistClient::new(config).expect("client")
}

impl RunBench {
    /// One run as the dispatcher does it: ingest, claim, run, record (with the run's last ledger
    /// records).
    async fn one(&self, mode: &Value) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let payload = json!({"source": "manual", "payload": mode.to_string()}).to_string();
        let event = NewEvent {
            dedupe_key: format!("bench:{i}"),
            kind: "manual".to_owned(),
            connection_id: None,
            chat_id: None,
            payload,
            received_at: Utc::now(),
        };
        self.store
            .ingest(event, vec![new_run("bench", format!("bench/{i}"))])
            .await
            .expect("ingest");
        let claimed = self
            .store
            .claim("bench", 1, Utc::now())
            .await
            .expect("claim")
            .pop()
            .expect("a run");
        let started = Utc::now();
        let input = RunInput {
            event: PluginEvent::Manual(mode.to_string()),
            run: RunInfo {
                run_id: claimed.run_id.to_string(),
                event_id: claimed.event_id.to_string(),
                attempt: claimed.attempt,
                is_replay: false,
            },
            dry_run: false,
        };
        let outcome = self.plugin.run(input).await;
        assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
        let attempt = FinishedAttempt {
            attempt: claimed.attempt,
            status: AttemptStatus::Succeeded,
            error: None,
            started_at: started,
            duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
            node: "bench".to_owned(),
            plugin_digest: Some("bench".to_owned()),
            actions: outcome.actions.iter().map(action_row).collect(),
            logs: Vec::new(),
        };
        let ledger = ledger_records(&outcome.ledger).expect("records");
        self.store
            .finish_recorded(claimed.run_id, attempt, Next::Final, ledger)
            .await
            .expect("finish");
    }

    /// Instantiate and call only: no store transaction (the journal is not touched by `ok`).
    async fn call_only(&self, mode: &Value) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let outcome = self.plugin.run(manual_run(mode, &i.to_string())).await;
        assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    }

    /// The ledger alone: the intent before a send and its result after, for a fresh run.
    async fn ledger(&self) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let event = NewEvent {
            dedupe_key: format!("bench:ledger:{i}"),
            kind: "manual".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: "{}".to_owned(),
            received_at: Utc::now(),
        };
        let ingested = self
            .store
            .ingest(event, vec![new_run("ledger", format!("ledger/{i}"))])
            .await
            .expect("ingest");
        let journal = StoreJournal::new(self.store.clone());
        let key = JournalKey {
            run_key: ingested.run_ids[0].to_string(),
            seq: 1,
            fingerprint: format!("fp-{i}"),
        };
        let intent = Intent {
            key: key.clone(),
            kind: "messages.send".to_owned(),
            summary: json!({"connection_id": 70001, "chat_id": self.chat_id, "text": "hello"}),
            chat: Some((70001, self.chat_id)),
            at: Utc::now(),
        };
        journal.begin(&intent).await.expect("begin");
        let result = json!({"message_id": format!("m-{i}")});
        journal
            .complete(&key, &result, Some("m"))
            .await
            .expect("complete");
    }
}

fn action_row(a: &switchboard_runtime::ActionRecord) -> ActionRow {
    ActionRow {
        seq: a.seq,
        kind: a.kind.clone(),
        request: a.request.to_string(),
        outcome: serde_json::to_string(&a.outcome).unwrap_or_default(),
        latency_us: u64::try_from(a.latency.as_micros()).unwrap_or(u64::MAX),
        replayed: a.replayed,
        decision: None,
    }
}

fn per_run(c: &mut Criterion) {
    let rt = tokio();
    let bench = rt.block_on(run_bench());
    let ok = json!({"mode": "ok"});
    let send =
        json!({"mode": "send", "connection_id": 70001, "chat_id": bench.chat_id, "text": "hello"});
    let mut group = c.benchmark_group("per_run");
    group.throughput(Throughput::Elements(1));
    group.bench_function("run_ok_only", |b| {
        b.to_async(&rt).iter(|| bench.call_only(&ok))
    });
    group.bench_function("ingest_claim_run_ok_finish", |b| {
        b.to_async(&rt).iter(|| bench.one(&ok))
    });
    group.bench_function("ingest_claim_run_send_finish", |b| {
        b.to_async(&rt).iter(|| bench.one(&send))
    });
    // Last: its runs stay queued, and `one` claims the oldest queued run.
    group.bench_function("ledger_intent_and_result", |b| {
        b.to_async(&rt).iter(|| bench.ledger())
    });
    group.finish();
}

criterion_group!(
    benches,
    webhook_decode,
    event_words,
    intake_transaction,
    per_run
);
criterion_main!(benches);
