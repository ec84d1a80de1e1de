//! The Radist the service and the CLI talk to: a remote Radist when the host config says so,
//! or else an embedded sandbox. `run` injects the event's inbound message into the embedded
//! sandbox first, so the chat it names exists.

use std::time::Duration;

use anyhow::Context;
use radist_connector::RadistClient;
use radist_connector::webhook::EventKind;
use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use switchboard_manifest::RadistMode;

use crate::config::{LoadedConfig, host_secret};
use crate::event_file::{Event, EventSource};

/// Where the embedded sandbox listens.
pub struct SandboxUrls {
    /// The Radist API (`.../v2`).
    pub base_url: String,
    /// The control endpoints (`.../_sandbox`).
    pub control_url: String,
    pub api_key: String,
}

/// A Radist client and, in sandbox mode, the embedded sandbox behind it.
pub struct RadistTarget {
    pub client: RadistClient,
    sandbox: Option<SandboxHandle>,
}

impl RadistTarget {
    /// Connects as the host config says.
    pub async fn connect(config: &LoadedConfig) -> anyhow::Result<RadistTarget> {
        let radist = &config.host.radist;
        let timeout = Duration::from_millis(u64::from(radist.timeout_ms));
        let (base_url, api_key, sandbox) = match &radist.mode {
            RadistMode::Remote { base_url, api_key } => (
                base_url.clone(),
                host_secret(api_key, "radist.api_key")?,
                None,
            ),
            RadistMode::Sandbox { listen } => {
                let handle = Sandbox::start(SandboxConfig {
                    listen: *listen,
                    ..SandboxConfig::default()
                })
                .await?;
                (handle.base_url(), handle.api_key().to_owned(), Some(handle))
            }
            _ => anyhow::bail!("this radist mode is not supported by this build"),
        };
        let client = crate::wiring::radist_client(
            &base_url,
            api_key,
            radist.company_id,
            timeout,
            radist.max_retries,
        )?;
        Ok(RadistTarget { client, sandbox })
    }

    /// In the embedded sandbox, injects the event's inbound message so the chat exists, and
    /// points the event at the sandbox's ids. Other events pass through.
    pub async fn prepare(&self, event: Event) -> anyhow::Result<Event> {
        let (Some(sandbox), EventSource::Webhook(webhook)) = (&self.sandbox, &event.source) else {
            return Ok(event);
        };
        if webhook.kind != EventKind::MessageReceived {
            return Ok(event);
        }
        let ids = inject(sandbox, webhook).await?;
        let mut webhook = webhook.clone();
        webhook.chat_id = ids["chat_id"]
            .as_i64()
            .map(radist_connector::models::ChatId);
        webhook.contact_id = ids["contact_id"]
            .as_i64()
            .map(radist_connector::models::ContactId);
        Event::new(EventSource::Webhook(webhook))
    }

    /// Whether Radist is the embedded sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// The embedded sandbox's addresses and key, in sandbox mode.
    pub fn sandbox_urls(&self) -> Option<SandboxUrls> {
        self.sandbox.as_ref().map(|h| SandboxUrls {
            base_url: h.base_url(),
            control_url: h.control_url(),
            api_key: h.api_key().to_owned(),
        })
    }

    /// What the embedded sandbox received to send, one line each (`chat 1: {...}` with the
    /// request's content); empty against a remote Radist.
    pub async fn sent_messages(&self) -> anyhow::Result<Vec<String>> {
        let Some(sandbox) = &self.sandbox else {
            return Ok(Vec::new());
        };
        let url = format!("{}/sent", sandbox.control_url());
        let sent: Vec<Value> = reqwest::Client::new()
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .context("the sandbox's sent log is not JSON")?;
        Ok(sent
            .iter()
            .map(|s| format!("chat {}: {}", s["chat_id"], s["request"]))
            .collect())
    }

    /// Stops the embedded sandbox, if any.
    pub async fn shutdown(self) {
        if let Some(handle) = self.sandbox {
            let _ = handle.shutdown().await;
        }
    }
}

async fn inject(
    sandbox: &SandboxHandle,
    event: &radist_connector::webhook::NormalizedEvent,
) -> anyhow::Result<Value> {
    let chat = event.chat.as_ref();
    let text = event
        .message
        .as_ref()
        .and_then(|m| m.text.as_ref())
        .map(|t| t.text.clone());
    let body = json!({
        "connection_id": event.connection_id.0,
        "phone": chat.and_then(|c| c.phone.clone()),
        "username": chat.and_then(|c| c.username.clone()),
        "name": chat.and_then(|c| c.name.clone()),
        "text": text.unwrap_or_default(),
    });
    let url = format!("{}/inbound", sandbox.control_url());
    let response = reqwest::Client::new().post(&url).json(&body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "the sandbox refused the event's inbound message ({status}): {answer}"
    );
    Ok(answer)
}
