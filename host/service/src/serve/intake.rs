//! Webhook intake, `POST /hooks/radist/{token}` (DESIGN.md "The flow of one event", step 1).
//!
//! In order: the token (constant time; unknown → 404), shutdown (→ 503, Radist retries), the
//! backlog (→ 503 with `Retry-After` past `[webhook] max_queued_runs` / `max_queue_age_s`, see
//! [`crate::serve::backlog`]), the content type (→ 415), the size (→ 413), decoding (→ 400 with a JSON error). Every request that
//! came with a valid token and is refused is kept in quarantine with its headers (secrets
//! removed) and the reason. A decoded event is enriched (source type, own echo), matched against
//! every plugin's triggers, and stored with one queued run per subscribed plugin in one
//! transaction; only then does intake answer 200 with the event id. A store that cannot write
//! (disk full, read-only) answers 503 so Radist redelivers instead of us acknowledging what we
//! cannot keep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http_body_util::BodyExt;
use radist_connector::webhook::{Decoded, EventKind, NormalizedEvent, decode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_runtime::event::WebhookContext;
use switchboard_runtime::subscription;
use switchboard_store::{NewEvent, NewQuarantine, NewRun, Store, StoreError};

use crate::connections::ConnectionDirectory;
use crate::serve::plugins::SharedPlugins;
use crate::serve::token::Token;
use crate::stored_event::StoredEvent;
use crate::telemetry;

/// Headers kept with a quarantined request, at most.
const MAX_KEPT_HEADERS: usize = 64;
/// Bytes kept of one header value.
const MAX_HEADER_VALUE: usize = 1024;
/// Headers never kept (they may carry credentials).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// What the intake handler needs.
pub struct Intake {
    pub store: Arc<dyn Store>,
    pub plugins: SharedPlugins,
    pub directory: Arc<ConnectionDirectory>,
    pub token: Token,
    pub max_body_bytes: usize,
    /// How long a `messages.send` intent without a result marks its chat's outbound messages
    /// as our own echoes (`webhook.own_echo_window_s`).
    pub own_echo_window: std::time::Duration,
    /// False once shutdown started: answer 503 so Radist redelivers to the next process.
    pub accepting: Arc<AtomicBool>,
    /// The queue as last sampled: past its bounds, answer 503 with `Retry-After`.
    pub backlog: Arc<crate::serve::backlog::Backlog>,
}

/// Why a request was refused, as its status and JSON error.
struct Refusal {
    status: StatusCode,
    message: String,
}

/// The axum handler.
pub async fn hook(
    State(intake): State<Arc<Intake>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let response = answer(&intake, &token, &headers, body).await;
    telemetry::webhook_answered(response.status().as_u16(), started.elapsed());
    response
}

async fn answer(intake: &Intake, token: &str, headers: &HeaderMap, body: Body) -> Response {
    if !intake.token.matches(token) {
        return error(
            StatusCode::NOT_FOUND,
            "no webhook here; check the URL's token",
        );
    }
    if !intake.accepting.load(Ordering::Acquire) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "switchboard is shutting down; redeliver later",
        );
    }
    if let Err(full) = intake.backlog.admit() {
        telemetry::webhook_refused_backlog(&full.reason);
        let message = format!(
            "switchboard is behind ({}); redeliver after {} s",
            full.reason, full.retry_after_s
        );
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, &message);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(full.retry_after_s),
        );
        return response;
    }
    let (bytes, refusal) = read(intake, headers, body).await;
    if let Some(refusal) = refusal {
        return intake.quarantine(headers, bytes, refusal).await;
    }
    match decode(&bytes) {
        Ok(Decoded::Event(event)) => intake.accept(event).await,
        Ok(Decoded::Unsupported { event_type }) => intake.unsupported(&event_type, &bytes).await,
        Err(err) => {
            let refusal = Refusal {
                status: StatusCode::BAD_REQUEST,
                message: format!("the body is not a Radist webhook: {err}"),
            };
            intake.quarantine(headers, bytes, refusal).await
        }
    }
}

