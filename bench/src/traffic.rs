//! The webhooks the generator sends: Radist `messages.create` bodies from many chats on several
//! connections, with a fixed mix of message types and a few redeliveries (duplicates). Request
//! `i` is a pure function of the run's seed and `i`, so a duplicate is the same body again.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// One chat the webhooks come from.
#[derive(Debug, Clone)]
pub struct Chat {
    pub connection_id: i64,
    pub chat_id: i64,
    pub contact_id: i64,
    pub phone: Option<String>,
    pub username: Option<String>,
}

/// What one request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text with a keyword auto-reply answers.
    Keyword,
    /// Text no rule matches.
    Plain,
    Image,
    File,
    Voice,
    /// A redelivery of an earlier request.
    Duplicate,
}

/// How far back a duplicate reaches.
const DUPLICATE_DISTANCE: u64 = 37;

const KEYWORDS: [&str; 4] = [
    "price?",
    "сколько стоит доставка?",
    "what are your hours",
    "какой размер взять?",
];

/// A plan of requests over `chats`, seeded so that separate runs never collide on ids.
#[derive(Debug)]
pub struct Traffic {
    pub chats: Vec<Chat>,
    seed: u64,
    base: DateTime<Utc>,
}

impl Traffic {
    pub fn new(chats: Vec<Chat>) -> Traffic {
        let base = Utc::now();
        let seed = u64::try_from(base.timestamp_micros()).unwrap_or(1);
        Traffic { chats, seed, base }
    }

    /// The same chats with a new seed, so a new phase never repeats an earlier message id.
    pub fn next_phase(&self) -> Arc<Traffic> {
        let mut next = Traffic::new(self.chats.clone());
        next.seed = next.seed.max(self.seed + 1);
        Arc::new(next)
    }

    /// Synthetic chats (for intake and foreign URLs): the seeded connections and more.
    pub fn synthetic(count: usize) -> Traffic {
        let chats = (0..count)
            .map(|i| {
                let n = i64::try_from(i).unwrap_or(0);
                Chat {
                    connection_id: 70001 + n % 16,
                    chat_id: 38_000_000 + n,
                    contact_id: 32_000_000 + n,
                    phone: Some(format!("79{:09}", n)),
                    username: None,
                }
            })
            .collect();
        Traffic::new(chats)
    }

    /// The kind of request `i` (about 3% duplicates, 60% keyword texts).
    pub fn kind(&self, i: u64) -> Kind {
        match mix(self.seed ^ i) % 100 {
            0..3 if i >= DUPLICATE_DISTANCE => Kind::Duplicate,
            0..63 => Kind::Keyword,
            63..75 => Kind::Plain,
            75..87 => Kind::Image,
            87..93 => Kind::File,
            _ => Kind::Voice,
        }
    }

    /// The chat request `i` comes from (a duplicate: the original's chat).
    pub fn chat_of(&self, i: u64) -> &Chat {
        let i = self.original(i);
        let len = self.chats.len().max(1) as u64;
        &self.chats[usize::try_from(i % len).unwrap_or(0)]
    }

    fn original(&self, i: u64) -> u64 {
        let mut i = i;
        while self.kind(i) == Kind::Duplicate {
            i -= DUPLICATE_DISTANCE;
        }
        i
    }

    /// The body of request `i`.
    pub fn body(&self, i: u64) -> Vec<u8> {
        let i = self.original(i);
        let chat = self.chat_of(i);
        let id = uuid::Uuid::from_u64_pair(self.seed, i).to_string();
        let at = self.base + chrono::Duration::microseconds(i64::try_from(i).unwrap_or(0));
        let mut message = message(self.kind(i), i, &id, chat);
        message["created_at"] = Value::from(at.to_rfc3339_opts(SecondsFormat::Micros, true));
        let event = json!({
            "connection_id": chat.connection_id,
            "chat_id": chat.chat_id,
            "contact_id": chat.contact_id,
            "chat": {"phone": chat.phone, "name": "Bench Customer", "username": chat.username, "profile_link": null},
            "message": message,
        });
        json!({"event_type": "messages.create", "event": event})
            .to_string()
            .into_bytes()
    }
}

fn message(kind: Kind, i: u64, id: &str, chat: &Chat) -> Value {
    let source_chat = chat
        .phone
        .clone()
        .or_else(|| chat.username.clone())
        .unwrap_or_default();
    let mut m = json!({
        "message_id": id,
        "source_message_id": format!("wamid.bench{i}"),
        "chat_id": source_chat,
        "direction": "inbound",
        "author": null,
        "delivered_at": null, "read_at": null, "error_at": null, "error_type": null, "error_text": null,
        "reply_to": null,
    });
    let (message_type, content) = content(kind, i);
    m["message_type"] = Value::from(message_type);
    m[message_type] = content;
    m
}

fn content(kind: Kind, i: u64) -> (&'static str, Value) {
    let media = |name: &str, mime: &str| {
        json!({"caption": "вот эта модель, есть в синем?", "name": name, "size": 284_113,
               "mime_type": mime, "url": format!("https://cdn.radist.online/inbound/{i}/{name}")})
    };
    match kind {
        Kind::Keyword | Kind::Duplicate => {
            let text = KEYWORDS[usize::try_from(i % 4).unwrap_or(0)];
            ("text", json!({"text": text}))
        }
        Kind::Plain => ("text", json!({"text": "спасибо, всё получил"})),
        Kind::Image => ("image", media("IMG_20260219_131035.jpg", "image/jpeg")),
        Kind::File => ("file", media("invoice.pdf", "application/pdf")),
        Kind::Voice => ("voice", media("voice.ogg", "audio/ogg")),
    }
}

/// splitmix64: a cheap, well-spread hash of the request number.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_the_same_body_as_its_original_and_the_mix_has_every_kind() {
        let traffic = Traffic::synthetic(100);
        let dup = (0..10_000u64)
            .find(|&i| traffic.kind(i) == Kind::Duplicate)
            .expect("some duplicates");
        assert_eq!(traffic.body(dup), traffic.body(traffic.original(dup)));
        let kinds: std::collections::BTreeSet<String> = (0..10_000u64)
            .map(|i| format!("{:?}", traffic.kind(i)))
            .collect();
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    #[test]
    fn every_body_decodes_as_an_inbound_radist_message() {
        use radist_connector::webhook::{Decoded, EventKind, decode};
        let traffic = Traffic::synthetic(10);
        for i in 0..200 {
            let body = traffic.body(i);
            let decoded = decode(&body).unwrap_or_else(|e| panic!("request {i}: {e}"));
            let Decoded::Event(event) = decoded else {
                panic!("request {i} is not an event");
            };
            assert_eq!(event.kind, EventKind::MessageReceived);
        }
    }
}
