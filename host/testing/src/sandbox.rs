//! [`TestSandbox`]: an embedded Radist sandbox on `127.0.0.1:0` and a client for its control
//! endpoints (`/_sandbox/inbound`, `/_sandbox/sent`, `/_sandbox/reset`, `/_sandbox/settings`).

use std::collections::BTreeMap;

use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

use crate::HarnessError;

/// A running sandbox with the default seed (API key `sandbox-key`, company 1, connections
/// 70001 waba, 70002 whatsapp, 70003 telegram, 70004 telegram_bot).
pub struct TestSandbox {
    handle: SandboxHandle,
    http: reqwest::Client,
    /// Connection id to type (`waba`, `whatsapp`, ...), from the seed.
    kinds: BTreeMap<i64, String>,
}

/// A message from a messenger user, for [`TestSandbox::inbound`].
#[derive(Debug, Clone)]
pub struct Inbound {
    body: Value,
}

/// What the sandbox answered to an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub connection_id: i64,
    pub chat_id: i64,
    pub contact_id: i64,
    pub message_id: String,
}

impl Inbound {
    /// A text from the WhatsApp/WABA user with `phone` on `connection_id`.
    pub fn from_phone(connection_id: i64, phone: &str, text: &str) -> Self {
        Self {
            body: json!({"connection_id": connection_id, "phone": phone, "text": text}),
        }
    }

    /// A text from the Telegram user `username` on `connection_id`.
    pub fn from_username(connection_id: i64, username: &str, text: &str) -> Self {
        Self {
            body: json!({"connection_id": connection_id, "username": username, "text": text}),
        }
    }

    /// Sets the sender's display name.
    pub fn name(mut self, name: &str) -> Self {
        self.body["name"] = json!(name);
        self
    }

    /// Backdates the message (RFC 3339): an inbound older than 24 h leaves a WABA window closed.
    pub fn at(mut self, rfc3339: &str) -> Self {
        self.body["created_at"] = json!(rfc3339);
        self
    }
}

impl TestSandbox {
    /// Starts a sandbox with the default configuration on a free loopback port.
    pub async fn start() -> Result<Self, HarnessError> {
        Self::start_with(SandboxConfig::default()).await
    }

    /// Starts a sandbox with `config`.
    pub async fn start_with(config: SandboxConfig) -> Result<Self, HarnessError> {
        let connections = config.seed.companies.iter().flat_map(|c| &c.connections);
        let kinds = connections.map(|c| (c.id, c.kind.clone())).collect();
        let handle = Sandbox::start(config)
            .await
            .map_err(|e| HarnessError::Sandbox(e.to_string()))?;
        Ok(Self {
            handle,
            http: reqwest::Client::new(),
            kinds,
        })
    }

    /// The type of a seeded connection (`waba`, `whatsapp`, `telegram`, `telegram_bot`, ...).
    pub fn connection_kind(&self, connection_id: i64) -> Option<String> {
        self.kinds.get(&connection_id).cloned()
    }

    /// The sandbox itself (base URL, API key, company id).
    pub fn handle(&self) -> &SandboxHandle {
        &self.handle
    }

    /// Posts an inbound message; the sandbox finds or creates the chat and stores the message.
    pub async fn inbound(&self, inbound: &Inbound) -> Result<Delivered, HarnessError> {
        let answer = self.control_post("inbound", &inbound.body).await?;
        let int = |key: &str| {
            answer[key]
                .as_i64()
                .ok_or_else(|| unexpected("inbound", &answer))
        };
        Ok(Delivered {
            connection_id: inbound.body["connection_id"].as_i64().unwrap_or_default(),
            chat_id: int("chat_id")?,
            contact_id: int("contact_id")?,
            message_id: answer["message_id"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Every message sent through the API (oldest first), optionally of one chat: objects with
    /// `chat_id`, `message_id`, `request` (the body as sent) and `message` (as stored).
    pub async fn sent(&self, chat_id: Option<i64>) -> Result<Vec<Value>, HarnessError> {
        let mut url = format!("{}/sent", self.handle.control_url());
        if let Some(chat) = chat_id {
            url.push_str(&format!("?chat_id={chat}"));
        }
        let answer = self.read(self.http.get(url)).await?;
        answer
            .as_array()
            .cloned()
            .ok_or_else(|| unexpected("sent", &answer))
    }

    /// Returns the sandbox to its seed.
    pub async fn reset(&self) -> Result<(), HarnessError> {
        self.control_post("reset", &json!({})).await.map(drop)
    }

    /// Changes run-time settings (e.g. `{"window_policy": "reject"}`).
    pub async fn settings(&self, settings: &Value) -> Result<(), HarnessError> {
        self.control_post("settings", settings).await.map(drop)
    }

    /// Sets request faults (`POST /_sandbox/faults`, e.g. `{"latency_ms": 2000}`).
    pub async fn faults(&self, faults: &Value) -> Result<(), HarnessError> {
        self.control_post("faults", faults).await.map(drop)
    }

    async fn control_post(&self, path: &str, body: &Value) -> Result<Value, HarnessError> {
        let url = format!("{}/{path}", self.handle.control_url());
        self.read(self.http.post(url).json(body)).await
    }

    async fn read(&self, req: reqwest::RequestBuilder) -> Result<Value, HarnessError> {
        let resp = req
            .send()
            .await
            .map_err(|e| HarnessError::Sandbox(e.to_string()))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| HarnessError::Sandbox(e.to_string()))?;
        if !status.is_success() {
            return Err(HarnessError::Sandbox(format!("{status}: {text}")));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn unexpected(what: &str, answer: &Value) -> HarnessError {
    HarnessError::Sandbox(format!("unexpected answer to {what}: {answer}"))
}
