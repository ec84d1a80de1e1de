//! Shared test harness: a sandbox on 127.0.0.1:0, a JSON HTTP client for the API, the typed
//! control client, a local webhook receiver, and polling with a deadline (never plain sleeps
//! as synchronisation).
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use radist_sandbox::control::{Inbound, SandboxControl};
use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

/// A running sandbox and a client for it.
pub struct Env {
    pub sb: SandboxHandle,
    pub http: reqwest::Client,
}

/// A quick config: fast receipts and webhook retries.
pub fn fast_config() -> SandboxConfig {
    let mut config = SandboxConfig::default();
    config.webhook_retry.base_delay = Duration::from_millis(20);
    config
}

impl Env {
    pub async fn start() -> Self {
        Self::with(fast_config()).await
    }

    pub async fn with(config: SandboxConfig) -> Self {
        let sb = Sandbox::start(config).await.expect("sandbox starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { sb, http }
    }

    /// `http://.../v2/companies/1{path}`.
    pub fn company_url(&self, path: &str) -> String {
        format!(
            "{}/companies/{}{path}",
            self.sb.base_url(),
            self.sb.company_id()
        )
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req
            .header("X-Api-Key", self.sb.api_key())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// GET a company path with the key.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.company_url(path))).await
    }

    /// POST JSON to a company path with the key.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.company_url(path)).json(&body))
            .await
    }

    /// POST a multipart form to the file upload endpoint with the key.
    pub async fn upload(&self, form: reqwest::multipart::Form) -> (u16, Value) {
        let url = self.company_url("/messaging/files/");
        self.send(self.http.post(url).multipart(form)).await
    }

    /// PATCH JSON to a company path with the key.
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.patch(self.company_url(path)).json(&body))
            .await
    }

    /// PUT JSON to a company path with the key.
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(self.company_url(path)).json(&body))
            .await
    }

    /// DELETE a company path with the key (an empty answer reads as `""`).
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(self.company_url(path))).await
    }

    /// Sends `req` as built (no key added): the raw answer, for its status and headers.
    pub async fn raw(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        req.send().await.expect("request")
    }

    /// GET an absolute URL with the key.
    pub async fn get_url(&self, url: &str) -> (u16, Value) {
        self.send(self.http.get(url)).await
    }

    /// The typed client of the control endpoints.
    pub fn ctl(&self) -> SandboxControl {
        self.sb.control()
    }

    /// Injects an inbound message (`body` is an [`Inbound`] as JSON) and returns the receipt
    /// `{chat_id, contact_id, message_id, created_chat, created_contact}` as JSON.
    pub async fn inbound(&self, body: Value) -> Value {
        let message: Inbound = serde_json::from_value(body).expect("an inbound message");
        let receipt = self.ctl().inbound(&message).await.expect("inbound");
        serde_json::to_value(receipt).expect("receipt json")
    }

    /// A customer with `phone` writes `text` to a connection: the inbound receipt.
    pub async fn text_from(&self, connection_id: i64, phone: &str, text: &str) -> Value {
        let body = json!({"connection_id": connection_id, "phone": phone, "text": text});
        self.inbound(body).await
    }

    /// The chat id of an inbound text from `phone` on a connection (the chat is created on the
    /// first one).
    pub async fn chat(&self, connection_id: i64, phone: &str, text: &str) -> Value {
        self.text_from(connection_id, phone, text).await["chat_id"].clone()
    }

    /// Subscribes `url` to all events of a connection.
    pub async fn subscribe(&self, connection_id: i64, url: &str) -> Value {
        let events = [
            "messages.create",
            "messages.delivery.delivered",
            "messages.delivery.read",
            "messages.delivery.error",
            "connections.status_changed",
        ];
        let (status, out) = self
            .post(
                "/webhooks/",
                json!({"url": url, "events": events, "connection_id": connection_id}),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        out
    }

    /// POSTs a text to a chat and returns the bare answer: for faults that cut the connection
    /// or drop the answer, where there is no status to read.
    pub async fn send_text_raw(
        &self,
        chat_id: &Value,
        text: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = json!({"chat_id": chat_id, "message_type": "text", "text": {"text": text}});
        let url = self.company_url("/messaging/messages/");
        let request = self.http.post(url).header("X-Api-Key", self.sb.api_key());
        request.json(&body).send().await
    }

    /// A webhook receiver (answering 503 to its first `fail_first` deliveries) subscribed to
    /// `connection_id`'s events.
    pub async fn subscribed(&self, connection_id: i64, fail_first: usize) -> Receiver {
        let rx = Receiver::start(fail_first).await;
        self.subscribe(connection_id, &rx.url()).await;
        rx
    }

    /// POSTs `body` to the create-chat endpoint (`/messaging/chats/`).
    pub async fn post_chat(&self, body: Value) -> (u16, Value) {
        self.post("/messaging/chats/", body).await
    }

    /// Creates (or finds) a chat with `body` (`POST …/messaging/chats/`, which must answer 200).
    pub async fn create_chat(&self, body: Value) -> Value {
        let (status, out) = self.post_chat(body).await;
        assert_eq!(status, 200, "{out}");
        out
    }

    /// POSTs `body` to the send endpoint (`/messaging/messages/`).
    pub async fn send_message(&self, body: Value) -> (u16, Value) {
        self.post("/messaging/messages/", body).await
    }

    /// Sends a text to a chat.
    pub async fn send_text(&self, chat_id: &Value, text: &str) -> (u16, Value) {
        self.send_message(
            json!({"chat_id": chat_id, "message_type": "text", "text": {"text": text}}),
        )
        .await
    }
}

/// The `key` of every item of the JSON array `list`.
pub fn pluck<'a>(list: &'a Value, key: &str) -> Vec<&'a Value> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"));
    items.iter().map(|item| &item[key]).collect()
}

/// Polls `check` every 10 ms until it returns `Some`, failing after 5 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A local webhook receiver recording every POSTed body.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub bodies: Arc<Mutex<Vec<Value>>>,
    fail_first: Arc<AtomicUsize>,
    hits: Arc<AtomicUsize>,
}

async fn receive(State(rx): State<Receiver>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    rx.hits.fetch_add(1, Ordering::SeqCst);
    if rx.fail_first.load(Ordering::SeqCst) > 0 {
        rx.fail_first.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    rx.bodies.lock().expect("lock").push(body);
    StatusCode::OK
}

impl Receiver {
    /// Starts a receiver that answers 503 to the first `fail_first` deliveries.
    pub async fn start(fail_first: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let rx = Self {
            addr,
            bodies: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            hits: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        rx
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every delivery attempt that reached the receiver, failed ones included.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn all(&self) -> Vec<Value> {
        self.bodies.lock().expect("lock").clone()
    }

    /// Received bodies of one event type.
    pub fn of(&self, event_type: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|b| b["event_type"] == event_type)
            .collect()
    }

    /// Waits until `n` bodies of `event_type` arrived and returns them.
    pub async fn wait(&self, event_type: &str, n: usize) -> Vec<Value> {
        eventually(event_type, || async {
            Some(self.of(event_type)).filter(|l| l.len() >= n)
        })
        .await
    }
}
