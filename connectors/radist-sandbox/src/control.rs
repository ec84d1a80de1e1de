//! Control endpoints under `/_sandbox/` (no API key) and [`SandboxControl`], their typed client.
//!
//! | endpoint | body / answer |
//! |---|---|
//! | `POST /_sandbox/inbound` | [`Inbound`] → [`InboundReceipt`]; emits `messages.create` |
//! | `GET /_sandbox/sent[?chat_id=]` | [`SentMessage`] list, oldest first (bounded: `limits.max_sent`) |
//! | `GET·POST·DELETE /_sandbox/faults` | [`crate::Faults`] (see `faults` for every fault) |
//! | `POST /_sandbox/reset` | back to the seed; stops queued and retrying webhook deliveries |
//! | `GET /_sandbox/webhook-deliveries[?event_type=]` | [`crate::DeliveryRecord`] list (bounded: `limits.max_deliveries`) |
//! | `POST /_sandbox/connection-status` | [`StatusChange`]; emits `connections.status_changed` |
//! | `GET·POST /_sandbox/settings` | [`Settings`] / [`SettingsUpdate`] |
//! | `GET·POST /_sandbox/crm` | [`CrmSnapshot`] / [`CrmSeed`]: tags, quick replies, notes, contact tag sets, permissions |
//! | `GET /_sandbox/stats` | [`Stats`]: kept and `dropped` counts of the bounded lists and uploads |
//! | `GET /_sandbox/files/{id}/{name}` | an uploaded file (bounded: `limits.max_stored_upload_bytes`) |

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::faults::Faults;
use crate::webhooks::status_events;

mod client;
mod crm;
mod inbound;
mod types;

pub use client::SandboxControl;
pub use crm::{ContactTagsSeed, ContactView, CrmSeed, CrmSnapshot, NoteSeed};
pub use types::{
    AutoTemplates, Inbound, InboundReceipt, SentMessage, Settings, SettingsUpdate, Stats,
    StatusChange,
};

/// The `/_sandbox` routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/inbound", post(inbound::inbound))
        .route("/_sandbox/sent", get(sent))
        .route(
            "/_sandbox/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/webhook-deliveries", get(deliveries))
        .route("/_sandbox/connection-status", post(connection_status))
        .route("/_sandbox/settings", get(get_settings).post(set_settings))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/crm", get(crm::snapshot).post(crm::seed))
        .route(
            "/_sandbox/files/{id}/{name}",
            get(crate::routes::files::serve),
        )
}

/// Parses a control body strictly; problems answer 422 `{"detail": "<serde message>"}`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::Detail(StatusCode::UNPROCESSABLE_ENTITY, err.to_string()))
}

async fn sent(State(app): State<AppState>, q: QueryParams) -> Json<Vec<SentMessage>> {
    let chat_filter = q.get("chat_id").and_then(|c| c.parse::<i64>().ok());
    let state = app.state();
    let list = state
        .sent
        .iter()
        .filter(|s| chat_filter.is_none_or(|c| s.chat_id == c));
    let entries = list.map(|s| SentMessage {
        chat_id: s.chat_id,
        message_id: s.message_id,
        received_at: crate::time::format(&s.received_at),
        request: s.request.clone(),
        message: state
            .message(s.message_id)
            .map_or(Value::Null, |m| m.to_json(false)),
    });
    Json(entries.collect())
}

async fn stats(State(app): State<AppState>) -> Json<Stats> {
    let (sent, uploads) = {
        let state = app.state();
        (state.sent.stats(), state.files.stats())
    };
    let webhooks = app.webhooks();
    Json(Stats {
        sent,
        webhook_deliveries: webhooks.log_stats(),
        uploads,
        cancelled_deliveries: webhooks.cancelled(),
    })
}

async fn get_faults(State(app): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(&*app.faults()).unwrap_or_default())
}

async fn set_faults(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let faults: Faults = parse(&body)?;
    let out = serde_json::to_value(&faults).unwrap_or_default();
    *app.faults() = faults;
    Ok(Json(out))
}

async fn clear_faults(State(app): State<AppState>) -> StatusCode {
    *app.faults() = Faults::default();
    StatusCode::NO_CONTENT
}

async fn reset(State(app): State<AppState>) -> Json<Value> {
    app.reset();
    Json(json!({"reset": true}))
}

async fn deliveries(State(app): State<AppState>, q: QueryParams) -> Json<Value> {
    let kind = q.get("event_type");
    let log = app
        .webhooks()
        .log()
        .into_iter()
        .filter(|d| kind.is_none_or(|k| d.event_type == k));
    Json(serde_json::to_value(log.collect::<Vec<_>>()).unwrap_or_default())
}

async fn connection_status(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let change: StatusChange = parse(&body)?;
    let events = {
        let mut state = app.state();
        let conn = state
            .connections
            .get_mut(&change.connection_id)
            .ok_or_else(|| ApiError::not_found("Connection not found"))?;
        conn.status = (change.status_type.clone(), change.status_subtype.clone());
        status_events(
            &state,
            change.connection_id,
            (&change.status_type, &change.status_subtype),
        )
    };
    app.emit(events);
    Ok(Json(json!({"connection_id": change.connection_id,
        "status": {"status_type": change.status_type, "status_subtype": change.status_subtype}})))
}

async fn get_settings(State(app): State<AppState>) -> Json<Settings> {
    let state = app.state();
    let waba_dialogs = state
        .companies
        .values()
        .map(|c| (c.id, c.waba_dialogs))
        .collect();
    Json(Settings {
        window_policy: state.window_policy,
        waba_dialogs,
    })
}

async fn set_settings(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<Settings>> {
    let settings: SettingsUpdate = parse(&body)?;
    {
        let mut state = app.state();
        if let Some(policy) = settings.window_policy {
            state.window_policy = policy;
        }
        if let Some(value) = settings.waba_dialogs {
            let id = settings
                .company_id
                .or_else(|| state.companies.keys().next().copied())
                .unwrap_or_default();
            state
                .companies
                .get_mut(&id)
                .ok_or_else(|| ApiError::not_found("Company not found"))?
                .waba_dialogs = value;
        }
        if let Some(auto) = settings.auto_templates {
            let conn = state
                .connections
                .get_mut(&auto.connection_id)
                .ok_or_else(|| ApiError::not_found("Connection not found"))?;
            conn.auto_templates_enabled = auto.enabled;
        }
    }
    Ok(get_settings(State(app)).await)
}
