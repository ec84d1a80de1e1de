//! The event types plugins receive, re-exported from the WIT bindings under a stable path, and
//! the conversion of a normalized Radist webhook into the plugin's event.
//!
//! These are plain Rust data types (records, variants) generated from `plugin.wit`.

use chrono::{DateTime, Utc};
use radist_connector::models::{self as wire, ChatSourceType};
use radist_connector::webhook::{EventKind, NormalizedEvent};
use serde::Serialize;

pub use crate::bindings::switchboard::plugin::types::{
    ChatInfo, ConnectionStatusEvent, Datetime, DeliveryEvent, Direction, Event as PluginEvent,
    InteractiveContent, Media, Message, MessageContent, MessageEvent, RunInfo, ScheduleEvent,
    SourceType, TemplateContent,
};

/// What the host knows about a webhook beyond its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookContext {
    /// The message of a `message.sent` event was sent by Switchboard itself.
    pub own_echo: bool,
    /// The messenger behind the event's connection, when known.
    pub source_type: Option<SourceType>,
}

/// The plugin's view of a normalized Radist webhook.
pub fn from_webhook(event: &NormalizedEvent, context: WebhookContext) -> PluginEvent {
    let connection_id = event.connection_id.0;
    let chat_id = event.chat_id.map(|c| c.0);
    match event.kind {
        EventKind::MessageReceived => PluginEvent::MessageReceived(message_event(event, context)),
        EventKind::MessageSent => PluginEvent::MessageSent(message_event(event, context)),
        EventKind::MessageDelivered => PluginEvent::MessageDelivered(delivery(event, chat_id)),
        EventKind::MessageRead => PluginEvent::MessageRead(delivery(event, chat_id)),
        EventKind::MessageFailed => PluginEvent::MessageFailed(delivery(event, chat_id)),
        EventKind::ConnectionStatusChanged => {
            let status = event.status.as_ref();
            PluginEvent::ConnectionStatusChanged(ConnectionStatusEvent {
                connection_id,
                status: status
                    .map(|s| wire_name(&s.status_type))
                    .unwrap_or_default(),
                subtype: status
                    .and_then(|s| s.status_subtype.as_ref())
                    .map(wire_name),
            })
        }
    }
}

/// The WIT source type of a Radist chat source type.
pub fn source_type(kind: ChatSourceType) -> SourceType {
    crate::messenger::to_wit(crate::messenger::of_chat(kind))
}

/// A UTC instant as the WIT `datetime`.
pub fn datetime(at: DateTime<Utc>) -> Datetime {
    Datetime {
        seconds: at.timestamp(),
        nanoseconds: at.timestamp_subsec_nanos(),
    }
}

fn message_event(event: &NormalizedEvent, context: WebhookContext) -> MessageEvent {
    let chat = event.chat.clone().unwrap_or_default();
    MessageEvent {
        connection_id: event.connection_id.0,
        chat_id: event.chat_id.map_or(0, |c| c.0),
        contact_id: event.contact_id.map(|c| c.0),
        source_type: context.source_type,
        chat: ChatInfo {
            name: chat.name,
            phone: chat.phone,
            username: chat.username,
            profile_link: chat.profile_link,
        },
        message: event
            .message
            .as_deref()
            .map(message)
            .unwrap_or_else(empty_message),
        own_echo: context.own_echo && event.kind == EventKind::MessageSent,
    }
}

/// The plugin's view of a Radist message.
pub(crate) fn message(m: &wire::Message) -> Message {
    Message {
        message_id: m.message_id.to_string(),
        source_message_id: m.source_message_id.clone(),
        source_chat_id: m.chat_id.0.clone(),
        direction: match m.direction {
            wire::Direction::Inbound => Direction::Inbound,
            wire::Direction::Outbound => Direction::Outbound,
        },
        created_at: datetime(m.created_at),
        content: content(m),
        reply_to: m
            .reply_to
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|id| id.to_string()),
    }
}

fn content(m: &wire::Message) -> MessageContent {
    use wire::MessageType as T;
    let media = |c: &Option<wire::MediaMessageContent>| c.as_ref().map(media);
    let found = match m.message_type {
        T::Text => m
            .text
            .as_ref()
            .map(|t| MessageContent::Text(t.text.clone())),
        T::File => media(&m.file).map(MessageContent::File),
        T::Image => media(&m.image).map(MessageContent::Image),
        T::Audio => media(&m.audio).map(MessageContent::Audio),
        T::Video => media(&m.video).map(MessageContent::Video),
        T::Voice => media(&m.voice).map(MessageContent::Voice),
        T::WabaTemplate => m.waba_template.as_ref().map(|t| {
            MessageContent::WabaTemplate(TemplateContent {
                name: t.template_name.clone(),
                locale: t.template_locale.clone(),
                text: t.text.clone(),
            })
        }),
        T::WabaInteractive => m.waba_interactive.as_ref().map(interactive),
        T::RadistOrder => m
            .radist_order
            .as_ref()
            .map(|o| MessageContent::Order(json(o))),
        T::WabaOrder => m
            .waba_order
            .as_ref()
            .map(|o| MessageContent::Order(json(o))),
        _ => None,
    };
    found.unwrap_or_else(|| MessageContent::Other(json(m)))
}

