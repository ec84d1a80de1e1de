//! Shared harness of the `client_*` tests: a real sandbox on 127.0.0.1:0, a client with fast
//! retries pointed at it, helpers over the sandbox's typed control client, and a tiny canned
//! HTTP server for statuses the sandbox never sends.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use radist_connector::models::{
    ChatId, CompanyId, ConnectionId, MessageSentResponse, SendMessageRequest,
};
use radist_connector::{ClientConfig, RadistClient, RadistError, RetryPolicy};
use radist_sandbox::control::{Inbound, SandboxControl};
use radist_sandbox::{Faults, Sandbox, SandboxConfig, SandboxHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

pub const WABA: ConnectionId = ConnectionId(70001);
pub const WHATSAPP: ConnectionId = ConnectionId(70002);
pub const TELEGRAM: ConnectionId = ConnectionId(70003);
pub const TELEGRAM_BOT: ConnectionId = ConnectionId(70004);

/// A sandbox and a control-plane HTTP client.
pub struct Env {
    pub sb: SandboxHandle,
    pub http: reqwest::Client,
}

/// Retries fast enough for tests (backoff ≤ 40 ms, `Retry-After` honoured up to 5 s).
pub fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        honor_retry_after_max: Duration::from_secs(5),
    }
}

/// A config for `base_url` with fast retries.
pub fn config_at(base_url: &str, key: &str) -> ClientConfig {
    ClientConfig::new(key, CompanyId(1))
        .with_base_url(Url::parse(base_url).expect("base url"))
        .with_retry(fast_retry(3))
}

impl Env {
    pub async fn start() -> Self {
        let sb = Sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        Self {
            sb,
            http: reqwest::Client::new(),
        }
    }

    /// The sandbox's config: its base URL, key and company, fast retries.
    pub fn config(&self) -> ClientConfig {
        let mut config = config_at(&self.sb.base_url(), self.sb.api_key());
        config.company_id = CompanyId(self.sb.company_id());
        config
    }

    pub fn client(&self) -> RadistClient {
        RadistClient::new(self.config()).expect("client")
    }

    pub fn client_with(&self, config: ClientConfig) -> RadistClient {
        RadistClient::new(config).expect("client")
    }

    /// The sandbox's typed control client.
    pub fn ctl(&self) -> SandboxControl {
        self.sb.control()
    }

    /// An inbound text from `phone` on `connection`; returns the Radist chat id.
    pub async fn inbound(
        &self,
        connection: ConnectionId,
        phone: &str,
        text: &str,
        at: &str,
    ) -> ChatId {
        let message = Inbound::from_phone(connection.0, phone, text).at(at);
        let receipt = self.ctl().inbound(&message).await.expect("inbound");
        ChatId(receipt.chat_id)
    }

    /// Everything the sandbox accepted as sent (optionally for one chat), as JSON.
    pub async fn sent(&self, chat: Option<ChatId>) -> Vec<Value> {
        let sent = self.ctl().sent(chat.map(|c| c.0)).await.expect("sent");
        sent.into_iter()
            .map(|entry| serde_json::to_value(entry).expect("sent json"))
            .collect()
    }

    /// Sends `text` to `chat` with a fresh client (the faults set apply to it).
    pub async fn send_text(
        &self,
        chat: ChatId,
        text: &str,
    ) -> Result<MessageSentResponse, RadistError> {
        let request = SendMessageRequest::text(chat, text);
        self.client().send_message(&request).await
    }

    /// Sets request faults (`faults` is a `radist_sandbox::Faults` as JSON).
    pub async fn faults(&self, faults: Value) {
        let faults: Faults = serde_json::from_value(faults).expect("faults json");
        self.ctl().set_faults(&faults).await.expect("faults");
    }

    /// The faults left, as JSON.
    pub async fn remaining_faults(&self) -> Value {
        let faults = self.ctl().faults().await.expect("faults");
        serde_json::to_value(faults).expect("faults json")
    }
}

/// A canned HTTP server: answers every request with `response` (a full HTTP/1.1 response
/// head + body, `Connection: close`) and counts requests.
pub struct Canned {
    pub base_url: String,
    pub hits: Arc<AtomicUsize>,
}

impl Canned {
    pub async fn start(status: &str, headers: &[(&str, &str)], body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let response = format!("{head}connection: close\r\n\r\n{body}");
        let hits = Arc::new(AtomicUsize::new(0));
        tokio::spawn(serve(listener, response, hits.clone()));
        Self {
            base_url: format!("http://{addr}/v2"),
            hits,
        }
    }

    /// A server answering every request `200 OK` with `body` as JSON.
    pub async fn ok_json(body: &Value) -> Self {
        let json = [("content-type", "application/json")];
        Self::start("200 OK", &json, &body.to_string()).await
    }

    /// A client of this server with the key `k`.
    pub fn client(&self) -> RadistClient {
        RadistClient::new(config_at(&self.base_url, "k")).expect("client")
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(listener: TcpListener, response: String, hits: Arc<AtomicUsize>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        hits.fetch_add(1, Ordering::SeqCst);
        let response = response.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// A base URL where nothing listens (a port bound then released).
pub async fn dead_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/v2")
}
