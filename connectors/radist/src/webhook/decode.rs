//! Decoding of the raw body: syntax, envelope, then one typed wire struct per event type,
//! each turned into a [`NormalizedEvent`]. Wire structs read only what is needed and ignore
//! unknown keys.
//!
//! A `messages.create` body, the most common, is first read straight into its wire struct
//! ([`create_at_once`]: the body checked whole, then read once, with no `Value` tree between).
//! Any body that read does not take (another event type, a repeated key, anything invalid) is
//! decoded the general way, through a `serde_json::Value`, so every error reads the same and
//! names its JSON path. Tests hold the two ways to the same event on mutated golden bodies.

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
    if let Some(event) = create_at_once(body) {
        return Ok(Decoded::Event(created_from(event)));
    }
    decode_general(body)
}

/// Decodes any body through a `serde_json::Value`, naming the JSON path of the first problem.
fn decode_general(body: &[u8]) -> Result<Decoded, DecodeError> {
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

/// A `messages.create` body (an object whose `event` is an object), read from its bytes in one
/// pass with no `Value` between; `None` for any other body. A body without the event type's
/// name anywhere (a delivery receipt, a status change) is not even tried.
fn create_at_once(body: &[u8]) -> Option<CreateEvent> {
    #[derive(Deserialize)]
    struct Body {
        event_type: String,
        event: Object<CreateEvent>,
    }
    let name = br#""messages.create""#;
    if !body.windows(name.len()).any(|w| w == name) {
        return None;
    }
    // The general way reads every value whole, so it refuses a body that is not UTF-8, or that
    // holds a bad escape or an out-of-range number anywhere, even under a key nobody reads.
    // Reading into a struct skips the values of the keys it ignores, so the body is checked
    // whole first (allocating nothing).
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str::<Valid>(text).ok()?;
    let Object(Body { event_type, event }) = serde_json::from_str(text).ok()?;
    let create = WebhookEventType::MessagesCreate.as_str();
    (event_type == create).then_some(event.0)
}

/// Any JSON value, read whole (every string unescaped, every number parsed) and kept nowhere.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValidVisitor)
    }
}

struct ValidVisitor;