fn media(c: &wire::MediaMessageContent) -> Media {
    Media {
        url: c.url.clone(),
        caption: c.caption.clone(),
        name: c.name.clone(),
        size: u64::try_from(c.size).unwrap_or(0),
        mime_type: c.mime_type.clone(),
    }
}

fn interactive(c: &wire::WabaInteractiveMessageContent) -> MessageContent {
    let body_text = c
        .body
        .get("text")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    MessageContent::WabaInteractive(InteractiveContent {
        kind: c.kind.as_ref().map(wire_name),
        body_text: body_text.to_owned(),
        json: json(c),
    })
}

fn delivery(event: &NormalizedEvent, chat_id: Option<i64>) -> DeliveryEvent {
    let info = event.delivery.as_ref();
    DeliveryEvent {
        connection_id: event.connection_id.0,
        chat_id,
        message_id: info.map(|d| d.message_id.to_string()).unwrap_or_default(),
        at: info.and_then(|d| d.at).map(datetime),
        error_type: info.and_then(|d| d.error_type.as_ref()).map(wire_name),
        error_text: info.and_then(|d| d.error_text.clone()),
    }
}

fn empty_message() -> Message {
    Message {
        message_id: String::new(),
        source_message_id: None,
        source_chat_id: String::new(),
        direction: Direction::Inbound,
        created_at: Datetime {
            seconds: 0,
            nanoseconds: 0,
        },
        content: MessageContent::Other("null".to_owned()),
        reply_to: None,
    }
}

/// The wire name of a serde enum value (`good`, `GENERIC_ERROR`, `button`).
fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// An inbound text message in `chat_id` on `connection_id`, from a chat of `source_type`, with
/// nothing else known: the event the runtime's tests start from.
#[cfg(test)]
pub(crate) fn text_received(
    connection_id: i64,
    chat_id: i64,
    source_type: Option<SourceType>,
    text: &str,
) -> MessageEvent {
    MessageEvent {
        connection_id,
        chat_id,
        contact_id: None,
        source_type,
        chat: ChatInfo {
            name: None,
            phone: None,
            username: None,
            profile_link: None,
        },
        message: Message {
            content: MessageContent::Text(text.to_owned()),
            ..empty_message()
        },
        own_echo: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use radist_connector::webhook::{Decoded, decode};

    fn decoded(body: &str) -> NormalizedEvent {
        match decode(body.as_bytes()) {
            Ok(Decoded::Event(event)) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn inbound_text_becomes_message_received() {
        let event = decoded(
            r#"{"event_type":"messages.create","event":{"connection_id":70001,"chat_id":38000001,"contact_id":32000001,
            "chat":{"phone":"79000000000","name":"Ivan"},"message":{"message_id":"9b2f1f64-8f0e-4f57-9a1c-2d4c8f8e0a11",
            "chat_id":"79000000000","direction":"inbound","message_type":"text","created_at":"2026-02-19T13:07:03Z",
            "text":{"text":"Hi"}}}}"#,
        );
        let context = WebhookContext {
            own_echo: true,
            source_type: Some(SourceType::Waba),
        };
        let PluginEvent::MessageReceived(m) = from_webhook(&event, context) else {
            panic!("wrong kind")
        };
        assert_eq!(
            (m.connection_id, m.chat_id, m.contact_id),
            (70001, 38000001, Some(32000001))
        );
        assert_eq!(m.chat.name.as_deref(), Some("Ivan"));
        assert!(matches!(m.message.content, MessageContent::Text(ref t) if t == "Hi"));
        assert_eq!(m.message.created_at.seconds, 1771506423);
        assert!(!m.own_echo, "only message.sent can be an own echo");
        assert_eq!(m.source_type, Some(SourceType::Waba));
    }

    #[test]
    fn delivery_error_keeps_the_error_type() {
        let event = decoded(
            r#"{"event_type":"messages.delivery.error","event":{"connection_id":70001,"chat_id":38000001,
            "message":{"message_id":"9b2f1f64-8f0e-4f57-9a1c-2d4c8f8e0a11","chat_id":"79000000000","direction":"outbound",
            "message_type":"text","created_at":"2026-02-19T13:07:03Z","error_at":"2026-02-19T13:07:04Z",
            "error_type":"GENERIC_ERROR","error_text":"re-engagement"}}}"#,
        );
        let PluginEvent::MessageFailed(d) = from_webhook(&event, WebhookContext::default()) else {
            panic!("wrong kind")
        };
        assert_eq!(d.error_type.as_deref(), Some("GENERIC_ERROR"));
        assert_eq!(d.message_id, "9b2f1f64-8f0e-4f57-9a1c-2d4c8f8e0a11");
    }
}
