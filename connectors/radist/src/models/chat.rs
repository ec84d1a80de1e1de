//! Chats: sources, creation, the `Chat` views and the `with_contacts` inbox page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::connection::Subscription;
use super::ids::{ChatId, ConnectionId, ContactId, SourceChatId};
use super::message::Message;
use super::{de, time};

/// `ChatSource`: a messaging connection chats can be created in (`GET …/chats/sources/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSource {
    pub connection_id: ConnectionId,
    pub subscription: Option<Subscription>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChatSourceType,
    pub create_chat: ChatSourceCreateChat,
}

/// `ChatSourceCreateChat`: which identifiers `CreateChatRequest` accepts for this source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatSourceCreateChat {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub with_phone: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub with_username: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub with_chat_id: bool,
}

/// `ChatSourceType`: messenger behind a chat source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatSourceType {
    Odnoklassniki,
    Whatsapp,
    Waba,
    Telegram,
    TelegramBot,
    MaxPersonal,
    MaxBot,
    /// A source type this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `CreateChatRequest`: body of `POST …/messaging/chats/` (idempotent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateChatRequest {
    pub connection_id: ConnectionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    /// Display name for a new contact (1..128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone, digits with or without `+` (5..20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Telegram-style username without `@` (5..32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Messenger-side chat id, for sources with `create_chat.with_chat_id` (5..20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
}

/// `CreateChatResponse`: the chat (and contact) found or created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateChatResponse {
    pub created_chat: bool,
    pub created_contact: bool,
    pub chat_id: ChatId,
    pub contact_id: Option<ContactId>,
}

/// `Chat`: full chat view (`GET …/chats/{connection_id}/{chat_id}`, `with_contacts` items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub connection_id: ConnectionId,
    pub chat_id: ChatId,
    pub source_chat_id: SourceChatId,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub profile_link: Option<String>,
    pub name: String,
    pub last_message: Option<Message>,
    pub unanswered_count: i64,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_group: bool,
    pub blacklist_item_id: Option<i64>,
}

/// `ChatOut`: short chat view inside contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatOut {
    pub connection_id: ConnectionId,
    pub chat_id: ChatId,
    pub source_chat_id: SourceChatId,
    pub name: String,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub profile_link: Option<String>,
}

/// `ContactWithChats`: one inbox entry of `GET …/chats/with_contacts/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactWithChats {
    pub contact_id: ContactId,
    pub contact_name: String,
    pub avatar_url: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_group: bool,
    pub unanswered_count: i64,
    #[serde(with = "time")]
    pub last_chat_updated_at: DateTime<Utc>,
    pub chats: Vec<Chat>,
}

/// `ContactsWithChatsResponse`: a cursor page of the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactsWithChatsResponse {
    pub data: Vec<ContactWithChats>,
    pub response_metadata: ResponseMetadata,
}

/// `ResponseMetadata`: `next_cursor` is opaque; `""` means the last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub next_cursor: String,
}

impl CreateChatRequest {
    /// Find or create the chat with this phone number.
    pub fn by_phone(connection_id: ConnectionId, phone: impl Into<String>) -> Self {
        Self {
            phone: Some(phone.into()),
            ..Self::empty(connection_id)
        }
    }

    /// Find or create the chat with this username (without `@`).
    pub fn by_username(connection_id: ConnectionId, user_name: impl Into<String>) -> Self {
        Self {
            user_name: Some(user_name.into()),
            ..Self::empty(connection_id)
        }
    }

    /// Find or create the chat with this messenger-side chat id.
    pub fn by_chat_id(connection_id: ConnectionId, chat_id: impl Into<String>) -> Self {
        Self {
            chat_id: Some(chat_id.into()),
            ..Self::empty(connection_id)
        }
    }

    /// Find or create the chat of an existing contact.
    pub fn by_contact(connection_id: ConnectionId, contact_id: ContactId) -> Self {
        Self {
            contact_id: Some(contact_id),
            ..Self::empty(connection_id)
        }
    }

    /// Sets the display name used when a contact is created.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn empty(connection_id: ConnectionId) -> Self {
        Self {
            connection_id,
            contact_id: None,
            name: None,
            phone: None,
            user_name: None,
            chat_id: None,
        }
    }
}

