//! The emulator's own records (not wire types) and their JSON renderings.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::time::format;

/// The content keys of a `Message`, one of which matches `message_type`.
pub const CONTENT_KEYS: [&str; 10] = [
    "text",
    "file",
    "image",
    "audio",
    "video",
    "voice",
    "waba_template",
    "waba_interactive",
    "radist_order",
    "waba_order",
];

/// A company.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub timezone: String,
    pub payment_currency: String,
    pub waba_dialogs: i64,
}

/// A messaging connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: i64,
    pub company_id: i64,
    pub kind: String,
    pub name: String,
    pub radist_token: Uuid,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub auto_templates_enabled: bool,
    pub status: (String, String),
    pub templates: Vec<Template>,
}

/// A WABA template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub locale: String,
    pub status: String,
    pub custom_name: Option<String>,
    pub body: String,
    pub header: Option<String>,
    pub footer: Option<String>,
}

/// A contact.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: i64,
    pub company_id: i64,
    pub name: String,
    pub phones: Vec<(i64, String, String)>,
    pub emails: Vec<(i64, String, String)>,
    pub tags: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

/// A chat between one connection and one messenger user.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: i64,
    pub company_id: i64,
    pub connection_id: i64,
    pub contact_id: i64,
    pub source_chat_id: String,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: String,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub unanswered_count: i64,
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Start of the current paid WABA dialog (24 h), for the dialog counter.
    pub dialog_opened_at: Option<DateTime<Utc>>,
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: Uuid,
    pub seq: u64,
    pub chat_id: i64,
    pub source_chat_id: String,
    pub source_message_id: Option<String>,
    pub outbound: bool,
    pub message_type: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub error_at: Option<DateTime<Utc>>,
    pub error_type: Option<String>,
    pub error_text: Option<String>,
    /// The object under the `message_type` key.
    pub content: Value,
    pub reply_to: Value,
    pub author: Value,
}

/// An uploaded file served under `/_sandbox/files/{id}/{name}`.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// A webhook subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Uuid,
    pub company_id: i64,
    pub connection_id: i64,
    pub url: String,
    pub events: Vec<String>,
}

/// One send through the API, for `GET /_sandbox/sent`.
#[derive(Debug, Clone)]
pub struct SentRecord {
    pub chat_id: i64,
    pub message_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub request: Value,
}

fn ts(dt: Option<DateTime<Utc>>) -> Value {
    dt.map_or(Value::Null, |d| Value::String(format(&d)))
}

impl Message {
    /// The `Message` object; `all_content_keys` puts every content key (null when unused), as
    /// `with_contacts` does, otherwise only the used one, as `GET /messaging/messages/` does.
    pub fn to_json(&self, all_content_keys: bool) -> Value {
        let mut map = Map::new();
        map.insert("message_id".into(), json!(self.id));
        map.insert("source_message_id".into(), json!(self.source_message_id));
        map.insert("chat_id".into(), json!(self.source_chat_id));
        let direction = if self.outbound { "outbound" } else { "inbound" };
        map.insert("direction".into(), json!(direction));
        map.insert("message_type".into(), json!(self.message_type));
        map.insert("author".into(), self.author.clone());
        map.insert("created_at".into(), ts(Some(self.created_at)));
        map.insert("delivered_at".into(), ts(self.delivered_at));
        map.insert("read_at".into(), ts(self.read_at));
        map.insert("error_at".into(), ts(self.error_at));
        map.insert("error_type".into(), json!(self.error_type));
        map.insert("error_text".into(), json!(self.error_text));
        if all_content_keys {
            for key in CONTENT_KEYS {
                map.insert(key.into(), Value::Null);
            }
        }
        map.insert(self.message_type.clone(), self.content.clone());
        map.insert("reply_to".into(), self.reply_to.clone());
        Value::Object(map)
    }
}

impl Chat {
    /// `https://t.me/<username>` for Telegram chats with a username.
    pub fn profile_link(&self) -> Option<String> {
        self.username.as_ref().map(|u| format!("https://t.me/{u}"))
    }

    /// The `ChatOut` object (contacts).
    pub fn to_chat_out(&self) -> Value {
        json!({
            "connection_id": self.connection_id, "chat_id": self.id,
            "source_chat_id": self.source_chat_id, "name": self.name, "phone": self.phone,
            "username": self.username, "profile_link": self.profile_link(),
        })
    }

    /// The `Chat` object with its last message (all content keys present).
    pub fn to_json(&self, last: Option<&Message>) -> Value {
        let mut value = self.to_chat_out();
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "last_message".into(),
                last.map_or(Value::Null, |m| m.to_json(true)),
            );
            map.insert("unanswered_count".into(), json!(self.unanswered_count));
            map.insert("is_group".into(), json!(false));
            map.insert("blacklist_item_id".into(), Value::Null);
        }
        value
    }

    /// The `event.chat` object of webhooks (a guess: `phone, name, username, profile_link`).
    pub fn to_event_chat(&self) -> Value {
        json!({"phone": self.phone, "name": self.name, "username": self.username,
               "profile_link": self.profile_link()})
    }
}

impl Subscription {
    /// `WebhookConfigConnectionMessagingOut`.
    pub fn to_json(&self) -> Value {
        json!({"url": self.url, "events": self.events, "connection_id": self.connection_id, "id": self.id})
    }
}
