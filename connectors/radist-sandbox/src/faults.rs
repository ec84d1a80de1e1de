//! Fault injection (`POST /_sandbox/faults`): rate limiting (429 + Retry-After), server errors,
//! latency, and webhook duplication/reordering. Request faults answer before the handler runs,
//! so a faulted request has no effect; counts go down by one per faulted request.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiError;
use crate::webhooks::WebhookFaults;

/// The fault settings (also the JSON of `POST /_sandbox/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The next `count` matching requests answer 429 with `Retry-After: retry_after_s`.
    #[serde(default)]
    pub rate_limit: Option<RateLimitFault>,
    /// The next `count` matching requests answer `status` (default 503).
    #[serde(default)]
    pub server_error: Option<ServerErrorFault>,
    /// Every matching request waits this long first.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Every webhook event is delivered twice.
    #[serde(default)]
    pub webhook_duplicate: bool,
    /// Consecutive webhook events of a subscription are delivered in swapped pairs.
    #[serde(default)]
    pub webhook_reorder: bool,
    /// Only requests whose path contains one of these strings are faulted (default: all API requests).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

/// `rate_limit` fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFault {
    pub count: u32,
    #[serde(default = "one")]
    pub retry_after_s: u64,
}

/// `server_error` fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerErrorFault {
    pub count: u32,
    #[serde(default = "service_unavailable")]
    pub status: u16,
}

fn one() -> u64 {
    1
}
fn service_unavailable() -> u16 {
    503
}

enum Verdict {
    Pass,
    RateLimited(u64),
    ServerError(u16),
}

impl Faults {
    /// The webhook switches.
    pub fn webhook(&self) -> WebhookFaults {
        WebhookFaults {
            duplicate: self.webhook_duplicate,
            reorder: self.webhook_reorder,
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|p| path.contains(p.as_str())))
    }

    /// Decides for one request and consumes one count.
    fn take(&mut self, path: &str) -> (Option<u64>, Verdict) {
        if !self.matches(path) {
            return (None, Verdict::Pass);
        }
        let verdict = if let Some(rl) = self.rate_limit.as_mut().filter(|f| f.count > 0) {
            rl.count -= 1;
            Verdict::RateLimited(rl.retry_after_s)
        } else if let Some(se) = self.server_error.as_mut().filter(|f| f.count > 0) {
            se.count -= 1;
            Verdict::ServerError(se.status)
        } else {
            Verdict::Pass
        };
        (self.latency_ms, verdict)
    }
}

/// Middleware over the `/v2` API applying the request faults.
pub async fn apply(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (latency, verdict) = app.faults().take(request.uri().path());
    if let Some(ms) = latency.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match verdict {
        Verdict::Pass => next.run(request).await,
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
