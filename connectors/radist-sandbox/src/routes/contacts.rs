//! Contacts: list (`offset/limit/order_by/query/phone/tags`; a contact must carry every listed
//! tag), create (with tags checked and notes), get, patch, and a contact's chats.

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde_json::{Value, json};

use super::scope::{Company, Scoped, company_and_query};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParams, QueryParams, company_and, json_object};
use crate::state::State as Sandbox;
use crate::state::model::Contact;
use crate::time::now;
use crate::validate::{ContactBody, Lower, Report, contact_body};

const ORDERS: [&str; 6] = [
    "name:asc",
    "name:desc",
    "created_at:asc",
    "created_at:desc",
    "id:asc",
    "id:desc",
];

/// `ContactOut` with the contact's chats.
fn contact_out(state: &Sandbox, c: &Contact) -> Value {
    let items = |list: &[(i64, String, String)]| -> Vec<Value> {
        list.iter()
            .map(|(id, kind, value)| json!({"id": id, "type": kind, "value": value}))
            .collect()
    };
    let tags = state.tags_json(&c.tags);
    let chats = contact_chats(state, c.id);
    json!({"id": c.id, "company_id": c.company_id, "name": c.name, "avatar_url": null, "is_group": false,
           "phones": items(&c.phones), "emails": items(&c.emails), "tags": tags, "chats": chats})
}

/// `(company, contact)` of a `…/contacts/{contact_id}` path, both checked.
pub(super) fn contact_at(
    state: &Sandbox,
    p: &std::collections::HashMap<String, String>,
) -> Result<(i64, i64), ApiError> {
    let (company, contact) = company_and(state, p, "contact_id")?;
    Ok((company, state.contact(company, contact)?.id))
}

/// `GET /companies/{company_id}/contacts/` → `{count, total_count, order_by, items}`.
pub async fn list(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let (state, company, f) = company_and_query(&app, &p, |r| ListQuery::read(r, &q))?;
    let all: Vec<&Contact> = state
        .contacts
        .values()
        .filter(|c| c.company_id == company)
        .collect();
    let mut hits: Vec<&Contact> = all
        .iter()
        .copied()
        .filter(|c| hit(&state, c, f.query.as_deref(), f.phone.as_deref()))
        .filter(|c| f.tags.iter().all(|t| c.tags.contains(t)))
        .collect();
    sort(&mut hits, &f.order);
    let items: Vec<Value> = hits
        .iter()
        .skip(f.offset)
        .take(f.limit)
        .map(|c| contact_out(&state, c))
        .collect();
    Ok(Json(
        json!({"count": hits.len(), "total_count": all.len(), "order_by": f.order, "items": items}),
    ))
}

/// The list's query: paging, order, search and the tags a contact must carry.
struct ListQuery {
    offset: usize,
    limit: usize,
    order: String,
    query: Option<String>,
    phone: Option<String>,
    tags: Vec<i64>,
}

impl ListQuery {
    fn read(r: &mut Report, q: &QueryParams) -> Self {
        let (offset, limit) = q.offset_limit(r);
        let order = match q.get("order_by") {
            None => "id:asc".to_owned(),
            Some(raw) => r
                .enum_value(&json!(raw), &[json!("query"), json!("order_by")], &ORDERS)
                .unwrap_or_default(),
        };
        let query = q.opt_str(r, "query", 1, 128);
        let phone = q.opt_str(r, "phone", 10, 16);
        let tags = tag_filter(r, q);
        q.bool(r, "with_groups", false);
        if query.is_some() && phone.is_some() {
            r.value_error(
                vec![json!("query")],
                "`query` and `phone` are mutually exclusive",
                Value::Null,
            );
        }
        Self {
            offset,
            limit,
            order,
            query,
            phone,
            tags,
        }
    }
}

