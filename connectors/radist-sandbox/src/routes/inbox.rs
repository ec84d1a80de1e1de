//! `GET /messaging/chats/with_contacts/`: contacts with their chats, unanswered first, then by
//! last update (newest first), paged by an opaque base64url cursor over that order.

use axum::Json;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::scope::Scoped;
use crate::error::{ApiError, ApiResult};
use crate::extract::{QueryParams, path_int};
use crate::state::State as Sandbox;
use crate::state::model::Chat;
use crate::time::format;
use crate::validate::{Lower, Report};

/// Position in the listing order (the key of the last item of a page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Cursor {
    unanswered: bool,
    /// Microseconds since the epoch.
    updated: i64,
    contact: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

struct Entry {
    key: Cursor,
    value: Value,
}

/// `GET /companies/{company_id}/messaging/chats/with_contacts/` → `ContactsWithChatsResponse`.
pub async fn with_contacts(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let company = path_int(&mut r, &p, "company_id");
    let limit = q
        .int(&mut r, "limit", Some(50), Lower::Ge(1), 100)
        .unwrap_or(50) as usize;
    let cursor_text = q
        .opt_str(&mut r, "cursor", 0, 256)
        .filter(|c| !c.is_empty());
    let query = q.opt_str(&mut r, "query", 1, 128);
    let contact_id = q.opt_int(&mut r, "contact_id", Lower::Ge(1), i64::MAX);
    r.finish()?;
    let cursor = match cursor_text {
        Some(text) => Some(Cursor::decode(&text).ok_or_else(|| {
            ApiError::value_error(
                vec![json!("query"), json!("cursor")],
                "invalid cursor",
                json!(text),
            )
        })?),
        None => None,
    };
    let state = app.state();
    let company = state.company(company.unwrap_or_default())?.id;
    let mut entries = entries(&state, company, contact_id, query.as_deref());
    entries.sort_by_key(|e| std::cmp::Reverse(e.key));
    let rest: Vec<Entry> = entries
        .into_iter()
        .filter(|e| cursor.is_none_or(|c| e.key < c))
        .collect();
    let next_cursor = if rest.len() > limit {
        rest[limit - 1].key.encode()
    } else {
        String::new()
    };
    let data: Vec<Value> = rest.into_iter().take(limit).map(|e| e.value).collect();
    Ok(Json(
        json!({"data": data, "response_metadata": {"next_cursor": next_cursor}}),
    ))
}

fn entries(
    state: &Sandbox,
    company: i64,
    contact_id: Option<i64>,
    query: Option<&str>,
) -> Vec<Entry> {
    let contacts = state.contacts.values().filter(|c| c.company_id == company);
    let contacts = contacts.filter(|c| contact_id.is_none_or(|id| c.id == id));
    contacts
        .filter_map(|contact| {
            let mut chats: Vec<&Chat> = state.chats.values().filter(|c| c.contact_id == contact.id).collect();
            if chats.is_empty() {
                return None;
            }
            let matched = contact_id.is_some()
                || query.is_none_or(|q| matches(q, &contact.name, &chats, &contact.phones));
            if !matched {
                return None;
            }
            chats.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id)));
            let unanswered: i64 = chats.iter().map(|c| c.unanswered_count).sum();
            let updated = chats.iter().map(|c| c.updated_at).max().unwrap_or(contact.created_at);
            let chat_values: Vec<Value> = chats.iter().map(|c| c.to_json(state.last_message(c.id))).collect();
            let value = json!({"contact_id": contact.id, "contact_name": contact.name, "avatar_url": null,
                "is_group": false, "unanswered_count": unanswered, "last_chat_updated_at": format(&updated),
                "chats": chat_values});
            let key = Cursor { unanswered: unanswered > 0, updated: updated.timestamp_micros(), contact: contact.id };
            Some(Entry { key, value })
        })
        .collect()
}

/// Case-insensitive search over names, usernames and phones (phones compared by digits).
fn matches(query: &str, name: &str, chats: &[&Chat], phones: &[(i64, String, String)]) -> bool {
    let needle = query.to_lowercase();
    let digits = crate::state::digits(query);
    let text_hit = |text: &str| text.to_lowercase().contains(&needle);
    let phone_hit =
        |phone: &str| !digits.is_empty() && crate::state::digits(phone).contains(&digits);
    text_hit(name)
        || phones.iter().any(|p| phone_hit(&p.2))
        || chats.iter().any(|c| {
            text_hit(&c.name)
                || c.username.as_deref().is_some_and(&text_hit)
                || c.phone.as_deref().is_some_and(phone_hit)
        })
}
