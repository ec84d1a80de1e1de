//! Decoding of Radist webhooks into normalized events with dedupe keys.
//!
//! Radist POSTs `{"event_type": "…", "event": {…}}` (API.md §7.2). [`decode`] turns the raw
//! body into a [`Decoded`]:
//!
//! | `event_type` | [`EventKind`] |
//! |---|---|
//! | `messages.create`, `direction: inbound` | `message.received` |
//! | `messages.create`, `direction: outbound` | `message.sent` (our own sends echo here too) |
//! | `messages.delivery.delivered` / `.read` / `.error` | `message.delivered` / `.read` / `.failed` |
//! | `connections.status_changed` | `connection.status-changed` |
//! | anything else | [`Decoded::Unsupported`], not an error (the name cut to 200 chars) |
//!
//! Unknown keys are ignored everywhere. A body that is not JSON, not an object, or has a
//! missing or mistyped field fails with a [`DecodeError`] naming the JSON path (or line and
//! column), e.g. `event.chat_id: invalid type: string "abc", expected i64`.
//!
//! Shapes that were never observed are decoded leniently (API.md §7.2 GUESS): a delivery
//! event needs only `event.connection_id` and `event.message.message_id`; a status change
//! accepts `status`, `last_status` or flat `status_type`/`status_subtype`.
//!
//! # Dedupe keys
//!
//! [`NormalizedEvent::dedupe_key`] is the same for every redelivery of one logical event and
//! differs between events, so the inbox can keep it under a unique index:
//!
//! - messages: `radist:<event_type>:<message_id>`, e.g.
//!   `radist:messages.create:6f1c…`, `radist:messages.delivery.read:6f1c…`. A message is
//!   created once and reaches each delivery status once, and `message_id` is a UUID.
//! - status changes: `radist:connections.status_changed:<connection_id>:<sha256>`, the
//!   lowercase hex SHA-256 of the canonical `event` object (keys sorted at every level,
//!   compact, unknown keys included). Whitespace and key order of a redelivery do not
//!   matter. Limit: if Radist sends no timestamp, a connection that goes good → bad → good
//!   repeats the first key, and the second `good` is treated as a duplicate.
//!
//! Delivery statuses only move forward: use [`status_advances`] before storing one.

mod decode;
mod dedupe;
mod error;
mod event;

pub use decode::decode;
pub use dedupe::write_canonical;
pub use error::DecodeError;
pub use event::{
    ConnectionStatus, Decoded, DeliveryInfo, DeliveryStatus, EventKind, NormalizedEvent,
    UnknownEventKind, WebhookChat, status_advances,
};