/// `tags=1&tags=2`: ids (each > 0) a contact must all carry.
fn tag_filter(r: &mut Report, q: &QueryParams) -> Vec<i64> {
    let raw = q.all("tags");
    let values = raw.iter().enumerate();
    values
        .filter_map(|(i, v)| {
            r.int_value(
                &json!(v),
                &[json!("query"), json!("tags"), json!(i)],
                Lower::Gt(0),
                i64::MAX,
            )
        })
        .collect()
}

fn hit(state: &Sandbox, c: &Contact, query: Option<&str>, phone: Option<&str>) -> bool {
    if let Some(phone) = phone {
        return state.contact_by_phone(c.company_id, &crate::state::digits(phone)) == Some(c.id);
    }
    query.is_none_or(|q| {
        let q = q.to_lowercase();
        c.name.to_lowercase().contains(&q)
            || c.phones.iter().any(|p| p.2.contains(&q))
            || c.emails.iter().any(|e| e.2.to_lowercase().contains(&q))
    })
}

fn sort(list: &mut [&Contact], order: &str) {
    match order {
        "name:asc" => list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "name:desc" => list.sort_by(|a, b| b.name.cmp(&a.name).then(b.id.cmp(&a.id))),
        "created_at:asc" => list.sort_by_key(|c| (c.created_at, c.id)),
        "created_at:desc" => list.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id))),
        "id:desc" => list.sort_by_key(|c| std::cmp::Reverse(c.id)),
        _ => list.sort_by_key(|c| c.id),
    }
}

/// `POST /companies/{company_id}/contacts/` → `ContactOut`.
pub async fn create(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let req = contact_body(&json_object(&body)?, true)?;
    let mut state = company.state()?;
    state.check_tags(company.id, req.tags.as_deref().unwrap_or_default())?;
    let name = req.name.clone().unwrap_or_default();
    let id = state.insert_contact(company.id, name, Vec::new(), Vec::new(), now());
    apply(&mut state, id, req);
    let contact = state.contact(company.id, id)?;
    Ok(Json(contact_out(&state, contact)))
}

/// `GET /companies/{company_id}/contacts/{contact_id}` → `ContactOut`.
pub async fn get(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (company, id) = contact_at(&state, &p)?;
    Ok(Json(contact_out(&state, state.contact(company, id)?)))
}

/// `PATCH /companies/{company_id}/contacts/{contact_id}` → `ContactOut`.
pub async fn patch(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let req = contact_body(&json_object(&body)?, false)?;
    let mut state = app.state();
    let (company, id) = contact_at(&state, &p)?;
    state.check_tags(company, req.tags.as_deref().unwrap_or_default())?;
    apply(&mut state, id, req);
    Ok(Json(contact_out(&state, state.contact(company, id)?)))
}

/// `GET /companies/{company_id}/contacts/{contact_id}/chats/` → array of `ChatOut`.
pub async fn chats(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (_, id) = contact_at(&state, &p)?;
    Ok(Json(contact_chats(&state, id)))
}

/// The `ChatOut` array of a contact's chats.
fn contact_chats(state: &Sandbox, contact_id: i64) -> Value {
    let chats = state.chats.values().filter(|c| c.contact_id == contact_id);
    Value::Array(chats.map(|c| c.to_chat_out()).collect())
}

fn apply(state: &mut Sandbox, id: i64, req: ContactBody) {
    let with_ids =
        |state: &mut Sandbox, list: Vec<(String, String)>| -> Vec<(i64, String, String)> {
            list.into_iter()
                .map(|(kind, value)| (state.next_item_id(), kind, value))
                .collect()
        };
    let phones = req.phones.map(|l| with_ids(state, l));
    let emails = req.emails.map(|l| with_ids(state, l));
    let Some(contact) = state.contacts.get_mut(&id) else {
        return;
    };
    if let Some(name) = req.name {
        contact.name = name;
    }
    if let Some(phones) = phones {
        contact.phones = phones;
    }
    if let Some(emails) = emails {
        contact.emails = emails;
    }
    if let Some(tags) = req.tags {
        contact.tags = tags;
    }
    for text in req.notes.unwrap_or_default() {
        state.crm.insert_note(id, text, now());
    }
}
