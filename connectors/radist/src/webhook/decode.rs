//! Decoding of the raw body: syntax, envelope, then one typed wire struct per event type,
//! each turned into a [`NormalizedEvent`]. Wire structs read only what is needed and ignore
//! unknown keys.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::dedupe;
use super::error::DecodeError;
use super::event::{
    ConnectionStatus, Decoded, DeliveryInfo, DeliveryStatus, EventKind, NormalizedEvent,
    WebhookChat,
};
use crate::error::input_excerpt;
use crate::models::{
    ChatId, ConnectionId, ConnectionStatusSubtype, ConnectionStatusType, ContactId, Direction,
    Message, MessageErrorType, MessageId, WebhookEventType, time,
};

/// `{"event_type": …}`, read first to pick the event's wire struct.
#[derive(Deserialize)]
struct Head {
    event_type: String,
}

/// `{"event": …}` with the event typed.
#[derive(Deserialize)]
struct Envelope<E> {
    event: E,
}

/// `messages.create` (API.md §7.2, Appendix B).
#[derive(Deserialize)]
struct CreateEvent {
    connection_id: ConnectionId,
    chat_id: ChatId,
    contact_id: Option<ContactId>,
    chat: Option<WebhookChat>,
    message: Message,
}

/// `messages.delivery.*` (GUESS: same envelope, only the message id is required).
#[derive(Deserialize)]
struct DeliveryEvent {
    connection_id: ConnectionId,
    chat_id: Option<ChatId>,
    contact_id: Option<ContactId>,
    chat: Option<WebhookChat>,
    message: DeliveryMessage,
}

/// The part of `event.message` a delivery event needs.
#[derive(Deserialize)]
struct DeliveryMessage {
    message_id: MessageId,
    #[serde(default, with = "time::opt")]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time::opt")]
    read_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time::opt")]
    error_at: Option<DateTime<Utc>>,
    error_type: Option<MessageErrorType>,
    error_text: Option<String>,
}

/// `connections.status_changed` (GUESS): the status nested as `status` or `last_status`,
/// or flat `status_type` / `status_subtype`.
#[derive(Deserialize)]
struct StatusEvent {
    connection_id: ConnectionId,
    status: Option<ConnectionStatus>,
    last_status: Option<ConnectionStatus>,
    status_type: Option<ConnectionStatusType>,
    status_subtype: Option<ConnectionStatusSubtype>,
}

/// Decodes one webhook body (see [`crate::webhook`]).
pub fn decode(body: &[u8]) -> Result<Decoded, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let value: Value = serde_json::from_slice(body).map_err(|err| DecodeError::from_json(&err))?;
    let object = value.as_object();
    let object = object.ok_or_else(|| not_object("body", &value))?;
    let head: Head = typed(&value)?;
    let Some(event_type) = WebhookEventType::from_wire(&head.event_type) else {
        let event_type = input_excerpt(&head.event_type);
        return Ok(Decoded::Unsupported { event_type });
    };
    if let Some(event) = object.get("event").filter(|event| !event.is_object()) {
        return Err(not_object("event", event));
    }
    let event = match event_type {
        WebhookEventType::MessagesCreate => created(&value)?,
        WebhookEventType::MessagesDeliveryDelivered
        | WebhookEventType::MessagesDeliveryRead
        | WebhookEventType::MessagesDeliveryError => delivery(event_type, &value)?,
        WebhookEventType::ConnectionsStatusChanged => status_changed(&value)?,
    };
    Ok(Decoded::Event(event))
}

fn created(value: &Value) -> Result<NormalizedEvent, DecodeError> {
    let Envelope::<CreateEvent> { event } = typed(value)?;
    let kind = match event.message.direction {
        Direction::Inbound => EventKind::MessageReceived,
        Direction::Outbound => EventKind::MessageSent,
    };
    let event_type = WebhookEventType::MessagesCreate.as_str();
    Ok(NormalizedEvent {
        kind,
        dedupe_key: dedupe::message_key(event_type, event.message.message_id),
        connection_id: event.connection_id,
        chat_id: Some(event.chat_id),
        contact_id: event.contact_id,
        chat: event.chat,
        message: Some(Box::new(event.message)),
        delivery: None,
        status: None,
    })
}

fn delivery(event_type: WebhookEventType, value: &Value) -> Result<NormalizedEvent, DecodeError> {
    let Envelope::<DeliveryEvent> { event } = typed(value)?;
    let m = event.message;
    let (kind, status, at) = match event_type {
        WebhookEventType::MessagesDeliveryDelivered => (
            EventKind::MessageDelivered,
            DeliveryStatus::Delivered,
            m.delivered_at,
        ),
        WebhookEventType::MessagesDeliveryRead => {
            (EventKind::MessageRead, DeliveryStatus::Read, m.read_at)
        }
        _ => (EventKind::MessageFailed, DeliveryStatus::Failed, m.error_at),
    };
    let full_message = value.pointer("/event/message").cloned();
    let message = full_message.and_then(|raw| serde_json::from_value(raw).ok());
    let delivery = DeliveryInfo {
        message_id: m.message_id,
        status,
        at,
        error_type: m.error_type,
        error_text: m.error_text,
    };
    Ok(NormalizedEvent {
        kind,
        dedupe_key: dedupe::message_key(event_type.as_str(), m.message_id),
        connection_id: event.connection_id,
        chat_id: event.chat_id,
        contact_id: event.contact_id,
        chat: event.chat,
        message,
        delivery: Some(delivery),
        status: None,
    })
}

fn status_changed(value: &Value) -> Result<NormalizedEvent, DecodeError> {
    let Envelope::<StatusEvent> { event } = typed(value)?;
    let flat = event.status_type.map(|status_type| ConnectionStatus {
        status_type,
        status_subtype: event.status_subtype,
    });
    let status = event.status.or(event.last_status).or(flat).ok_or_else(|| {
        DecodeError::invalid(
            "event",
            "missing the connection status: expected `status`, `last_status` or `status_type`",
        )
    })?;
    let raw_event = value.get("event").unwrap_or(&Value::Null);
    let event_type = WebhookEventType::ConnectionsStatusChanged.as_str();
    Ok(NormalizedEvent {
        kind: EventKind::ConnectionStatusChanged,
        dedupe_key: dedupe::status_key(event_type, event.connection_id, raw_event),
        connection_id: event.connection_id,
        chat_id: None,
        contact_id: None,
        chat: None,
        message: None,
        delivery: None,
        status: Some(status),
    })
}

/// Deserializes `value` into `T`, reporting the JSON path of the first problem.
fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(DecodeError::from_path)
}

fn not_object(path: &str, value: &Value) -> DecodeError {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    DecodeError::invalid(path, format!("must be a json object (got {found})"))
}
