//! Quick replies (`/messaging/templates/`, the company's canned answers — not WABA templates),
//! `GET /users/me` and a contact's social profiles.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};
use uuid::Uuid;

use super::contacts::contact_at;
use super::scope::{Company, Scoped};
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{PathParams, company_and, json_object};
use crate::state::State as Sandbox;
use crate::validate::quick_reply_body;

/// The sandbox key's user id (stable, so tests can compare it).
const USER_ID: Uuid = Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0001);

fn reply_at(state: &Sandbox, p: &HashMap<String, String>) -> ApiResult<(i64, i64)> {
    let (company, reply) = company_and(state, p, "template_id")?;
    Ok((company, state.crm.quick_reply(company, reply)?.id))
}

/// `GET …/messaging/templates/` → array of `MessageTemplateOut`.
pub async fn list(company: Company) -> ApiResult<Json<Value>> {
    let state = company.state()?;
    let replies = state.crm.quick_replies.values();
    let mine = replies
        .filter(|q| q.company_id == company.id)
        .map(|q| q.to_json());
    Ok(Json(Value::Array(mine.collect())))
}

/// `POST …/messaging/templates/` → `MessageTemplateOut`.
pub async fn create(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let req = quick_reply_body(&json_object(&body)?, true)?;
    let mut state = company.state()?;
    let name = req.name.unwrap_or_default();
    let id = state
        .crm
        .insert_quick_reply(company.id, &name, req.text, req.file_url);
    if let (Some(kind), Some(reply)) = (req.kind, state.crm.quick_replies.get_mut(&id)) {
        reply.kind = kind;
    }
    Ok(Json(state.crm.quick_reply(company.id, id)?.to_json()))
}

/// `PATCH …/messaging/templates/{template_id}` → `MessageTemplateOut`.
pub async fn patch(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let req = quick_reply_body(&json_object(&body)?, false)?;
    let mut state = app.state();
    let (company, id) = reply_at(&state, &p)?;
    if let Some(reply) = state.crm.quick_replies.get_mut(&id) {
        reply.name = req.name.unwrap_or_else(|| reply.name.clone());
        reply.text = req.text.or_else(|| reply.text.clone());
        reply.file_url = req.file_url.or_else(|| reply.file_url.clone());
    }
    Ok(Json(state.crm.quick_reply(company, id)?.to_json()))
}

/// `DELETE …/messaging/templates/{template_id}` → 204.
pub async fn delete(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<StatusCode> {
    let mut state = app.state();
    let (_, id) = reply_at(&state, &p)?;
    state.crm.quick_replies.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/me` → `User`: an integration user with the seed's permissions.
pub async fn me(State(app): State<AppState>) -> Json<Value> {
    let state = app.state();
    let companies: Vec<i64> = state.companies.keys().copied().collect();
    Json(
        json!({"id": USER_ID, "login": "sandbox-integration", "email": null, "scopes": [],
        "roles": ["integration"], "locale": "ru", "name": "Sandbox integration",
        "db_user_id": 1, "permissions": state.crm.permissions, "is_integration": true,
        "companies": companies}),
    )
}

/// `GET …/contacts/{contact_id}/social_profiles/` → `SocialProfileOut` per Telegram or Max chat.
pub async fn social_profiles(Scoped { app, p }: Scoped) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (_, contact) = contact_at(&state, &p)?;
    let chats = state.chats.values().filter(|c| c.contact_id == contact);
    let profiles = chats.filter_map(|chat| {
        let kind = state.connections.get(&chat.connection_id)?.kind.as_str();
        let profile_type = match kind {
            "telegram" | "telegram_bot" => "telegram",
            "max_personal" | "max_bot" => "max",
            _ => return None,
        };
        Some(
            json!({"social_profile_type": profile_type, "user_id": chat.source_chat_id,
            "name": chat.name, "username": chat.username, "profile_link": chat.profile_link()}),
        )
    });
    Ok(Json(Value::Array(profiles.collect())))
}
