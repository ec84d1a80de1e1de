//! Chats: create (binding rules), get, availability (WABA 24-hour window), mark answered.
//! The `with_contacts` inbox listing lives in `inbox.rs`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};

use super::scope::{Company, Scoped, company_and_query};
use crate::app::AppState;
use crate::config::NonWabaAvailability;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParams, json_object, path_int};
use crate::state::model::Chat;
use crate::state::{ChatTarget, Identifier, State as Sandbox};
use crate::time::{format, now};
use crate::validate::{CreateChatBody, Report, create_chat_body};

/// `POST /companies/{company_id}/messaging/chats/` → `CreateChatResponse`.
pub async fn create(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let req = create_chat_body(&json_object(&body)?)?;
    let mut state = company.state()?;
    let kind = state
        .connection(company.id, req.connection_id)?
        .kind
        .clone();
    let target = ChatTarget {
        connection_id: req.connection_id,
        ident: identifier(&kind, &req)?,
        username: None,
        name: req.name.clone(),
        contact_id: req.contact_id,
    };
    let out = state.find_or_create_chat(company.id, &target, now())?;
    Ok(Json(
        json!({"created_chat": out.created_chat, "created_contact": out.created_contact,
                   "chat_id": out.chat_id, "contact_id": out.contact_id}),
    ))
}

/// The identifier the connection type accepts (`create_chat.with_*`), else 422.
fn identifier(kind: &str, req: &CreateChatBody) -> Result<Identifier, ApiError> {
    let (with_phone, with_username, with_chat_id) = crate::state::create_chat_flags(kind);
    if let (true, Some(phone)) = (with_phone, &req.phone) {
        let digits = crate::state::digits(phone);
        if digits.len() < 5 {
            return Err(ApiError::value_error(
                vec![json!("body"), json!("phone")],
                "phone must have at least 5 digits",
                json!(phone),
            ));
        }
        return Ok(Identifier::Phone(digits));
    }
    if let (true, Some(user)) = (with_username, &req.user_name) {
        return Ok(Identifier::Username(
            user.trim_start_matches('@').to_owned(),
        ));
    }
    if let (true, Some(chat_id)) = (with_chat_id, &req.chat_id) {
        return Ok(Identifier::ChatId(chat_id.clone()));
    }
    let given = [
        ("phone", &req.phone),
        ("user_name", &req.user_name),
        ("chat_id", &req.chat_id),
    ];
    match given.iter().find(|(_, v)| v.is_some()) {
        Some((field, value)) => {
            let text = format!("connections of type {kind} cannot create chats by {field}");
            Err(ApiError::value_error(
                vec![json!("body"), json!(field)],
                &text,
                json!(value),
            ))
        }
        None => {
            let accepted = [
                (with_phone, "phone"),
                (with_username, "user_name"),
                (with_chat_id, "chat_id"),
            ];
            let names: Vec<&str> = accepted
                .iter()
                .filter(|(ok, _)| *ok)
                .map(|(_, n)| *n)
                .collect();
            let text = format!(
                "one of {} is required for connections of type {kind}",
                names.join(", ")
            );
            Err(ApiError::value_error(
                vec![json!("body")],
                &text,
                Value::Null,
            ))
        }
    }
}

/// Path `(company, connection, chat)` → the chat, 404 unless it is on that connection.
fn chat_at(
    state: &Sandbox,
    p: &std::collections::HashMap<String, String>,
) -> Result<Chat, ApiError> {
    let mut r = Report::default();
    let company = path_int(&mut r, p, "company_id");
    let conn = path_int(&mut r, p, "connection_id");
    let chat = path_int(&mut r, p, "chat_id");
    r.finish()?;
    let company = state.company(company.unwrap_or_default())?.id;
    let conn = state.connection(company, conn.unwrap_or_default())?.id;
    let chat = state.chat(company, chat.unwrap_or_default())?;
    if chat.connection_id != conn {
        return Err(ApiError::not_found("Chat not found"));
    }
    Ok(chat.clone())
}

/// `GET /companies/{company_id}/messaging/chats/{connection_id}/{chat_id}` → `Chat`.
pub async fn get_chat(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let chat = chat_at(&state, &p)?;
    Ok(Json(chat.to_json(state.last_message(chat.id))))
}

/// `GET .../chats/{connection_id}/{chat_id}/availability` → `ChatAvailability`.
pub async fn availability(Scoped { app, p }: Scoped) -> ApiResult<Json<Value>> {
    let state = app.state();
    let chat = chat_at(&state, &p)?;
    let at = now();
    let Some(conn) = state
        .connections
        .get(&chat.connection_id)
        .filter(|c| c.kind == "waba")
    else {
        return match app.config().non_waba_availability {
            NonWabaAvailability::Reject => Err(ApiError::value_error(
                vec![json!("path"), json!("connection_id")],
                "chat availability is only for WABA chats",
                json!(chat.connection_id.to_string()),
            )),
            NonWabaAvailability::Available => Ok(Json(json!({"is_available": true, "waba": {
                "expires_at": format(&(at + chrono::Duration::hours(24))),
                "dialogs_available": true, "auto_templates_enabled": false}}))),
        };
    };
    let open = Sandbox::window_open(&chat, at);
    let dialogs = state
        .company(chat.company_id)
        .map(|c| c.waba_dialogs > 0)
        .unwrap_or(false);
    let auto = conn.auto_templates_enabled;
    Ok(Json(
        json!({"is_available": dialogs && (auto || open), "waba": {
        "expires_at": format(&Sandbox::window_expires_at(&chat)),
        "dialogs_available": dialogs, "auto_templates_enabled": auto}}),
    ))
}

/// `POST .../chats/mark_answered/{connection_id}/{chat_id}` → 202 `null`.
pub async fn mark_answered(Scoped { app, p }: Scoped) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut state = app.state();
    let chat = chat_at(&state, &p)?;
    if let Some(chat) = state.chats.get_mut(&chat.id) {
        chat.unanswered_count = 0;
    }
    Ok((StatusCode::ACCEPTED, Json(Value::Null)))
}

/// `POST .../chats/mark_answered/{connection_id}` → 200 `null` (every chat of the connection).
pub async fn mark_connection_answered(Scoped { app, p }: Scoped) -> ApiResult<Json<Value>> {
    let (mut state, company, conn) =
        company_and_query(&app, &p, |r| path_int(r, &p, "connection_id"))?;
    let conn = state.connection(company, conn.unwrap_or_default())?.id;
    state
        .chats
        .values_mut()
        .filter(|c| c.connection_id == conn)
        .for_each(|c| c.unanswered_count = 0);
    Ok(Json(Value::Null))
}