impl<'de> serde::de::Visitor<'de> for ValidVisitor {
    type Value = Valid;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any json value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_str<E>(self, _: &str) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_unit<E>(self) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Valid, A::Error> {
        while items.next_element::<Valid>()?.is_some() {}
        Ok(Valid)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<Valid, A::Error> {
        while entries.next_key::<Valid>()?.is_some() {
            entries.next_value::<Valid>()?;
        }
        Ok(Valid)
    }
}

/// A `T` read only from a JSON object (serde's derived structs also take an array).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a json object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}

fn created(value: &Value) -> Result<NormalizedEvent, DecodeError> {
    let Envelope::<CreateEvent> { event } = typed(value)?;
    Ok(created_from(event))
}

fn created_from(event: CreateEvent) -> NormalizedEvent {
    let kind = match event.message.direction {
        Direction::Inbound => EventKind::MessageReceived,
        Direction::Outbound => EventKind::MessageSent,
    };
    let event_type = WebhookEventType::MessagesCreate.as_str();
    NormalizedEvent {
        kind,
        dedupe_key: dedupe::message_key(event_type, event.message.message_id),
        connection_id: event.connection_id,
        chat_id: Some(event.chat_id),
        contact_id: event.contact_id,
        chat: event.chat,
        message: Some(Box::new(event.message)),
        delivery: None,
        status: None,
    }
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

/// Deserializes `value` into `T`, reporting the JSON path of the first problem (tracked only
/// when the plain deserializer fails, as `client::transport::decode` does).
fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    T::deserialize(value)
        .or_else(|_| serde_path_to_error::deserialize(value).map_err(DecodeError::from_path))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden bodies (`tests/webhooks/*.json`).
    fn golden() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks");
        let mut bodies: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("golden files")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| {
                let body = std::fs::read(&path).expect("read");
                (path, body)
            })
            .collect();
        bodies.sort();
        bodies.into_iter().map(|(_, body)| body).collect()
    }

    /// Checks `body` both ways; whether the one-pass read took it.
    fn agrees(body: &[u8]) -> bool {
        let text = String::from_utf8_lossy(body);
        match create_at_once(body) {
            Some(event) => {
                let general = decode_general(body);
                assert_eq!(Ok(Decoded::Event(created_from(event))), general, "{text}");
                true
            }
            None => false,
        }
    }

    const MESSAGE: &str = r#"{"message_id":"b7e1d0c4-52a3-4f6e-8d19-6a0c3e9b2f74","chat_id":"77080000000@c.us","direction":"inbound","message_type":"text","text":{"text":"hi"},"created_at":"2026-12-07T10:00:00Z"}"#;

    /// The one-pass read takes every valid `messages.create` of the golden files, and bodies
    /// built to differ between the two ways are left to the general way.
    #[test]
    fn the_one_pass_read_takes_what_the_general_way_decodes_alike() {
        let mut taken = 0;
        for body in golden() {
            let create = matches!(
                decode_general(&body),
                Ok(Decoded::Event(NormalizedEvent {
                    kind: EventKind::MessageReceived | EventKind::MessageSent,
                    ..
                }))
            );
            assert_eq!(agrees(&body), create, "{}", String::from_utf8_lossy(&body));
            taken += usize::from(create);
        }
        assert!(taken >= 9, "golden messages.create files: {taken}");
        let event = format!(r#"{{"connection_id":7,"chat_id":2,"message":{MESSAGE}}}"#);
        assert!(agrees(
            format!(r#"{{"event_type":"messages.create","event":{event}}}"#).as_bytes()
        ));
        for odd in [
            // The general way keeps the last of a repeated key; the one-pass read refuses it.
            format!(r#"{{"event_type":"messages.create","event":{event},"event":{event}}}"#),
            format!(r#"{{"event_type":"messages.create","event_type":"x","event":{event}}}"#),
            format!(r#"{{"event_type":"messages.create","event":[7,2,null,null,{MESSAGE}]}}"#),
            format!(r#"["messages.create",{event}]"#),
            format!(r#"{{"event_type":"messages.delivery.read","event":{event}}}"#),
            format!(r#"{{"event_type":"messages.create","event":{event}}} trailing"#),
            r#"{"event_type":"messages.create","event":{}}"#.to_owned(),
            // Values of ignored keys that only a full read finds wrong.
            format!(r#"{{"event_type":"messages.create","x":"\uD800","event":{event}}}"#),
            format!(r#"{{"event_type":"messages.create","x":1e999,"event":{event}}}"#),
            format!(r#"{{"event_type":"messages.create","x":-1e400,"event":{event}}}"#),
        ] {
            assert!(!agrees(odd.as_bytes()), "{odd}");
        }
    }

    /// Deterministic xorshift, so a failure is reproducible.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n.max(1) as u64).unwrap_or(0)
        }
    }

    /// Whatever the one-pass read takes of many mutated golden bodies (bytes changed, inserted
    /// and cut; values replaced by other JSON; keys dropped and repeated), the general way
    /// decodes to the same event.
    #[test]
    fn mutated_bodies_decode_alike_both_ways() {
        let creates: Vec<Vec<u8>> = golden()
            .into_iter()
            .filter(|body| create_at_once(body).is_some())
            .collect();
        let replacements: [&[u8]; 9] = [
            b"null",
            b"0",
            b"-1",
            b"1.5",
            b"\"x\"",
            b"true",
            b"[]",
            b"{}",
            b"\"\\u00e9\"",
        ];
        const BYTES: &[u8] = b"{}[]:,\"0a-. \\";
        let mut rng = Rng(0x5eed_1234_abcd_0042);
        let (mut tried, mut taken) = (0, 0);
        for _ in 0..20_000 {
            let mut body = creates[rng.below(creates.len())].clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(body.len());
                match rng.below(6) {
                    0 => body[at] = BYTES[rng.below(BYTES.len())],
                    1 => body.insert(at, BYTES[rng.below(BYTES.len())]),
                    2 => {
                        body.remove(at);
                    }
                    3 | 4 => {
                        // Replace the value after a colon with other JSON.
                        if let Some(colon) = body[at..].iter().position(|b| *b == b':') {
                            let start = at + colon + 1;
                            let end = body[start..]
                                .iter()
                                .position(|b| matches!(b, b',' | b'}'))
                                .map_or(body.len(), |n| start + n);
                            let with = replacements[rng.below(replacements.len())];
                            body.splice(start..end, with.iter().copied());
                        }
                    }
                    _ => {
                        // Repeat a key: copy a `"key":value,` span to just after itself.
                        if let Some(quote) = body[at..].iter().position(|b| *b == b'"') {
                            let start = at + quote;
                            if let Some(comma) = body[start..].iter().position(|b| *b == b',') {
                                let span = body[start..=start + comma].to_vec();
                                let end = start + comma + 1;
                                body.splice(end..end, span);
                            }
                        }
                    }
                }
            }
            tried += 1;
            taken += usize::from(agrees(&body));
        }
        assert!(
            taken > tried / 20,
            "enough mutants still decode: {taken} of {tried}"
        );
    }

    /// A body or event that is an array never decodes, even when its items fit the struct.
    #[test]
    fn arrays_are_not_objects() {
        let array =
            format!(r#"{{"event_type":"messages.create","event":[7,2,null,null,{MESSAGE}]}}"#);
        assert!(create_at_once(array.as_bytes()).is_none());
        assert!(decode(array.as_bytes()).is_err());
        let object = format!(
            r#"{{"event_type":"messages.create","event":{{"connection_id":7,"chat_id":2,"message":{MESSAGE}}}}}"#
        );
        assert!(create_at_once(object.as_bytes()).is_some());
    }
}
