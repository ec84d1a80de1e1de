//! The capability tests' harness: a Radist sandbox on 127.0.0.1:0 behind a request log (so a
//! test can assert that nothing reached Radist), a client pointed at it, and run contexts built
//! from a `[capabilities]` snippet exactly as `Plugin::run` builds them.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::{self, Next};
use radist_connector::models::CompanyId;
use radist_connector::{ClientConfig, RadistClient, RetryPolicy};
use radist_sandbox::{SandboxConfig, SandboxState};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::event::{PluginEvent, RunInfo, SourceType, text_received};
use crate::journal::InMemoryJournal;
use crate::run::{CallEnd, RunInput, RunStatus, status};
use crate::state::{HostServices, HostState, PluginShared, RunContext, SharedCaches};

pub(super) use crate::capabilities::wit::messages::{Content, Outgoing, TemplateMessage};
pub(super) use crate::capabilities::wit::types::Error;

pub(super) const WABA: i64 = 70001;
pub(super) const WHATSAPP: i64 = 70002;
pub(super) const TELEGRAM: i64 = 70003;
pub(super) const TELEGRAM_BOT: i64 = 70004;

/// A sandbox, the `/v2` requests it received, and what every run of the test shares.
pub(super) struct Harness {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
    /// Woken whenever a `/v2` request arrives (before the sandbox's faults apply).
    arrived: Arc<Notify>,
    pub(super) client: RadistClient,
    control: reqwest::Client,
    journal: Arc<InMemoryJournal>,
    pub(super) caches: SharedCaches,
    kv_dir: tempfile::TempDir,
    server: JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    /// Serves the sandbox's router (default seed) on loopback, logging every `/v2` request.
    pub(super) async fn start() -> Harness {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (log, ping) = (Arc::clone(&requests), Arc::clone(&arrived));
        let record = move |req: Request, next: Next| {
            let (log, ping) = (Arc::clone(&log), Arc::clone(&ping));
            async move {
                if req.uri().path().starts_with("/v2/") {
                    let line = format!("{} {}", req.method(), req.uri().path());
                    log.lock().expect("request log").push(line);
                    ping.notify_waiters();
                }
                next.run(req).await
            }
        };
        let config = SandboxConfig::default();
        let key = config.seed.api_key.clone();
        let app =
            radist_sandbox::router(SandboxState::new(config)).layer(middleware::from_fn(record));
        let (base, server) = serve(app).await;
        let url = url::Url::parse(&format!("{base}/v2")).expect("base url");
        let client_config = ClientConfig::new(key, CompanyId(1))
            .with_base_url(url)
            .with_retry(RetryPolicy::none());
        let kv_dir = tempfile::tempdir().expect("tempdir");
        Harness {
            base,
            requests,
            arrived,
            client: RadistClient::new(client_config).expect("client"),
            control: reqwest::Client::new(),
            journal: Arc::new(InMemoryJournal::default()),
            caches: SharedCaches::new(std::time::Duration::from_secs(30)),
            kv_dir,
            server,
        }
    }

    /// A plugin granted `capabilities`, talking to this sandbox, journaling to the shared journal.
    pub(super) fn plugin(&self, capabilities: &str) -> Arc<PluginShared> {
        plugin_with(capabilities, self.services())
    }

    /// Services talking to this sandbox, journaling to the shared journal, no upload cache.
    pub(super) fn services(&self) -> HostServices {
        let kv = crate::FileKvStore::open(self.kv_dir.path()).expect("kv");
        let mut services = HostServices::new(Arc::new(kv));
        services.radist = Some(self.client.clone());
        services.journal = self.journal.clone();
        services
    }

    /// The journal every plugin of this harness shares.
    pub(super) fn journal(&self) -> &InMemoryJournal {
        &self.journal
    }

    /// The Radist client pointed at this sandbox (for sends a test makes itself).
    pub(super) fn client(&self) -> &RadistClient {
        &self.client
    }

    /// `POST /_sandbox/faults` with `faults`.
    pub(super) async fn faults(&self, faults: Value) {
        self.control_post("faults", &faults).await;
    }

    /// `POST /_sandbox/{path}` with `body`, which must succeed.
    async fn control_post(&self, path: &str, body: &Value) -> reqwest::Response {
        let url = format!("{}/_sandbox/{path}", self.base);
        let sent = self.control.post(url).json(body).send().await;
        let resp = sent.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp
    }

    /// The store data of the manual run `r1` of a plugin granted `capabilities`.
    pub(super) fn manual_run(&self, capabilities: &str) -> HostState {
        self.run(&self.plugin(capabilities), "r1", manual(), false)
    }

    /// The store data of one run of `plugin` (run id `run_id`) for `event`.
    pub(super) fn run(
        &self,
        plugin: &Arc<PluginShared>,
        run_id: &str,
        event: PluginEvent,
        dry_run: bool,
    ) -> HostState {
        run_state(plugin, run_id, event, dry_run, self.caches.clone())
    }

    /// Every `/v2` request so far, as `METHOD /path`.
    pub(super) fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// Waits until a `/v2` request whose `METHOD /path` ends with `suffix` has arrived.
    pub(super) async fn arrival(&self, suffix: &str) {
        loop {
            let notified = self.arrived.notified();
            if self.requests().iter().any(|r| r.ends_with(suffix)) {
                return;
            }
            notified.await;
        }
    }

    /// Forgets the requests so far (after test setup).
    pub(super) fn clear_requests(&self) {
        self.requests.lock().expect("request log").clear();
    }

