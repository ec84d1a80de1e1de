//! Identifier newtypes: Radist integer ids, UUID ids and the messenger-side chat id.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw wire value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }
    };
}

id_newtype!(
    /// Radist company id (`company_id`, integer 1..2147483647).
    CompanyId(i64)
);
id_newtype!(
    /// Radist connection id (`connection_id`, integer).
    ConnectionId(i64)
);
id_newtype!(
    /// Radist integer chat id (`Chat.chat_id`, `SendMessageRequest.chat_id`, webhook `event.chat_id`).
    ChatId(i64)
);
id_newtype!(
    /// Radist contact id (`ContactOut.id`, `contact_id`).
    ContactId(i64)
);
id_newtype!(
    /// Radist message id (`Message.message_id`, a UUID).
    MessageId(Uuid)
);
id_newtype!(
    /// Webhook subscription id (`WebhookConfigConnectionMessagingOut.id`, a UUID).
    WebhookId(Uuid)
);

id_newtype!(
    /// Company tag id (`TagOut.id`, `tag_id`, integer ≥ 1).
    TagId(i64)
);
id_newtype!(
    /// Contact note id (`NoteOut.id`, `note_id`, integer ≥ 1).
    NoteId(i64)
);
id_newtype!(
    /// Quick-reply template id (`MessageTemplateOut.id`, `template_id`, integer ≥ 1).
    QuickReplyId(i64)
);

/// Messenger-side chat id (`Message.chat_id`, `Chat.source_chat_id`), e.g. `79000000000@c.us`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceChatId(pub String);

impl SourceChatId {
    /// The raw wire value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for SourceChatId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SourceChatId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_transparent_on_the_wire() {
        assert_eq!(
            serde_json::to_value(ChatId(38000001)).unwrap(),
            json!(38000001)
        );
        let id: MessageId =
            serde_json::from_value(json!("6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b")).unwrap();
        assert_eq!(id.to_string(), "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b");
        let source: SourceChatId = serde_json::from_value(json!("79000000000@c.us")).unwrap();
        assert_eq!(source.as_str(), "79000000000@c.us");
        assert_eq!(ContactId::from(5).to_string(), "5");
    }
}
