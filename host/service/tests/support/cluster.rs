//! Several real `switchboard serve` nodes on one PostgreSQL database, for the multi-node tests.
//!
//! A [`Cluster`] holds a fresh database on the test process's throwaway PostgreSQL server
//! (`switchboard_store::pg_test_server`), the Radist sandbox in this process (its sent log is the
//! customer's phone; it outlives every node), a round-robin load balancer on loopback where the
//! sandbox posts its webhooks, and the nodes: each its own node id, port and data directory, all
//! in remote mode against the sandbox. The nodes share one compiled-component cache (so they start
//! without compiling) and so one installation key (`<cache_dir>.key`). Nodes on separate machines
//! each point `runtime.key_file` at a copy of one key: the action ledger's request fingerprints
//! are keyed with it, and a node with another key refuses to join (tests/nodes.rs). The
//! balancer fails over to the next node when one does not answer, as a balancer with health
//! checks does, and remembers which node accepted each webhook.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use radist_sandbox::control::{Inbound, InboundReceipt, SentMessage};
use radist_sandbox::{
    DeliveryRecord, DeliveryState, Faults, Sandbox, SandboxConfig, SandboxHandle,
};
use serde_json::Value;
use switchboard_store::pg_test_server;

use super::{Service, Workdir};

/// The Radist connection every customer of these tests writes to (a non-WABA seed connection).
pub const CONNECTION: i64 = 70002;
const WEBHOOK_TOKEN: &str = "multinode-test-webhook-token";
/// Runs and events per page of the admin API (its maximum).
const PAGE: usize = switchboard_store::MAX_PAGE;

/// One cluster at a time in a test process: the nodes of concurrent tests would share two cores
/// and starve each other's heartbeats.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What to start.
pub struct ClusterSpec {
    pub nodes: usize,
    /// `(file name, text)` of every manifest, written to the shared manifests directory.
    pub manifests: Vec<(String, String)>,
    /// Extra `[server]` lines for every node (e.g. `lease_s = 2`).
    pub server_extra: String,
}

/// A running cluster; dropping it kills the nodes and stops the sandbox.
pub struct Cluster {
    rt: tokio::runtime::Runtime,
    sandbox: Option<SandboxHandle>,
    balancer: Arc<Balancer>,
    database: String,
    nodes: Vec<Node>,
    shared: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// One node: its id, scratch directory and process (none once killed or stopped).
pub struct Node {
    pub id: String,
    work: Workdir,
    service: Option<Service>,
}

/// The webhook balancer's state.
struct Balancer {
    /// `http://127.0.0.1:PORT` of each node, in node order.
    targets: Mutex<Vec<String>>,
    next: AtomicUsize,
    /// Which node (index) accepted which body, in order.
    accepted: Mutex<Vec<(usize, Bytes)>>,
    http: reqwest::Client,
}

impl Cluster {
    /// Starts PostgreSQL (a fresh database), the sandbox, the balancer and `spec.nodes` nodes
    /// (`node-0`, `node-1`, ...), and points the sandbox's webhooks at the balancer.
    pub fn start(spec: ClusterSpec) -> Cluster {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let rt = tokio::runtime::Runtime::new().expect("tokio");
        let database = fresh_database(&rt);
        let sandbox = rt
            .block_on(Sandbox::start(sandbox_config()))
            .expect("sandbox");
        let balancer = Arc::new(Balancer::new());
        let public = start_balancer(&rt, &balancer);
        let shared = tempfile::tempdir().expect("temp dir");
        write_manifests(&shared.path().join("manifests"), &spec.manifests);
        let mut cluster = Cluster {
            rt,
            sandbox: Some(sandbox),
            balancer,
            database,
            nodes: Vec::new(),
            shared,
            _turn: turn,
        };
        cluster.nodes = (0..spec.nodes)
            .map(|i| cluster.node(format!("node-{i}"), &spec.server_extra))
            .collect();
        cluster.sync_webhooks(&public);
        cluster.start_nodes();
        cluster
    }

