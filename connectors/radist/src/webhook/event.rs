//! The normalized event the host stores and hands to plugins, its kinds, and the forward-only
//! delivery status order.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::{
    ChatId, ConnectionId, ConnectionStatusSubtype, ConnectionStatusType, ContactId, Message,
    MessageErrorType, MessageId, time,
};

/// The outcome of decoding one webhook body.
// One per request, consumed at once: a ~230-byte variant costs less than a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decoded {
    /// A known event, normalized.
    Event(NormalizedEvent),
    /// A well-formed envelope whose `event_type` this crate does not handle; not an error.
    Unsupported { event_type: String },
}

/// One Radist webhook event in Switchboard's terms (DESIGN.md "Normalized triggers").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    pub kind: EventKind,
    /// Stable across redeliveries of the same event, distinct between events (see
    /// [`crate::webhook`] for the scheme).
    pub dedupe_key: String,
    pub connection_id: ConnectionId,
    /// Radist integer chat id; always set for messages, when sent for delivery events.
    pub chat_id: Option<ChatId>,
    pub contact_id: Option<ContactId>,
    pub chat: Option<WebhookChat>,
    /// The message: always for `message.*` created events; for delivery events only when
    /// `event.message` is a complete `Message`. Boxed: a `Message` is large.
    pub message: Option<Box<Message>>,
    /// Set for `message.delivered`, `message.read` and `message.failed`.
    pub delivery: Option<DeliveryInfo>,
    /// Set for `connection.status-changed`.
    pub status: Option<ConnectionStatus>,
}

/// `event.chat`: what Radist tells about the chat (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookChat {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub profile_link: Option<String>,
}

/// A delivery status change of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    pub message_id: MessageId,
    pub status: DeliveryStatus,
    /// `delivered_at`, `read_at` or `error_at` of the message, when sent.
    #[serde(default, with = "time::opt")]
    pub at: Option<DateTime<Utc>>,
    pub error_type: Option<MessageErrorType>,
    pub error_text: Option<String>,
}

/// A connection's new health, `status_subtype` when sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub status_type: ConnectionStatusType,
    pub status_subtype: Option<ConnectionStatusSubtype>,
}

/// What happened, as plugins subscribe to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// `messages.create`, inbound.
    #[serde(rename = "message.received")]
    MessageReceived,
    /// `messages.create`, outbound (including our own sends echoed back).
    #[serde(rename = "message.sent")]
    MessageSent,
    /// `messages.delivery.delivered`.
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    /// `messages.delivery.read`.
    #[serde(rename = "message.read")]
    MessageRead,
    /// `messages.delivery.error`.
    #[serde(rename = "message.failed")]
    MessageFailed,
    /// `connections.status_changed`.
    #[serde(rename = "connection.status-changed")]
    ConnectionStatusChanged,
}

/// Delivery state of an outbound message: `sent < delivered < read`, `failed` terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

/// [`EventKind::from_str`] got a name that is not a kind (quoted, cut to
/// [`INPUT_EXCERPT_CHARS`](crate::error::INPUT_EXCERPT_CHARS) characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{0}`; expected one of {list}", list = EventKind::names())]
pub struct UnknownEventKind(pub String);

impl EventKind {
    /// Every kind, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::MessageReceived,
        Self::MessageSent,
        Self::MessageDelivered,
        Self::MessageRead,
        Self::MessageFailed,
        Self::ConnectionStatusChanged,
    ];

    /// The trigger name used in manifests, e.g. `message.received`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageReceived => "message.received",
            Self::MessageSent => "message.sent",
            Self::MessageDelivered => "message.delivered",
            Self::MessageRead => "message.read",
            Self::MessageFailed => "message.failed",
            Self::ConnectionStatusChanged => "connection.status-changed",
        }
    }

    /// The delivery status this kind reports, for outbound-message kinds.
    pub fn delivery_status(self) -> Option<DeliveryStatus> {
        match self {
            Self::MessageSent => Some(DeliveryStatus::Sent),
            Self::MessageDelivered => Some(DeliveryStatus::Delivered),
            Self::MessageRead => Some(DeliveryStatus::Read),
            Self::MessageFailed => Some(DeliveryStatus::Failed),
            Self::MessageReceived | Self::ConnectionStatusChanged => None,
        }
    }

    fn names() -> String {
        let names: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownEventKind(crate::error::input_excerpt(name)))
    }
}

/// Whether a message whose stored status is `current` should move to `next`.
///
/// Only forward moves count: `sent < delivered < read`. `failed` is terminal and can follow
/// `sent` or `delivered`, not `read` (a read message was delivered). Repeats return `false`,
/// so duplicated and reordered webhooks never move a status back.
pub fn status_advances(current: Option<DeliveryStatus>, next: DeliveryStatus) -> bool {
    let Some(current) = current else {
        return true;
    };
    match (current, next) {
        (DeliveryStatus::Failed, _) => false,
        (DeliveryStatus::Read, DeliveryStatus::Failed) => false,
        (_, DeliveryStatus::Failed) => true,
        (current, next) => next.rank() > current.rank(),
    }
}

impl DeliveryStatus {
    fn rank(self) -> u8 {
        match self {
            Self::Sent => 0,
            Self::Delivered => 1,
            Self::Read => 2,
            Self::Failed => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::{Delivered, Failed, Read, Sent};

    fn check(current: Option<DeliveryStatus>, next: DeliveryStatus, expected: bool) {
        let got = status_advances(current, next);
        assert_eq!(got, expected, "{current:?} -> {next:?}");
    }

    #[test]
    fn statuses_only_move_forward() {
        for next in [Sent, Delivered, Read, Failed] {
            check(None, next, true);
            check(Some(Failed), next, false);
            check(Some(next), next, false);
        }
        check(Some(Sent), Delivered, true);
        check(Some(Sent), Read, true);
        check(Some(Delivered), Read, true);
        check(Some(Delivered), Sent, false);
        check(Some(Read), Delivered, false);
        check(Some(Read), Sent, false);
        check(Some(Sent), Failed, true);
        check(Some(Delivered), Failed, true);
        check(Some(Read), Failed, false);
    }

    #[test]
    fn kinds_round_trip_through_str_and_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let wire = serde_json::to_value(kind).unwrap();
            assert_eq!(wire, serde_json::json!(kind.as_str()));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let err = "message.create".parse::<EventKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown event kind `message.create`; expected one of message.received, \
             message.sent, message.delivered, message.read, message.failed, \
             connection.status-changed"
        );
    }

    #[test]
    fn only_outbound_kinds_carry_a_delivery_status() {
        assert_eq!(EventKind::MessageSent.delivery_status(), Some(Sent));
        assert_eq!(EventKind::MessageFailed.delivery_status(), Some(Failed));
        assert_eq!(EventKind::MessageReceived.delivery_status(), None);
        assert_eq!(EventKind::ConnectionStatusChanged.delivery_status(), None);
    }
}
