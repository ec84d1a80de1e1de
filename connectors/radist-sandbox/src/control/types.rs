//! The JSON bodies of the control endpoints, shared by the handlers and [`super::SandboxControl`]
//! so both sides read and write one definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::WindowPolicy;
use crate::ring::RingStats;
use crate::state::FileStats;

/// `POST /_sandbox/inbound`: a message from a messenger user, identified by `phone`,
/// `username` or messenger `chat_id` (checked in that order: `chat_id` first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub connection_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The messenger-side chat id (`source_chat_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The sender's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RFC 3339; default now. Older than 24 h leaves a WABA window closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// A Message-like object (`message_type` + its content key, optional
    /// `source_message_id`, `reply_to`, `created_at`) used instead of `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
}

impl Inbound {
    /// A text from the WhatsApp/WABA user with `phone` on `connection_id`.
    pub fn from_phone(connection_id: i64, phone: &str, text: &str) -> Self {
        Self {
            connection_id,
            phone: Some(phone.to_owned()),
            text: Some(text.to_owned()),
            ..Self::default()
        }
    }

    /// A text from the Telegram user `username` on `connection_id`.
    pub fn from_username(connection_id: i64, username: &str, text: &str) -> Self {
        Self {
            connection_id,
            username: Some(username.to_owned()),
            text: Some(text.to_owned()),
            ..Self::default()
        }
    }

    /// Sets the sender's display name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Backdates the message (RFC 3339).
    pub fn at(mut self, rfc3339: &str) -> Self {
        self.created_at = Some(rfc3339.to_owned());
        self
    }
}

/// What `POST /_sandbox/inbound` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundReceipt {
    pub chat_id: i64,
    pub contact_id: i64,
    pub message_id: Uuid,
    pub created_chat: bool,
    pub created_contact: bool,
}

/// One entry of `GET /_sandbox/sent`: a send the API accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: Uuid,
    /// RFC 3339 time the send was accepted.
    pub received_at: String,
    /// The request body as sent.
    pub request: Value,
    /// The message as stored now (delivery timestamps included), `null` after a reset.
    pub message: Value,
}

/// `POST /_sandbox/connection-status`: a connection's new health (emits
/// `connections.status_changed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub connection_id: i64,
    /// `good` or `bad`.
    pub status_type: String,
    /// e.g. `normal`, `whatsapp_qr_not_scanned`.
    pub status_subtype: String,
}

/// `POST /_sandbox/settings`: run-time changes; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_policy: Option<WindowPolicy>,
    /// Company for `waba_dialogs` (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    /// The estimated remaining WABA dialogs of the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_dialogs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_templates: Option<AutoTemplates>,
}

/// Switches `waba_auto_templates_enabled` of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoTemplates {
    pub connection_id: i64,
    pub enabled: bool,
}

/// What `GET /_sandbox/settings` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub window_policy: WindowPolicy,
    /// Remaining WABA dialogs by company id.
    pub waba_dialogs: BTreeMap<i64, i64>,
}

/// What `GET /_sandbox/stats` answers: the size of everything bounded by
/// [`crate::SandboxLimits`], with how many entries were dropped since the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub sent: RingStats,
    pub webhook_deliveries: RingStats,
    pub uploads: FileStats,
    /// Webhook deliveries stopped by resets (queued or waiting to retry) since the start.
    pub cancelled_deliveries: u64,
}
