//! A contact's notes: list and create under `/contacts/{contact_id}/notes/`, get, patch and
//! delete under `/notes/{note_id}`. A note is only reachable through its own contact.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::Value;

use super::contacts::contact_at;
use super::scope::Scoped;
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{PathParams, json_object, path_int};
use crate::state::State as Sandbox;
use crate::time::now;
use crate::validate::{Report, note_body};

/// `(contact, note)` of a `…/notes/{note_id}` path, every level checked.
fn note_at(state: &Sandbox, p: &HashMap<String, String>) -> ApiResult<(i64, i64)> {
    let mut r = Report::default();
    let note = path_int(&mut r, p, "note_id");
    r.finish()?;
    let (_, contact) = contact_at(state, p)?;
    Ok((
        contact,
        state.crm.note(contact, note.unwrap_or_default())?.id,
    ))
}

/// `GET …/contacts/{contact_id}/notes/` → array of `NoteOut`, oldest first.
pub async fn list(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (_, contact) = contact_at(&state, &p)?;
    let notes = state.crm.notes_of(contact).map(|n| n.to_json());
    Ok(Json(Value::Array(notes.collect())))
}

/// `POST …/contacts/{contact_id}/notes/` → `NoteOut`.
pub async fn create(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let text = note_body(&json_object(&body)?)?;
    let mut state = app.state();
    let (_, contact) = contact_at(&state, &p)?;
    let id = state.crm.insert_note(contact, text, now());
    Ok(Json(state.crm.note(contact, id)?.to_json()))
}

/// `GET …/notes/{note_id}` → `NoteOut`.
pub async fn get(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (contact, id) = note_at(&state, &p)?;
    Ok(Json(state.crm.note(contact, id)?.to_json()))
}

/// `PATCH …/notes/{note_id}` → `NoteOut` with the new text.
pub async fn patch(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let text = note_body(&json_object(&body)?)?;
    let mut state = app.state();
    let (contact, id) = note_at(&state, &p)?;
    if let Some(note) = state.crm.notes.get_mut(&id) {
        note.text = text;
        note.updated_at = now();
    }
    Ok(Json(state.crm.note(contact, id)?.to_json()))
}

/// `DELETE …/notes/{note_id}` → 204.
pub async fn delete(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<StatusCode> {
    let mut state = app.state();
    let (_, id) = note_at(&state, &p)?;
    state.crm.notes.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
