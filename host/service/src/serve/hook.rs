//! The webhook endpoint, `POST /hooks/radist/{token}`: the HTTP side of
//! [`intake`](crate::serve::intake).
//!
//! In order: the token (constant time; unknown → 404), shutdown (→ 503, Radist retries), the
//! backlog (→ 503 with `Retry-After` past `[webhook] max_queued_runs` / `max_queue_age_s`, see
//! [`backlog`](crate::serve::backlog)), the content type (→ 415), the size (→ 413); then intake decodes and stores (→ 200, or 400 for a
//! body that is not a Radist webhook). A refused request is quarantined with its headers
//! (credentials removed). A store that cannot write answers 503 so Radist redelivers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::serve::intake::{Intake, Intook, Refusal, RefusalKind};
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
        return behind(&full);
    }
    let (bytes, refusal) = read(intake, headers, body).await;
    let kept = kept_headers(headers).to_string();
    let taken = match refusal {
        Some(refusal) => intake.quarantine(kept, bytes, refusal).await,
        None => intake.take(kept, bytes).await,
    };
    respond(taken)
}

/// 503 with `Retry-After`: the queue is over a bound ([`crate::serve::backlog`]).
fn behind(full: &crate::serve::backlog::Full) -> Response {
    telemetry::webhook_refused_backlog(&full.reason);
    let message = format!(
        "switchboard is behind ({}); redeliver after {} s",
        full.reason, full.retry_after_s
    );
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, &message);
    let retry_after = header::HeaderValue::from(full.retry_after_s);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, retry_after);
    response
}

/// The response for what intake did: 200 with the stored event, the refusal's status with
/// the quarantine id, or 503/500 when the store could not write.
fn respond(taken: Intook) -> Response {
    match taken {
        Intook::Stored(stored) => (StatusCode::OK, Json(stored)).into_response(),
        Intook::Quarantined { refusal, id } => {
            let status = status_of(refusal.kind);
            telemetry::request_quarantined(status.as_u16(), &refusal.message);
            let body = json!({ "error": refusal.message, "quarantine_id": id.0 });
            (status, Json(body)).into_response()
        }
        Intook::NotStored { unavailable } => {
            let status = if unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            error(
                status,
                "cannot store the webhook right now; redeliver later",
            )
        }
    }
}

fn status_of(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RefusalKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RefusalKind::NotRadist => StatusCode::BAD_REQUEST,
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
            kind: RefusalKind::ContentType,
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
            kind: RefusalKind::TooLarge,
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

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
