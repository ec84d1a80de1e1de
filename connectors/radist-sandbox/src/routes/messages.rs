//! `GET /messaging/messages/` (newest first, `until` paging) and `POST /messaging/messages/`
//! (send: validate, check template and window, store, emit `messages.create`, then receipts).

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{MAX_ID, PathParams, QueryParams, company_id, json_object, path_int};
use crate::receipts::spawn_receipts;
use crate::state::NewMessage;
use crate::state::model::SentRecord;
use crate::time::now;
use crate::validate::{Lower, Report, send_request};
use crate::webhooks::message_events;

mod content;

/// `GET /companies/{company_id}/messaging/messages/?chat_id=&limit=&until=` → bare array.
pub async fn list(
    State(app): State<AppState>,
    Path(p): PathParams,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let company = path_int(&mut r, &p, "company_id");
    let chat_id = q.int(&mut r, "chat_id", None, Lower::Ge(1), MAX_ID);
    let limit = q
        .int(&mut r, "limit", Some(50), Lower::Ge(1), 100)
        .unwrap_or(50) as usize;
    let until = q.opt_datetime(&mut r, "until");
    r.finish()?;
    let state = app.state();
    let company = state.company(company.unwrap_or_default())?.id;
    let chat = state.chat(company, chat_id.unwrap_or_default())?.id;
    Ok(Json(Value::Array(state.list_messages(chat, limit, until))))
}

/// `POST /companies/{company_id}/messaging/messages/` → `MessageSentResponse`.
pub async fn send(
    State(app): State<AppState>,
    Path(p): PathParams,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let company = company_id(&p)?;
    let raw = json_object(&body)?;
    let req = send_request(&raw)?;
    let (response, events, message_id, fate) = {
        let mut state = app.state();
        state.company(company)?;
        let chat = state.chat(company, req.chat_id)?.clone();
        let conn = state.connection(company, chat.connection_id)?.clone();
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
    app.emit(events);
    spawn_receipts(app.clone(), message_id, fate);
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
