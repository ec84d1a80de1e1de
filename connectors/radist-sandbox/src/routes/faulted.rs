//! The middleware over the `/v2` API that applies the request faults of [`crate::faults`]:
//! latency, then at most one counted fault per request.

use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::conn::{ConnSwitch, Cut};
use crate::error::ApiError;
use crate::faults::Verdict;

/// Middleware over the `/v2` API applying the request faults.
pub async fn apply(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_send = ambiguous_write(request.method(), path);
    let (latency, verdict) = app.faults().take(path, is_send);
    if let Some(ms) = latency.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let switch = request
        .extensions()
        .get::<ConnectInfo<ConnSwitch>>()
        .map(|info| info.0.clone());
    match verdict {
        Verdict::Pass => next.run(request).await,
        Verdict::Reset => cut(switch, Cut::Reset),
        Verdict::DropResponse => {
            let processed = next.run(request).await;
            drop(processed);
            cut(switch, Cut::Close)
        }
        Verdict::RateLimited(retry_after_s) => {
            ApiError::RateLimited { retry_after_s }.into_response()
        }
        Verdict::ServerError(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let text = status
                .canonical_reason()
                .unwrap_or("Server Error")
                .to_owned();
            ApiError::Detail(status, text).into_response()
        }
    }
}

/// Whether `drop_response` applies: a send or a CRM write whose effect a client must reconcile.
fn ambiguous_write(method: &Method, path: &str) -> bool {
    const CREATES: [&str; 5] = [
        "/messaging/messages/",
        "/contacts/",
        "/notes/",
        "/tags/",
        "/messaging/templates/",
    ];
    match *method {
        Method::POST => CREATES.iter().any(|end| path.ends_with(end)),
        Method::PUT => path.contains("/contacts/") && path.ends_with("/tags/"),
        _ => false,
    }
}

/// Trips the connection's switch; the returned answer is never written. Without a switch (a
/// router served outside [`crate::Sandbox::start`]) it answers 500 instead.
fn cut(switch: Option<ConnSwitch>, how: Cut) -> Response {
    let Some(switch) = switch else {
        let text = "connection faults (reset, drop_response) need a sandbox started with \
                    Sandbox::start; clear them or start it that way";
        return ApiError::Detail(StatusCode::INTERNAL_SERVER_ERROR, text.to_owned())
            .into_response();
    };
    switch.trip(how);
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
