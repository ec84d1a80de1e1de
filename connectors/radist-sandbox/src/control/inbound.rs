//! `POST /_sandbox/inbound`: a message from a messenger user. Finds or creates the chat (with
//! the contact-binding rules), stores the inbound message, emits `messages.create`.
//!
//! Body: `{connection_id, phone | username | chat_id, text?, name?, created_at?, message?}`;
//! `message` is a Message-like object (`message_type` + its content key, optional
//! `source_message_id`, `reply_to`, `created_at`) used instead of `text`.

use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use serde_json::{Value, json};

use super::parse;
use super::types::Inbound;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::state::{ChatTarget, Identifier, NewMessage, digits};
use crate::time::now;
use crate::webhooks::message_events;

fn bad(text: &str) -> ApiError {
    ApiError::Detail(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        text.to_owned(),
    )
}

fn identifier(req: &Inbound) -> Result<Identifier, ApiError> {
    if let Some(chat_id) = &req.chat_id {
        return Ok(Identifier::ChatId(chat_id.clone()));
    }
    if let Some(phone) = &req.phone {
        return Ok(Identifier::Phone(digits(phone)));
    }
    match &req.username {
        Some(user) => Ok(Identifier::Username(
            user.trim_start_matches('@').to_owned(),
        )),
        None => Err(bad("one of phone, username or chat_id is required")),
    }
}

/// The message to store: `(message_type, content, source_message_id, reply_to, created_at)`.
fn new_message(req: &Inbound, waba: bool) -> Result<NewMessage, ApiError> {
    let created = |raw: Option<&str>| -> Result<_, ApiError> {
        raw.map_or(Ok(now()), |t| {
            crate::time::parse(t).ok_or_else(|| bad("created_at is not an RFC 3339 date-time"))
        })
    };
    if let Some(message) = &req.message {
        let kind = message["message_type"]
            .as_str()
            .unwrap_or("text")
            .to_owned();
        let content = message
            .get(&kind)
            .cloned()
            .filter(|c| c.is_object())
            .ok_or_else(|| bad("message lacks the content object of its message_type"))?;
        let at = message["created_at"].as_str().or(req.created_at.as_deref());
        return Ok(NewMessage {
            outbound: false,
            message_type: kind,
            content,
            created_at: created(at)?,
            source_message_id: message["source_message_id"].as_str().map(str::to_owned),
            reply_to: message.get("reply_to").cloned().unwrap_or(Value::Null),
        });
    }
    let text = req
        .text
        .clone()
        .ok_or_else(|| bad("text or message is required"))?;
    let content = if waba {
        json!({"text": text, "waba_referred_product": null})
    } else {
        json!({"text": text})
    };
    Ok(NewMessage {
        outbound: false,
        message_type: "text".to_owned(),
        content,
        created_at: created(req.created_at.as_deref())?,
        source_message_id: None,
        reply_to: Value::Null,
    })
}

/// Handler of `POST /_sandbox/inbound` → `{chat_id, contact_id, message_id, created_chat, created_contact}`.
pub async fn inbound(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let req: Inbound = parse(&body)?;
    let ident = identifier(&req)?;
    let (out, events) = {
        let mut state = app.state();
        let conn = state
            .connections
            .get(&req.connection_id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Connection not found"))?;
        let new = new_message(&req, conn.kind == "waba")?;
        let username = req
            .username
            .as_ref()
            .map(|u| u.trim_start_matches('@').to_owned());
        let target = ChatTarget {
            connection_id: conn.id,
            ident,
            username,
            name: req.name.clone(),
            contact_id: None,
        };
        let created = state.find_or_create_chat(conn.company_id, &target, new.created_at)?;
        let message = state
            .store_message(created.chat_id, new)
            .ok_or_else(|| ApiError::not_found("Chat not found"))?;
        let events = message_events(&state, "messages.create", &message);
        let out = json!({"chat_id": created.chat_id, "contact_id": created.contact_id, "message_id": message.id,
            "created_chat": created.created_chat, "created_contact": created.created_contact});
        (out, events)
    };
    app.emit(events);
    Ok(Json(out))
}
