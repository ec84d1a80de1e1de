//! Messages: store (updating the chat's unanswered count and WABA window), list newest first
//! with `until` paging, update delivery status, and messenger-native ids.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::State;
use super::model::{Chat, Message};

/// A message about to be stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub outbound: bool,
    pub message_type: String,
    pub content: Value,
    pub created_at: DateTime<Utc>,
    /// `None` generates one in the connection's style.
    pub source_message_id: Option<String>,
    pub reply_to: Value,
}

impl State {
    /// Stores a message in an existing chat and returns a copy; `None` if the chat is gone.
    pub fn store_message(&mut self, chat_id: i64, new: NewMessage) -> Option<Message> {
        let seq = self.alloc_seq();
        let chat = self.chats.get_mut(&chat_id)?;
        apply_to_chat(chat, &new);
        let kind = self
            .connections
            .get(&chat.connection_id)
            .map_or("", |c| c.kind.as_str());
        let source_message_id = new
            .source_message_id
            .unwrap_or_else(|| native_message_id(kind, seq));
        let message = Message {
            id: Uuid::new_v4(),
            seq,
            chat_id,
            source_chat_id: chat.source_chat_id.clone(),
            source_message_id: Some(source_message_id),
            outbound: new.outbound,
            message_type: new.message_type,
            created_at: new.created_at,
            delivered_at: None,
            read_at: None,
            error_at: None,
            error_type: None,
            error_text: None,
            content: new.content,
            reply_to: new.reply_to,
            author: Value::Null,
        };
        self.message_chat.insert(message.id, chat_id);
        self.messages
            .entry(chat_id)
            .or_default()
            .push(message.clone());
        Some(message)
    }

    /// Up to `limit` messages of the chat, newest first, created strictly before `until`.
    pub fn list_messages(
        &self,
        chat_id: i64,
        limit: usize,
        until: Option<DateTime<Utc>>,
    ) -> Vec<Value> {
        let mut list: Vec<&Message> = self
            .messages
            .get(&chat_id)
            .map(|all| {
                all.iter()
                    .filter(|m| until.is_none_or(|u| m.created_at < u))
                    .collect()
            })
            .unwrap_or_default();
        list.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.seq)));
        list.into_iter()
            .take(limit)
            .map(|m| m.to_json(false))
            .collect()
    }

    /// A copy of a stored message.
    pub fn message(&self, id: Uuid) -> Option<&Message> {
        let chat_id = self.message_chat.get(&id)?;
        self.messages.get(chat_id)?.iter().find(|m| m.id == id)
    }

    /// Changes a stored message; returns it and its chat after the change.
    pub fn update_message(
        &mut self,
        id: Uuid,
        change: impl FnOnce(&mut Message),
    ) -> Option<(Message, Chat)> {
        let chat_id = *self.message_chat.get(&id)?;
        let message = self
            .messages
            .get_mut(&chat_id)?
            .iter_mut()
            .find(|m| m.id == id)?;
        change(message);
        let message = message.clone();
        Some((message, self.chats.get(&chat_id)?.clone()))
    }
}

fn apply_to_chat(chat: &mut Chat, new: &NewMessage) {
    chat.updated_at = chat.updated_at.max(new.created_at);
    if new.outbound {
        chat.unanswered_count = 0;
    } else {
        chat.unanswered_count += 1;
        chat.last_inbound_at = Some(
            chat.last_inbound_at
                .map_or(new.created_at, |at| at.max(new.created_at)),
        );
    }
}

/// A messenger-native message id in the style of the connection type.
pub fn native_message_id(kind: &str, seq: u64) -> String {
    let random: [u8; 24] = rand::random();
    match kind {
        "waba" => format!(
            "wamid.{}",
            base64::engine::general_purpose::STANDARD.encode(random)
        ),
        "whatsapp" => format!("3EB0{}", hex(&random[..10])),
        _ => (100_000 + seq).to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