/// The body, up to the limit; with a refusal for a wrong content type or an oversized body.
async fn read(intake: &Intake, headers: &HeaderMap, body: Body) -> (Vec<u8>, Option<Refusal>) {
    let (bytes, over) = read_capped(body, intake.max_body_bytes).await;
    if !is_json(headers) {
        let shown = headers
            .get(header::CONTENT_TYPE)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(100)
                    .collect()
            })
            .unwrap_or_else(|| "none".to_owned());
        let message = format!("content type `{shown}` is not application/json");
        let refusal = Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message,
        };
        return (bytes, Some(refusal));
    }
    if over {
        let limit = intake.max_body_bytes;
        let message = format!(
            "the body is larger than `webhook.max_body_bytes` ({limit} bytes); its first {limit} bytes are kept"
        );
        let refusal = Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message,
        };
        return (bytes, Some(refusal));
    }
    (bytes, None)
}

/// Reads at most `limit` bytes; the flag says the body had more (the rest is not read).
async fn read_capped(mut body: Body, limit: usize) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        let Some(chunk) = frame.data_ref() else {
            continue;
        };
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return (bytes, true);
        }
        bytes.extend_from_slice(chunk);
    }
    (bytes, false)
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

impl Intake {
    /// Re-ingests a body that was quarantined (e.g. after an upgrade taught intake its shape):
    /// the stored-event answer, or why it still cannot be taken.
    pub async fn retry(&self, body: &[u8]) -> Result<Value, String> {
        let response = match decode(body) {
            Ok(Decoded::Event(event)) => self.accept(event).await,
            Ok(Decoded::Unsupported { event_type }) => self.unsupported(&event_type, body).await,
            Err(err) => return Err(format!("still not a Radist webhook: {err}")),
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!("cannot store it ({status}): {value}"))
        }
    }

    /// Enriches, matches, stores with its runs, answers 200.
    async fn accept(&self, event: NormalizedEvent) -> Response {
        let context = self.context(&event).await;
        let lane_key = lane_key(&event);
        let mut new = NewEvent {
            dedupe_key: event.dedupe_key.clone(),
            kind: event.kind.as_str().to_owned(),
            connection_id: Some(event.connection_id.0),
            chat_id: event.chat_id.map(|c| c.0),
            payload: String::new(),
            received_at: Utc::now(),
        };
        let stored = StoredEvent::webhook(event, context);
        let runs = self.runs_for(&lane_key, &stored.plugin_event());
        new.payload = stored.to_payload();
        self.store_event(new, runs).await
    }

    /// Source type from the connection directory; own echo from the ledger.
    async fn context(&self, event: &NormalizedEvent) -> WebhookContext {
        let source_type = self.directory.source_type(event.connection_id.0).await;
        let own_echo = event.kind == EventKind::MessageSent && self.is_own(event).await;
        WebhookContext {
            own_echo,
            source_type,
        }
    }

    /// An outbound message is ours when a send to that chat is still in flight (the echo can
    /// arrive before the send's response) or when the ledger recorded its id. The in-flight check
    /// comes first: a send that completes between the two lookups is then found by the second.
    /// "In flight" means an intent without a result recorded within `own_echo_window`: one left
    /// by a crash mid-send does not make the chat's messages ours forever.
    async fn is_own(&self, event: &NormalizedEvent) -> bool {
        if let Some(chat) = event.chat_id {
            let window =
                chrono::TimeDelta::from_std(self.own_echo_window).unwrap_or(chrono::TimeDelta::MAX);
            let since = chrono::Utc::now()
                .checked_sub_signed(window)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            let pending = self
                .store
                .pending_intent_for_chat(event.connection_id.0, chat.0, since);
            if pending.await.unwrap_or(false) {
                return true;
            }
        }
        let Some(message) = &event.message else {
            return false;
        };
        let id = message.message_id.to_string();
        self.store.is_own_effect(&id).await.unwrap_or(false)
    }

    fn runs_for(
        &self,
        lane_key: &str,
        plugin_event: &switchboard_runtime::event::PluginEvent,
    ) -> Vec<NewRun> {
        let plugins = self.plugins.current();
        plugins
            .iter()
            .filter(|p| subscription::subscribes(&p.manifest.triggers, plugin_event))
            .map(|p| NewRun {
                plugin: p.manifest.plugin.name.as_str().to_owned(),
                lane: format!("{}/{lane_key}", p.manifest.plugin.name.as_str()),
                max_attempts: p.manifest.limits.max_attempts,
                origin: "webhook".to_owned(),
            })
            .collect()
    }

    /// A well-formed webhook of a type Switchboard does not handle: stored, no runs.
    async fn unsupported(&self, event_type: &str, body: &[u8]) -> Response {
        let digest = crate::hex(&Sha256::digest(body));
        let payload = json!({
            "source": "unsupported",
            "event_type": event_type,
            "body": String::from_utf8_lossy(body),
        });
        let new = NewEvent {
            dedupe_key: format!("unsupported:{digest}"),
            kind: "unsupported".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: payload.to_string(),
            received_at: Utc::now(),
        };
        self.store_event(new, Vec::new()).await
    }

    async fn store_event(&self, event: NewEvent, runs: Vec<NewRun>) -> Response {
        let kind = event.kind.clone();
        match self.store.ingest(event, runs).await {
            Ok(done) => {
                telemetry::event_stored(&kind, done.duplicate);
                let body = json!({
                    "event_id": done.event_id.0,
                    "duplicate": done.duplicate,
                    "runs": done.run_ids.len(),
                });
                (StatusCode::OK, Json(body)).into_response()
            }
            Err(err) => store_failed(&err),
        }
    }

    /// Keeps a refused request for inspection, then answers with the refusal.
    async fn quarantine(&self, headers: &HeaderMap, body: Vec<u8>, refusal: Refusal) -> Response {
        let entry = NewQuarantine {
            received_at: Utc::now(),
            reason: refusal.message.clone(),
            headers: kept_headers(headers).to_string(),
            body,
        };
        match self.store.quarantine(entry).await {
            Ok(id) => {
                telemetry::request_quarantined(refusal.status.as_u16(), &refusal.message);
                let body = json!({ "error": refusal.message, "quarantine_id": id.0 });
                (refusal.status, Json(body)).into_response()
            }
            Err(err) => store_failed(&err),
        }
    }
}

/// Runs of one plugin for one chat share a lane (`<plugin>/<connection>/<chat>`); events
/// without a chat are their own lane (`<plugin>/<dedupe key>`).
pub fn lane_key(event: &NormalizedEvent) -> String {
    match event.chat_id {
        Some(chat) => format!("{}/{}", event.connection_id.0, chat.0),
        None => event.dedupe_key.clone(),
    }
}

/// Request headers without credentials, bounded in count and size, as a JSON object.
fn kept_headers(headers: &HeaderMap) -> Value {
    let mut kept = serde_json::Map::new();
    for (name, value) in headers.iter().take(MAX_KEPT_HEADERS) {
        let name = name.as_str();
        if SECRET_HEADERS.contains(&name) {
            continue;
        }
        let text = String::from_utf8_lossy(value.as_bytes());
        let text: String = text.chars().take(MAX_HEADER_VALUE).collect();
        kept.insert(name.to_owned(), Value::String(text));
    }
    Value::Object(kept)
}

fn store_failed(err: &StoreError) -> Response {
    tracing::error!(error = %err, "intake cannot store a webhook");
    let status = if err.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(
        status,
        "cannot store the webhook right now; redeliver later",
    )
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