    /// The node ids, in node order.
    pub fn node_ids(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.id.clone()).collect()
    }

    /// A customer writes `text` from `phone` to [`CONNECTION`]; the sandbox emits the webhook.
    pub fn write(&self, phone: &str, text: &str) -> InboundReceipt {
        let inbound = Inbound {
            connection_id: CONNECTION,
            phone: Some(phone.to_owned()),
            text: Some(text.to_owned()),
            ..Inbound::default()
        };
        let control = self.sandbox().control();
        self.rt
            .block_on(control.inbound(&inbound))
            .expect("inbound")
    }

    /// Replaces the sandbox's faults (`faults` is the JSON of `POST /_sandbox/faults`).
    pub fn set_faults(&self, faults: Value) {
        let faults: Faults = serde_json::from_value(faults).expect("faults json");
        let control = self.sandbox().control();
        self.rt
            .block_on(control.set_faults(&faults))
            .expect("set faults");
    }

    /// What the customers received (the sandbox's sent log, oldest first).
    pub fn sent(&self) -> Vec<SentMessage> {
        let control = self.sandbox().control();
        self.rt.block_on(control.sent(None)).expect("sent")
    }

    /// The sandbox's webhook deliveries of `event_type`.
    pub fn deliveries(&self, event_type: &str) -> Vec<DeliveryRecord> {
        let control = self.sandbox().control();
        self.rt
            .block_on(control.webhook_deliveries(Some(event_type)))
            .expect("deliveries")
    }

    /// Webhook deliveries the sandbox still has to make (queued or retrying).
    pub fn pending_deliveries(&self) -> usize {
        let control = self.sandbox().control();
        let all = self
            .rt
            .block_on(control.webhook_deliveries(None))
            .expect("deliveries");
        all.iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .count()
    }

    /// Every webhook body a node accepted, with that node's id, in order.
    pub fn accepted(&self) -> Vec<(String, Value)> {
        let accepted = lock(&self.balancer.accepted).clone();
        accepted
            .into_iter()
            .map(|(i, body)| {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                (self.nodes[i].id.clone(), body)
            })
            .collect()
    }

    /// `GET /api/<path>` on the first live node (they share the database).
    pub fn api(&self, path: &str) -> Value {
        let service = self.live().next().expect("a live node");
        let (status, value) = service.get_json(&format!("{}{path}", service.api));
        assert_eq!(status, 200, "GET /api/{path}: {value}");
        value
    }

    /// Every run (newest first).
    pub fn runs(&self) -> Vec<Value> {
        self.pages("runs?", "run_id")
    }

