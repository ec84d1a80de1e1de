//! `GET /messaging/messages/` (newest first, `until` paging) and `POST /messaging/messages/`
//! (send: validate, check template and window, store, emit `messages.create`, then receipts).

use axum::Json;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::scope::{Company, Scoped, company_and_query};
use crate::error::ApiResult;
use crate::extract::{MAX_ID, QueryParams, json_object};
use crate::receipts::spawn_receipts;
use crate::state::NewMessage;
use crate::state::model::SentRecord;
use crate::time::now;
use crate::validate::{Lower, send_request};
use crate::webhooks::message_events;

mod content;

/// `GET /companies/{company_id}/messaging/messages/?chat_id=&limit=&until=` → bare array.
pub async fn list(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let (state, company, (chat_id, limit, until)) = company_and_query(&app, &p, |r| {
        let chat_id = q.int(r, "chat_id", None, Lower::Ge(1), MAX_ID);
        let limit = q.int(r, "limit", Some(50), Lower::Ge(1), 100).unwrap_or(50);
        (chat_id, limit as usize, q.opt_datetime(r, "until"))
    })?;
    let chat = state.chat(company, chat_id.unwrap_or_default())?.id;
    Ok(Json(Value::Array(state.list_messages(chat, limit, until))))
}

/// `POST /companies/{company_id}/messaging/messages/` → `MessageSentResponse`.
pub async fn send(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let raw = json_object(&body)?;
    let req = send_request(&raw)?;
    let (response, events, message_id, fate) = {
        let mut state = company.state()?;
        let chat = state.chat(company.id, req.chat_id)?.clone();
        let conn = state.connection(company.id, chat.connection_id)?.clone();
        let content = content::build(&state, &conn, &req)?;
        let at = now();
        let fate = content::fate(&mut state, &conn, &chat, &req, at)?;
        let new = NewMessage {
            outbound: true,
            message_type: req.message_type.clone(),
            content,
            created_at: at,
            source_message_id: None,
            reply_to: Value::Null,
        };
        let Some(message) = state.store_message(chat.id, new) else {
            return Err(crate::error::ApiError::not_found("Chat not found"));
        };
        state.sent.push(SentRecord {
            chat_id: chat.id,
            message_id: message.id,
            received_at: at,
            request: Value::Object(raw),
        });
        let events = message_events(&state, "messages.create", &message);
        let response =
            json!({"mode": req.mode, "chat": sent_chat(&chat), "message": message.to_json(false)});
        (response, events, message.id, fate)
    };
    company.app.emit(events);
    spawn_receipts(company.app.clone(), message_id, fate);
    Ok(Json(response))
}

fn sent_chat(chat: &crate::state::model::Chat) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(chat.id));
    map.insert("name".into(), json!(chat.name));
    map.insert("is_group".into(), json!(false));
    map.insert("avatar_url".into(), Value::Null);
    map.insert("profile_link".into(), json!(chat.profile_link()));
    Value::Object(map)
}
