//! Accessors on the event types, so handlers read `event.message_text()` instead of matching
//! the whole variant.

use crate::{ChatId, ConnectionId, Direction, Event, MessageContent, MessageEvent, ScheduleEvent};
use serde::de::DeserializeOwned;

impl Event {
    /// The trigger name as manifests spell it (`message.received`, `schedule.fired`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::MessageReceived(_) => "message.received",
            Event::MessageSent(_) => "message.sent",
            Event::MessageDelivered(_) => "message.delivered",
            Event::MessageRead(_) => "message.read",
            Event::MessageFailed(_) => "message.failed",
            Event::ConnectionStatusChanged(_) => "connection.status-changed",
            Event::ScheduleFired(_) => "schedule.fired",
            Event::Manual(_) => "manual",
        }
    }

    /// The message of `message.received` or `message.sent`.
    pub fn message(&self) -> Option<&MessageEvent> {
        match self {
            Event::MessageReceived(m) | Event::MessageSent(m) => Some(m),
            _ => None,
        }
    }

    /// The message of `message.received` only: what a customer wrote.
    pub fn received(&self) -> Option<&MessageEvent> {
        match self {
            Event::MessageReceived(m) => Some(m),
            _ => None,
        }
    }

    /// The text of a text message event (see [`MessageEvent::text`]).
    pub fn message_text(&self) -> Option<&str> {
        self.message().and_then(MessageEvent::text)
    }

    /// `(connection id, chat id)` of events that belong to a chat.
    pub fn chat(&self) -> Option<(ConnectionId, ChatId)> {
        match self {
            Event::MessageReceived(m) | Event::MessageSent(m) => Some((m.connection_id, m.chat_id)),
            Event::MessageDelivered(d) | Event::MessageRead(d) | Event::MessageFailed(d) => {
                d.chat_id.map(|chat| (d.connection_id, chat))
            }
            _ => None,
        }
    }

    /// The slot of a `schedule.fired` event.
    pub fn schedule(&self) -> Option<&ScheduleEvent> {
        match self {
            Event::ScheduleFired(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON payload of a `manual` event, as text.
    pub fn manual_payload(&self) -> Option<&str> {
        match self {
            Event::Manual(payload) => Some(payload),
            _ => None,
        }
    }

    /// The JSON payload of a `manual` event, decoded.
    pub fn manual_json<T: DeserializeOwned>(&self) -> Option<Result<T, String>> {
        self.manual_payload().map(|raw| {
            serde_json::from_str(raw).map_err(|e| format!("manual payload is not valid: {e}"))
        })
    }
}

impl MessageEvent {
    /// The text of a text message, or the caption of a media message when it has one.
    pub fn text(&self) -> Option<&str> {
        match &self.message.content {
            MessageContent::Text(text) => Some(text),
            MessageContent::File(m)
            | MessageContent::Image(m)
            | MessageContent::Audio(m)
            | MessageContent::Video(m)
            | MessageContent::Voice(m) => Some(m.caption.as_str()).filter(|c| !c.is_empty()),
            _ => None,
        }
    }

    /// Whether the customer wrote it (as opposed to an operator, Radist or Switchboard).
    pub fn is_inbound(&self) -> bool {
        matches!(self.message.direction, Direction::Inbound)
    }
}