impl ResponseMetadata {
    /// The cursor for the next page, `None` on the last page.
    pub fn next(&self) -> Option<&str> {
        Some(self.next_cursor.as_str()).filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn round_trip<T: Serialize + serde::de::DeserializeOwned>(value: Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), value);
        typed
    }

    #[test]
    fn chat_source_fixture_round_trips() {
        let source: ChatSource = round_trip(json!({"connection_id": 70001,
            "subscription": {"id": 501, "paid_until": "2026-03-12T19:35:23.763356Z",
                             "subscription_plan": "STANDARD"},
            "name": "WABA main", "type": "waba",
            "create_chat": {"with_phone": true, "with_username": false, "with_chat_id": false}}));
        assert_eq!(source.kind, ChatSourceType::Waba);
        assert!(source.create_chat.with_phone);
    }

    #[test]
    fn create_chat_constructors_write_only_their_key() {
        let c = ConnectionId(70001);
        let cases = [
            (
                CreateChatRequest::by_phone(c, "+79001234567"),
                json!({"connection_id": 70001, "phone": "+79001234567"}),
            ),
            (
                CreateChatRequest::by_username(c, "ivan_p"),
                json!({"connection_id": 70001, "user_name": "ivan_p"}),
            ),
            (
                CreateChatRequest::by_chat_id(c, "1234567"),
                json!({"connection_id": 70001, "chat_id": "1234567"}),
            ),
            (
                CreateChatRequest::by_contact(c, ContactId(32000001)).with_name("Ivan"),
                json!({"connection_id": 70001, "contact_id": 32000001, "name": "Ivan"}),
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(serde_json::to_value(&request).unwrap(), expected);
            assert_eq!(
                serde_json::from_value::<CreateChatRequest>(expected).unwrap(),
                request
            );
        }
    }

    #[test]
    fn create_chat_response_fixture_round_trips() {
        let response: CreateChatResponse = round_trip(json!(
            {"created_chat": true, "created_contact": true, "chat_id": 38000001, "contact_id": 32000001}));
        assert_eq!(response.chat_id, ChatId(38000001));
    }

    #[test]
    fn with_contacts_page_reads_last_message_with_null_content_keys() {
        let last_message = json!({"message_id": "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b",
            "source_message_id": "3EB0", "chat_id": "79000000000@c.us",
            "direction": "inbound", "message_type": "text", "author": null,
            "created_at": "2026-02-19T13:07:03Z", "delivered_at": null,
            "read_at": null, "error_at": null, "error_type": null, "error_text": null,
            "text": {"text": "Hi"}, "file": null, "image": null, "audio": null,
            "video": null, "voice": null, "waba_template": null,
            "waba_interactive": null, "radist_order": null, "waba_order": null,
            "reply_to": null});
        let chat = json!({"connection_id": 70001, "chat_id": 38000001,
            "source_chat_id": "79000000000@c.us", "phone": "79000000000", "username": null,
            "profile_link": null, "name": "Ivan", "unanswered_count": 1, "is_group": false,
            "blacklist_item_id": null, "last_message": last_message});
        let page: ContactsWithChatsResponse = serde_json::from_value(json!({
            "data": [{"contact_id": 32000001, "contact_name": "Ivan", "avatar_url": null,
                "is_group": false, "unanswered_count": 1,
                "last_chat_updated_at": "2026-02-19T13:07:03.123456Z", "chats": [chat]}],
            "response_metadata": {"next_cursor": "eyJjb250YWN0IjozMn0"}
        }))
        .unwrap();
        let chat = &page.data[0].chats[0];
        assert_eq!(
            chat.source_chat_id,
            chat.last_message.as_ref().unwrap().chat_id
        );
        assert_eq!(page.response_metadata.next(), Some("eyJjb250YWN0IjozMn0"));
        let last: ResponseMetadata = serde_json::from_value(json!({})).unwrap();
        assert_eq!(last.next(), None);
    }

    #[test]
    fn chat_out_round_trips() {
        let chat: ChatOut = round_trip(json!({"connection_id": 70003, "chat_id": 38000002,
            "source_chat_id": "555", "name": "Bot user", "phone": null, "username": "ivan_p",
            "profile_link": "https://t.me/ivan_p"}));
        assert_eq!(chat.username.as_deref(), Some("ivan_p"));
    }
}
