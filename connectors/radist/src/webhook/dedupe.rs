//! Dedupe keys (scheme in [`crate::webhook`]) and the canonical JSON they hash.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::models::{ConnectionId, MessageId};

/// Prefix of every key, so keys of other sources never collide with Radist's.
const SOURCE: &str = "radist";

/// Key of a message event: one per (event type, message).
pub(crate) fn message_key(event_type: &str, message_id: MessageId) -> String {
    format!("{SOURCE}:{event_type}:{message_id}")
}

/// Key of a connection status change: the connection and a hash of the whole event.
pub(crate) fn status_key(event_type: &str, connection_id: ConnectionId, event: &Value) -> String {
    let digest = Sha256::digest(canonical(event).as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{SOURCE}:{event_type}:{connection_id}:{hex}")
}

/// Compact JSON with object keys sorted at every level, so key order and whitespace of a
/// redelivery do not change the hash.
pub(crate) fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Appends `value` as compact JSON with object keys sorted at every level (the canonical form
/// the dedupe key hashes; the runtime's fingerprints use it too).
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: &str, expected: &str) {
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(canonical(&value), expected, "input {input}");
    }

    #[test]
    fn canonical_form_sorts_keys_and_drops_whitespace() {
        check(
            r#"{ "b": 1, "a": [ {"d": null, "c": "x"} ] }"#,
            r#"{"a":[{"c":"x","d":null}],"b":1}"#,
        );
        check(r#""é\n""#, r#""é\n""#);
        check("[1.5, -2, true]", "[1.5,-2,true]");
    }

    #[test]
    fn status_key_ignores_key_order_but_not_values() {
        let conn = ConnectionId(70001);
        let a = status_key(
            "connections.status_changed",
            conn,
            &json!({"x": 1, "y": "bad"}),
        );
        let b = status_key(
            "connections.status_changed",
            conn,
            &json!({"y": "bad", "x": 1}),
        );
        let c = status_key(
            "connections.status_changed",
            conn,
            &json!({"x": 1, "y": "good"}),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(
            a.starts_with("radist:connections.status_changed:70001:"),
            "{a}"
        );
        assert_eq!(
            a.len(),
            "radist:connections.status_changed:70001:".len() + 64
        );
    }
}
