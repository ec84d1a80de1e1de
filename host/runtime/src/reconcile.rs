//! Read-back reconciliation of a send an earlier attempt left without a result: which of a chat's
//! newest messages, if any, is that send. Radist's send API has no idempotency key, so the only
//! way to know whether a send whose answer was lost reached the chat is to look.
//!
//! A send and a listed message are compared by a content key computed the same way from both:
//! the message type and its text — the text of a text message, the caption of a media message,
//! the body of an interactive message, the name and locale of a WABA template — with whitespace
//! runs collapsed and the ends trimmed. Radist stores a template rendered, not its parameters, so
//! a template additionally matches only when every body parameter appears in the rendered text.
//! A message counts as the send when it is outbound, has the same key, is dated at or after the
//! intent minus the allowed clock skew, and is not already the effect of another action — of this
//! run or of any other (the ledger knows every message id an action created: another run's
//! identical reply in the same chat is not this send); of several, the oldest.

use chrono::{DateTime, Utc};
use radist_connector::models::{
    Direction, MediaMessageContent, Message, MessageType, OutgoingContent, SendMessageRequest,
};
use sha2::{Digest, Sha256};

/// The content of a send, as it can be recognised in the chat's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentKey {
    /// sha256 of the normalised type and text parts.
    digest: String,
    /// Template body parameters, each of which must appear in the rendered text.
    params: Vec<String>,
}

impl ContentKey {
    /// The key of an outgoing request; `None` for a request without content.
    pub(crate) fn of_request(request: &SendMessageRequest) -> Option<ContentKey> {
        let (kind, parts, params) = match request.content()? {
            OutgoingContent::Text(t) => ("text", vec![t.text.as_str()], Vec::new()),
            OutgoingContent::Media(kind, m) => (
                kind.message_type().as_str(),
                vec![m.caption.as_str()],
                Vec::new(),
            ),
            OutgoingContent::WabaTemplate(t) => {
                let parts = vec![t.template_name.as_str(), t.template_locale.as_str()];
                ("waba_template", parts, t.body_params.clone())
            }
            OutgoingContent::WabaInteractive(i) => {
                ("waba_interactive", vec![i.body.as_str()], Vec::new())
            }
        };
        Some(ContentKey {
            digest: digest(kind, &parts),
            params,
        })
    }

    /// Whether `message` (as listed by Radist) has this content.
    pub(crate) fn matches(&self, message: &Message) -> bool {
        let Some((kind, parts)) = listed_parts(message) else {
            return false;
        };
        if digest(kind, &parts) != self.digest {
            return false;
        }
        let rendered = message.waba_template.as_ref().map(|t| normalise(&t.text));
        self.params.iter().all(|p| {
            rendered
                .as_deref()
                .is_some_and(|text| text.contains(normalise(p).as_str()))
        })
    }
}

/// The messages among `messages` that could be the send keyed `key` (outbound, that content,
/// dated at or after `not_before`), oldest first. The caller takes the first one no action has
/// already claimed as its effect.
pub(crate) fn candidates<'m>(
    messages: &'m [Message],
    key: &ContentKey,
    not_before: DateTime<Utc>,
) -> Vec<&'m Message> {
    let mut found: Vec<&Message> = messages
        .iter()
        .filter(|m| m.direction == Direction::Outbound && m.created_at >= not_before)
        .filter(|m| key.matches(m))
        .collect();
    found.sort_by_key(|m| m.created_at);
    found
}

/// The type and text parts of a listed message, or `None` for a type a send cannot produce.
fn listed_parts(m: &Message) -> Option<(&'static str, Vec<&str>)> {
    fn caption(c: &Option<MediaMessageContent>) -> Option<&str> {
        c.as_ref().map(|c| c.caption.as_str())
    }
    let kind = m.message_type.as_str();
    let parts = match m.message_type {
        MessageType::Text => vec![m.text.as_ref()?.text.as_str()],
        MessageType::File => vec![caption(&m.file)?],
        MessageType::Image => vec![caption(&m.image)?],
        MessageType::Audio => vec![caption(&m.audio)?],
        MessageType::Video => vec![caption(&m.video)?],
        MessageType::Voice => vec![caption(&m.voice)?],
        MessageType::WabaTemplate => {
            let t = m.waba_template.as_ref()?;
            vec![t.template_name.as_str(), t.template_locale.as_str()]
        }
        MessageType::WabaInteractive => {
            let body = m.waba_interactive.as_ref()?.body.get("text")?;
            vec![body.as_str()?]
        }
        _ => return None,
    };
    Some((kind, parts))
}

fn digest(kind: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for part in parts {
        hasher.update(b"\n");
        hasher.update(normalise(part).as_bytes());
    }
    crate::cache::hex(&hasher.finalize())
}

/// Whitespace runs collapsed to one space, ends trimmed.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use radist_connector::models::{ChatId, WabaTemplateIn};
    use serde_json::json;

    fn listed(id: u128, direction: &str, at: &str, content: serde_json::Value) -> Message {
        let mut m = json!({
            "message_id": uuid(id), "chat_id": "src-1", "direction": direction,
            "created_at": at,
        });
        if let (Some(m), Some(c)) = (m.as_object_mut(), content.as_object()) {
            m.extend(c.clone());
        }
        serde_json::from_value(m).expect("a listed message")
    }

    fn uuid(n: u128) -> String {
        format!("00000000-0000-4000-8000-{n:012}")
    }

    fn text(id: u128, direction: &str, at: &str, body: &str) -> Message {
        let content = json!({"message_type": "text", "text": {"text": body}});
        listed(id, direction, at, content)
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn texts_match_after_whitespace_normalisation_only_outbound_and_after_the_intent() {
        let key = ContentKey::of_request(&SendMessageRequest::text(ChatId(1), " Hello,\n world "))
            .expect("key");
        let messages = [
            text(1, "inbound", "2026-01-01T10:00:05Z", "Hello, world"),
            text(2, "outbound", "2026-01-01T09:00:00Z", "Hello, world"),
            text(3, "outbound", "2026-01-01T10:00:06Z", "Hello,  world"),
            text(4, "outbound", "2026-01-01T10:00:07Z", "Hello, world!"),
        ];
        let since = at("2026-01-01T10:00:00Z");
        let found = candidates(&messages, &key, since);
        let ids: Vec<String> = found.iter().map(|m| m.message_id.0.to_string()).collect();
        assert_eq!(ids, [uuid(3)]);
    }

    #[test]
    fn templates_match_by_name_locale_and_rendered_params() {
        let mut t = WabaTemplateIn::new("order_ready", "ru");
        t.body_params = vec!["A-17".into(), "20:00".into()];
        let key =
            ContentKey::of_request(&SendMessageRequest::waba_template(ChatId(1), t)).expect("key");
        let template = |text: &str| {
            json!({"message_type": "waba_template", "waba_template": {
                "text": text, "template_locale": "ru", "template_name": "order_ready"}})
        };
        let when = "2026-01-01T10:00:01Z";
        let right = listed(1, "outbound", when, template("Заказ A-17 готов к 20:00"));
        let other = listed(2, "outbound", when, template("Заказ B-3 готов к 20:00"));
        assert!(key.matches(&right));
        assert!(!key.matches(&other));
        assert!(!key.matches(&text(3, "outbound", when, "order_ready")));
    }
}
