//! Validation of the smaller request bodies: create chat, webhook subscription, contact.

use serde_json::{Map, Value, json};

use super::{Lower, Report, at};
use crate::error::ApiError;

type Obj = Map<String, Value>;

const MAX_ID: i64 = 2_147_483_647;

/// Webhook event types.
pub const EVENT_TYPES: [&str; 5] = [
    "messages.create",
    "messages.delivery.delivered",
    "messages.delivery.read",
    "messages.delivery.error",
    "connections.status_changed",
];

/// `CreateChatRequest`.
#[derive(Debug, Clone, Default)]
pub struct CreateChatBody {
    pub connection_id: i64,
    pub contact_id: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub user_name: Option<String>,
    pub chat_id: Option<String>,
}

/// `WebhookConfigConnectionMessaging`.
#[derive(Debug, Clone)]
pub struct WebhookBody {
    pub url: String,
    pub events: Vec<String>,
    pub connection_id: i64,
}

/// `ContactCreateRequest` / `ContactUpdateRequest`.
#[derive(Debug, Clone, Default)]
pub struct ContactBody {
    pub name: Option<String>,
    /// `(type, value)`; `None` when the field was absent (PATCH keeps the old list).
    pub phones: Option<Vec<(String, String)>>,
    pub emails: Option<Vec<(String, String)>>,
    pub tags: Option<Vec<i64>>,
    /// Note texts to add (create only).
    pub notes: Option<Vec<String>>,
}

fn body_loc() -> Vec<Value> {
    vec![json!("body")]
}

/// Validates `POST /messaging/chats/`.
pub fn create_chat_body(body: &Obj) -> Result<CreateChatBody, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    let connection_id = r.int(body, "connection_id", &loc, true, Lower::Gt(0), MAX_ID);
    let parsed = CreateChatBody {
        connection_id: connection_id.unwrap_or_default(),
        contact_id: r.int(body, "contact_id", &loc, false, Lower::Gt(0), MAX_ID),
        name: r.str(body, "name", &loc, false, 1, 128),
        phone: r.str(body, "phone", &loc, false, 5, 20),
        user_name: r.str(body, "user_name", &loc, false, 5, 32),
        chat_id: r.str(body, "chat_id", &loc, false, 5, 20),
    };
    r.finish().map(|()| parsed)
}

/// Validates `POST /webhooks/`.
pub fn webhook_body(body: &Obj) -> Result<WebhookBody, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    let url = r.str(body, "url", &loc, true, 0, usize::MAX);
    let mut events = Vec::new();
    if let Some(items) = r.list(body, "events", &loc, true, 1, usize::MAX) {
        for (i, item) in items.iter().enumerate() {
            if let Some(event) = r.enum_value(item, &at(&at(&loc, "events"), i), &EVENT_TYPES) {
                events.push(event);
            }
        }
    }
    let connection_id = r.int(body, "connection_id", &loc, true, Lower::Gt(0), i64::MAX);
    r.finish()?;
    Ok(WebhookBody {
        url: url.unwrap_or_default(),
        events,
        connection_id: connection_id.unwrap_or_default(),
    })
}

/// Validates a contact body; `create` makes `name` required.
pub fn contact_body(body: &Obj, create: bool) -> Result<ContactBody, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    let name = r.str(body, "name", &loc, create, 1, 256);
    let phones = typed_values(&mut r, body, "phones", &["work", "mobile", "other"], 10, 16);
    let emails = typed_values(
        &mut r,
        body,
        "emails",
        &["work", "personal", "other"],
        3,
        320,
    );
    let tags = r
        .list(body, "tags", &loc, false, 0, usize::MAX)
        .map(|items| {
            let tag_loc = at(&loc, "tags");
            let ids = items.iter().enumerate();
            ids.filter_map(|(i, v)| r.int_value(v, &at(&tag_loc, i), Lower::Gt(0), i64::MAX))
                .collect()
        });
    if let Some(emails) = &emails {
        for (i, (_, value)) in emails.iter().enumerate() {
            if !looks_like_email(value) {
                let here = at(&at(&at(&loc, "emails"), i), "value");
                r.value_error(here, "value is not a valid email address", json!(value));
            }
        }
    }
    let notes = if create {
        contact_notes(&mut r, body)
    } else {
        None
    };
    r.finish()?;
    Ok(ContactBody {
        name,
        phones,
        emails,
        tags,
        notes,
    })
}

/// `notes: [ContactNoteCreateRequest]` of a create body: the texts (1..=8192 characters).
fn contact_notes(r: &mut Report, body: &Obj) -> Option<Vec<String>> {
    let loc = body_loc();
    let items = r.list(body, "notes", &loc, false, 0, usize::MAX)?;
    let mut texts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = at(&at(&loc, "notes"), i);
        let Some(obj) = r.object_value(item, &here) else {
            continue;
        };
        if obj.get("type").is_some_and(|t| !t.is_null()) {
            r.enumeration(obj, "type", &here, false, &["text"]);
        }
        texts.extend(r.str(obj, "text", &here, true, 1, 8192));
    }
    Some(texts)
}

fn typed_values(
    r: &mut Report,
    body: &Obj,
    key: &str,
    types: &[&str],
    min: usize,
    max: usize,
) -> Option<Vec<(String, String)>> {
    let loc = body_loc();
    let items = r.list(body, key, &loc, false, 0, usize::MAX)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = at(&at(&loc, key), i);
        let Some(obj) = r.object_value(item, &here) else {
            continue;
        };
        let kind = match obj.get("type") {
            None | Some(Value::Null) => Some("work".to_owned()),
            Some(_) => r.enumeration(obj, "type", &here, false, types),
        };
        if let (Some(kind), Some(value)) = (kind, r.str(obj, "value", &here, true, min, max)) {
            out.push((kind, value));
        }
    }
    Some(out)
}

fn looks_like_email(text: &str) -> bool {
    text.split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.ends_with('.'))
}