    /// `POST /_sandbox/inbound` → `{chat_id, contact_id, message_id, ..}`.
    pub(super) async fn inbound(&self, body: Value) -> Value {
        let resp = self.control_post("inbound", &body).await;
        resp.json().await.expect("inbound json")
    }

    /// `(chat, contact)` of a new inbound message from `phone` on `connection` saying `text`.
    pub(super) async fn inbound_chat(
        &self,
        connection: i64,
        phone: &str,
        text: &str,
    ) -> (i64, i64) {
        let out = self
            .inbound(json!({"connection_id": connection, "phone": phone, "text": text}))
            .await;
        let id = |key: &str| out[key].as_i64().expect("id");
        (id("chat_id"), id("contact_id"))
    }

    /// An inbound text on `connection` from `who` (`{"phone": ..}` or `{"username": ..}`),
    /// `hours_ago` hours ago; returns the chat id.
    pub(super) async fn chat_with(&self, connection: i64, who: Value, hours_ago: i64) -> i64 {
        let at = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
        let mut body =
            json!({"connection_id": connection, "text": "hello", "created_at": at.to_rfc3339()});
        if let (Some(body), Some(who)) = (body.as_object_mut(), who.as_object()) {
            body.extend(who.clone());
        }
        let out = self.inbound(body).await;
        out["chat_id"].as_i64().expect("chat_id")
    }

    /// `GET /_sandbox/sent?chat_id=`: the sends the sandbox accepted for `chat`.
    pub(super) async fn sent(&self, chat: i64) -> Vec<Value> {
        let url = format!("{}/_sandbox/sent?chat_id={chat}", self.base);
        let resp = self.control.get(url).send().await.expect("sent");
        resp.json().await.expect("sent json")
    }

    /// `GET` an absolute URL (e.g. an uploaded file's) → (status, body).
    pub(super) async fn get(&self, url: &str) -> (u16, Vec<u8>) {
        let resp = self.control.get(url).send().await.expect("get");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.expect("body").to_vec())
    }
}

/// A plugin named `crm-sync` granted `capabilities`, with `services`.
pub(super) fn plugin_with(capabilities: &str, services: HostServices) -> Arc<PluginShared> {
    let manifest = crate::test_support::manifest(capabilities);
    let http = manifest.capabilities.http.as_ref().map(|grant| {
        crate::capabilities::plugin_client(Some(grant), crate::capabilities::system_lookup())
            .expect("http client")
    });
    // One key for the whole test process, so two plugins sharing a journal fingerprint alike.
    let digest = crate::digest::DigestKey::process();
    let file = "manifests/crm-sync.toml";
    Arc::new(PluginShared::new(&manifest, file, services, http, digest))
}

/// The store data of one run, built as `Plugin::run` builds it.
pub(super) fn run_state(
    plugin: &Arc<PluginShared>,
    run_id: &str,
    event: PluginEvent,
    dry_run: bool,
    caches: SharedCaches,
) -> HostState {
    let input = RunInput {
        event,
        run: RunInfo {
            run_id: run_id.to_owned(),
            event_id: format!("ev-{run_id}"),
            attempt: 1,
            is_replay: false,
        },
        dry_run,
    };
    HostState::new(RunContext::new(Arc::clone(plugin), &input, caches), 16)
}

/// The status a run that returned `ok` would end with, given its refusals so far.
pub(super) fn status_of(state: &HostState) -> RunStatus {
    status(
        CallEnd::Returned(Ok(())),
        state.ctx.denied.clone(),
        &state.ctx.plugin.redactor,
    )
}

/// An event that vouches for no chat.
pub(super) fn manual() -> PluginEvent {
    PluginEvent::Manual("{}".to_owned())
}

/// `message.received` in `chat` on `connection`, from a chat of `source`.
pub(super) fn received(connection: i64, chat: i64, source: Option<SourceType>) -> PluginEvent {
    let mut event = text_received(connection, chat, source, "hello");
    event.message.message_id = "00000000-0000-4000-8000-000000000001".to_owned();
    PluginEvent::MessageReceived(event)
}

/// A text message.
pub(super) fn text(connection: i64, chat: i64, body: &str) -> Outgoing {
    outgoing(connection, chat, Content::Text(body.to_owned()))
}

/// A message with `content` and no inline buttons.
pub(super) fn outgoing(connection: i64, chat: i64, content: Content) -> Outgoing {
    Outgoing {
        connection_id: connection,
        chat_id: chat,
        content,
        inline_buttons: Vec::new(),
    }
}

/// The seeded `order_ready` (ru) template with its two body parameters.
pub(super) fn order_ready(connection: i64, chat: i64) -> Outgoing {
    let template = TemplateMessage {
        name: "order_ready".to_owned(),
        locale: "ru".to_owned(),
        header_params: Vec::new(),
        body_params: vec!["A-17".to_owned(), "20:00".to_owned()],
        button_params: Vec::new(),
    };
    outgoing(connection, chat, Content::WabaTemplate(template))
}

/// Unwraps a host call that must not trap.
pub(super) fn no_trap<T>(result: wasmtime::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(trap) => panic!("host call trapped: {trap:#}"),
    }
}

/// Asserts the call was `denied` with a message mentioning `needle` (the missing grant's key).
pub(super) fn denied(result: Result<impl std::fmt::Debug, Error>, needle: &str) {
    match result {
        Err(Error::Denied(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected denied mentioning {needle}, got {other:?}"),
    }
}

/// Serves `app` on a free loopback port: its `http://host:port` origin and the server's task.
pub(super) async fn serve(app: axum::Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, task)
}