    /// Every stored event of `kind`.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.pages(&format!("events?kind={kind}&"), "id")
    }

    /// Every page of a list (newest first), following `before` with the last row's `id_key`.
    fn pages(&self, query: &str, id_key: &str) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        loop {
            let before = all
                .last()
                .map(|row| format!("&before={}", row[id_key]))
                .unwrap_or_default();
            let page = list(self.api(&format!("{query}limit={PAGE}{before}")));
            let full = page.len() == PAGE;
            all.extend(page);
            if !full {
                return all;
            }
        }
    }

    /// One run with its attempts.
    pub fn run(&self, id: i64) -> Value {
        self.api(&format!("runs/{id}"))
    }

    /// Waits until at least `expected` runs exist, none is unfinished and the sandbox has no
    /// webhook left to deliver; returns the runs.
    pub fn settle(&self, expected: usize, bound: Duration) -> Vec<Value> {
        wait_for(bound, || {
            let runs = self.runs();
            let pending = self.pending_deliveries();
            let open: Vec<String> = runs
                .iter()
                .filter(|r| is_unfinished(r))
                .map(|r| format!("{} {} on {}", r["run_id"], r["status"], r["node"]))
                .collect();
            if runs.len() >= expected && open.is_empty() && pending == 0 {
                return Ok(runs);
            }
            let open = &open[..open.len().min(10)];
            Err(format!(
                "{} of {expected} runs, unfinished (first 10) {open:?}, {pending} webhooks pending",
                runs.len()
            ))
        })
    }

    /// `switchboard <args> --json` with node 0's config (works with every node stopped).
    pub fn cli_json(&self, args: &[&str]) -> Value {
        super::json_of(args, &self.cli(&self.nodes[0], args))
    }

    /// SIGKILL node `i`: no shutdown of any kind, and it is not restarted.
    pub fn kill(&mut self, i: usize) {
        if let Some(service) = self.nodes[i].service.take() {
            service.kill();
        }
    }

    /// SIGTERM every node at once, and waits for each to exit cleanly.
    pub fn stop_all(&mut self) {
        let services: Vec<Service> = self
            .nodes
            .iter_mut()
            .filter_map(|n| n.service.take())
            .collect();
        std::thread::scope(|scope| {
            for service in services {
                scope.spawn(move || {
                    let (status, stderr) = service.terminate();
                    assert!(status.success(), "a node failed to stop: {stderr:?}");
                });
            }
        });
    }

    fn sandbox(&self) -> &SandboxHandle {
        self.sandbox.as_ref().expect("sandbox running")
    }

    fn live(&self) -> impl Iterator<Item = &Service> {
        self.nodes.iter().filter_map(|n| n.service.as_ref())
    }

    /// A node's scratch directory and config.
    fn node(&self, id: String, server_extra: &str) -> Node {
        let work = Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let config = format!(
            "config_version = 1\n[server]\nnode_id = \"{id}\"\n{server_extra}\n\
             [webhook]\ntoken = {{ env = \"SB_WEBHOOK_TOKEN\" }}\n\
             [radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_RADIST_KEY\" }}\ncompany_id = 1\nmax_retries = 0\n\
             [plugins]\nmanifests = {:?}\n[runtime]\ncache_dir = {:?}\n\
             [store]\npath = \"data/switchboard.db\"\nurl = {{ env = \"SB_DATABASE_URL\" }}\n",
            self.sandbox().base_url(),
            self.shared.path().join("manifests"),
            self.shared.path().join("cache"),
        );
        std::fs::write(work.path("switchboard.toml"), config).expect("write config");
        Node {
            id,
            work,
            service: None,
        }
    }

    fn env(&self) -> [(&'static str, String); 3] {
        [
            ("SB_WEBHOOK_TOKEN", WEBHOOK_TOKEN.to_owned()),
            ("SB_RADIST_KEY", self.sandbox().api_key().to_owned()),
            ("SB_DATABASE_URL", self.database.clone()),
        ]
    }

    fn cli(&self, node: &Node, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .arg("--config")
            .arg(node.work.path("switchboard.toml"))
            .args(args)
            .env_remove("SWITCHBOARD_CONFIG")
            .env("RUST_LOG", "warn")
            .envs(self.env());
        command.output().expect("switchboard runs")
    }

    /// Registers the balancer's webhook URL with the sandbox.
    fn sync_webhooks(&self, public: &str) {
        let args = ["radist", "webhooks", "sync", "--public-url", public];
        let out = self.cli(&self.nodes[0], &args);
        assert!(
            out.status.success(),
            "webhooks sync failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts every node at once (they race to migrate the fresh database) and hands their
    /// addresses to the balancer.
    fn start_nodes(&mut self) {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (args, env) = (&["--listen", "127.0.0.1:0"], &env);
        let services: Vec<Service> = std::thread::scope(|scope| {
            let started: Vec<_> = self
                .nodes
                .iter()
                .map(|n| &n.work)
                .map(|work| scope.spawn(move || work.serve_with(args, env)))
                .collect();
            started
                .into_iter()
                .map(|h| h.join().expect("node started"))
                .collect()
        });
        let targets = services.iter().map(|s| origin(&s.webhook)).collect();
        *lock(&self.balancer.targets) = targets;
        for (node, service) in self.nodes.iter_mut().zip(services) {
            node.service = Some(service);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(service) = node.service.take() {
                service.kill();
            }
        }
        if let Some(sandbox) = self.sandbox.take() {
            let _ = self.rt.block_on(sandbox.shutdown());
        }
    }
}

impl Balancer {
    fn new() -> Balancer {
        Balancer {
            targets: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            accepted: Mutex::new(Vec::new()),
            http: reqwest::Client::new(),
        }
    }

    /// Posts `body` to the node at `target`; its status and answer, or `None` when it did not
    /// answer.
    async fn post(
        &self,
        target: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Option<(u16, Bytes)> {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = self.http.post(format!("{target}{path}")).body(body.clone());
        if let Some(kind) = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            request = request.header("content-type", kind);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.bytes().await.ok()?))
    }
}

/// The balancer's one handler: the next node in turn, then the others until one answers.
async fn forward(
    State(balancer): State<Arc<Balancer>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let targets = lock(&balancer.targets).clone();
    let first = balancer.next.fetch_add(1, Ordering::Relaxed);
    for k in 0..targets.len() {
        let i = (first + k) % targets.len();
        let Some((status, answer)) = balancer.post(&targets[i], &uri, &headers, &body).await else {
            continue;
        };
        if (200..300).contains(&status) {
            lock(&balancer.accepted).push((i, body.clone()));
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        return (status, answer).into_response();
    }
    (StatusCode::BAD_GATEWAY, "no node answered").into_response()
}

/// Serves the balancer on a free loopback port; returns its origin.
fn start_balancer(rt: &tokio::runtime::Runtime, balancer: &Arc<Balancer>) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind balancer");
    let addr = listener.local_addr().expect("balancer address");
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::clone(balancer));
    rt.spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A fresh database on the process's PostgreSQL server; fails the test with the reason when
/// PostgreSQL cannot start.
fn fresh_database(rt: &tokio::runtime::Runtime) -> String {
    let server = pg_test_server::shared()
        .unwrap_or_else(|e| panic!("the multi-node tests need PostgreSQL: {e}"));
    rt.block_on(server.fresh_database())
        .unwrap_or_else(|e| panic!("the multi-node tests need PostgreSQL: {e}"))
}

/// Webhooks retried quickly and often enough to outlast a killed node.
fn sandbox_config() -> SandboxConfig {
    let mut config = SandboxConfig::default();
    config.webhook_retry.attempts = 20;
    config.webhook_retry.base_delay = Duration::from_millis(100);
    config
}

fn write_manifests(dir: &Path, manifests: &[(String, String)]) {
    std::fs::create_dir_all(dir).expect("manifests dir");
    for (name, text) in manifests {
        std::fs::write(dir.join(name), text).expect("write manifest");
    }
}

/// `http://127.0.0.1:PORT` of a webhook URL.
fn origin(webhook: &str) -> String {
    let at = webhook.find("/hooks/").expect("webhook URL");
    webhook[..at].to_owned()
}

fn list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a list, got {other}"),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a run is queued, running or waiting to be retried.
pub fn is_unfinished(run: &Value) -> bool {
    matches!(
        run["status"].as_str(),
        Some("queued" | "running" | "retrying")
    )
}

/// Polls `probe` until it returns `Ok`, within `bound` (a bound on a condition the test waits
/// for, never a timing assertion); on timeout, fails with the last state `probe` described.
pub fn wait_for<T>(bound: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        match probe() {
            Ok(found) => return found,
            Err(state) => assert!(
                Instant::now() < deadline,
                "not reached within {bound:?}: {state}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `.wasm` of a plugin crate of this repository, built from source.
pub fn plugin_wasm(name: &str) -> PathBuf {
    let built = switchboard_testing::build_plugins().unwrap_or_else(|e| panic!("{e}"));
    built
        .wasm(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_path_buf()
}
