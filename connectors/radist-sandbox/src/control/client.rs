//! [`SandboxControl`]: a typed client for the `/_sandbox/` control endpoints, for every test
//! and demo that drives a sandbox (in-process or in another process).

use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::types::{
    Inbound, InboundReceipt, SentMessage, Settings, SettingsUpdate, Stats, StatusChange,
};
use crate::error::SandboxError;
use crate::faults::Faults;
use crate::webhooks::DeliveryRecord;

/// The most characters of a refused request's answer kept in the error.
const ANSWER_EXCERPT_CHARS: usize = 500;

/// A client for one sandbox's control endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SandboxControl {
    http: reqwest::Client,
    /// `http://HOST:PORT/_sandbox`, without a trailing `/`.
    base: String,
}

impl SandboxControl {
    /// A client for `control_url` (`http://127.0.0.1:PORT/_sandbox`, as
    /// [`crate::SandboxHandle::control_url`] gives it).
    pub fn new(control_url: impl Into<String>) -> Self {
        let base = control_url.into().trim_end_matches('/').to_owned();
        Self {
            http: reqwest::Client::new(),
            base,
        }
    }

    /// `POST /inbound`: a message from a messenger user; the chat is found or created.
    pub async fn inbound(&self, message: &Inbound) -> Result<InboundReceipt, SandboxError> {
        self.post("inbound", message).await
    }

    /// `GET /sent`: the sends the API accepted (oldest first), optionally of one chat.
    pub async fn sent(&self, chat_id: Option<i64>) -> Result<Vec<SentMessage>, SandboxError> {
        let query: Vec<(&str, i64)> = chat_id.map(|c| ("chat_id", c)).into_iter().collect();
        self.read("sent", self.request(Method::GET, "sent").query(&query))
            .await
    }

    /// `GET /faults`: the faults in force (counts left).
    pub async fn faults(&self) -> Result<Faults, SandboxError> {
        self.get("faults").await
    }

    /// `POST /faults`: replaces every fault setting.
    pub async fn set_faults(&self, faults: &Faults) -> Result<Faults, SandboxError> {
        self.post("faults", faults).await
    }

    /// `DELETE /faults`: clears every fault.
    pub async fn clear_faults(&self) -> Result<(), SandboxError> {
        self.send("faults", self.request(Method::DELETE, "faults"))
            .await
            .map(drop)
    }

    /// `GET /crm`: tags, quick replies, permissions and every contact's tags and notes.
    pub async fn crm(&self) -> Result<super::CrmSnapshot, SandboxError> {
        self.get("crm").await
    }

    /// `POST /crm`: adds tags, quick replies and notes, replaces contact tag sets or permissions.
    pub async fn seed_crm(
        &self,
        seed: &super::CrmSeed,
    ) -> Result<super::CrmSnapshot, SandboxError> {
        self.post("crm", seed).await
    }

    /// `POST /reset`: back to the seed; stops pending webhook deliveries.
    pub async fn reset(&self) -> Result<(), SandboxError> {
        let answer: serde_json::Value = self.post("reset", &serde_json::json!({})).await?;
        drop(answer);
        Ok(())
    }

    /// `GET /webhook-deliveries`: every delivery (oldest first), optionally of one event type.
    pub async fn webhook_deliveries(
        &self,
        event_type: Option<&str>,
    ) -> Result<Vec<DeliveryRecord>, SandboxError> {
        let query: Vec<(&str, &str)> = event_type.map(|e| ("event_type", e)).into_iter().collect();
        let request = self
            .request(Method::GET, "webhook-deliveries")
            .query(&query);
        self.read("webhook-deliveries", request).await
    }

    /// `GET /settings`.
    pub async fn settings(&self) -> Result<Settings, SandboxError> {
        self.get("settings").await
    }

    /// `POST /settings`: applies `update` and returns the settings after it.
    pub async fn set_settings(&self, update: &SettingsUpdate) -> Result<Settings, SandboxError> {
        self.post("settings", update).await
    }

    /// `POST /connection-status`: changes a connection's status and emits its webhook.
    pub async fn connection_status(&self, change: &StatusChange) -> Result<(), SandboxError> {
        let answer: serde_json::Value = self.post("connection-status", change).await?;
        drop(answer);
        Ok(())
    }

    /// `GET /stats`: sizes of the bounded lists and what they dropped.
    pub async fn stats(&self) -> Result<Stats, SandboxError> {
        self.get("stats").await
    }

    fn request(&self, method: Method, endpoint: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/{endpoint}", self.base))
    }

    async fn get<T: DeserializeOwned>(&self, endpoint: &str) -> Result<T, SandboxError> {
        self.read(endpoint, self.request(Method::GET, endpoint))
            .await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<T, SandboxError> {
        let request = self.request(Method::POST, endpoint).json(body);
        self.read(endpoint, request).await
    }

    /// Sends and decodes a 2xx JSON answer.
    async fn read<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: RequestBuilder,
    ) -> Result<T, SandboxError> {
        let body = self.send(endpoint, request).await?;
        serde_json::from_slice(&body).map_err(|err| control(endpoint, format!("bad answer: {err}")))
    }

    /// Sends; a non-2xx status is an error carrying the answer.
    async fn send(
        &self,
        endpoint: &str,
        request: RequestBuilder,
    ) -> Result<bytes::Bytes, SandboxError> {
        let response = request
            .send()
            .await
            .map_err(|err| control(endpoint, err.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|err| control(endpoint, err.without_url().to_string()))?;
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&body)
                .chars()
                .take(ANSWER_EXCERPT_CHARS)
                .collect();
            return Err(control(endpoint, format!("{status}: {text}")));
        }
        Ok(body)
    }
}

fn control(endpoint: &str, message: String) -> SandboxError {
    SandboxError::Control {
        endpoint: endpoint.to_owned(),
        message,
    }
}
