//! Fault injection (`POST /_sandbox/faults`, JSON of [`Faults`]; `GET` shows what is left,
//! `DELETE` clears). Counted faults go down by one per faulted request; `paths` limits every
//! request fault to paths containing one of its strings.
//!
//! | key | effect |
//! |---|---|
//! | `reset: {count}` | the connection is reset (TCP RST) before the handler runs: nothing happens, the client sees a connection error |
//! | `rate_limit: {count, retry_after_s}` | 429 with `Retry-After` before the handler runs: nothing happens |
//! | `server_error: {count, status}` | `status` (default 503) before the handler runs: nothing happens |
//! | `drop_response: {count}` | for sends (`POST …/messaging/messages/`) and CRM writes (`POST …/contacts/`, `…/notes/`, `…/tags/`, `…/messaging/templates/`; `PUT …/contacts/{id}/tags/`) only: the request is processed (message stored, listed, webhooks fired; contact, note or tag created; tag set replaced) but the connection is closed without an answer (a rejected request uses a count too) — the ambiguous outcome a client must reconcile |
//! | `latency_ms` | every matching request waits this long first |
//! | `webhook_duplicate` | every webhook event is delivered twice |
//! | `webhook_reorder` | consecutive webhook events of a subscription are delivered in swapped pairs |
//!
//! One request takes at most one counted fault, in the order of the table. `reset` and
//! `drop_response` need the connection, so they work on a sandbox started with
//! [`crate::Sandbox::start`]; a bare [`crate::router`] answers them with a 500 saying so.

use serde::{Deserialize, Serialize};

use crate::webhooks::WebhookFaults;

/// The fault settings (also the JSON of `POST /_sandbox/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next `count` matching requests have their connection reset before processing.
    pub reset: Option<CountFault>,
    /// The next `count` matching sends are processed but their connection closes unanswered.
    pub drop_response: Option<CountFault>,
    /// The next `count` matching requests answer 429 with `Retry-After: retry_after_s`.
    pub rate_limit: Option<RateLimitFault>,
    /// The next `count` matching requests answer `status` (default 503).
    pub server_error: Option<ServerErrorFault>,
    /// Every matching request waits this long first.
    pub latency_ms: Option<u64>,
    /// Every webhook event is delivered twice.
    pub webhook_duplicate: bool,
    /// Consecutive webhook events of a subscription are delivered in swapped pairs.
    pub webhook_reorder: bool,
    /// Only requests whose path contains one of these strings are faulted (default: all API requests).
    pub paths: Option<Vec<String>>,
}

/// A fault that hits the next `count` matching requests (`reset`, `drop_response`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountFault {
    pub count: u32,
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

pub(crate) enum Verdict {
    Pass,
    Reset,
    RateLimited(u64),
    ServerError(u16),
    DropResponse,
}

/// Takes one from a counted fault, if any is left.
fn take_one(count: &mut Option<CountFault>) -> bool {
    match count.as_mut().filter(|f| f.count > 0) {
        Some(fault) => {
            fault.count -= 1;
            true
        }
        None => false,
    }
}

impl Faults {
    /// The next `count` matching requests have their connection reset before processing.
    pub fn resets(count: u32) -> Self {
        let reset = Some(CountFault { count });
        Self {
            reset,
            ..Self::default()
        }
    }

    /// The next `count` matching sends and CRM writes are processed but left unanswered.
    pub fn dropped_answers(count: u32) -> Self {
        let drop_response = Some(CountFault { count });
        Self {
            drop_response,
            ..Self::default()
        }
    }

    /// The next `count` matching requests answer HTTP `status`.
    pub fn server_errors(count: u32, status: u16) -> Self {
        let server_error = Some(ServerErrorFault { count, status });
        Self {
            server_error,
            ..Self::default()
        }
    }

    /// These faults, only on requests whose path contains one of `paths`.
    pub fn on_paths(self, paths: &[&str]) -> Self {
        let paths = Some(paths.iter().map(|p| (*p).to_owned()).collect());
        Self { paths, ..self }
    }

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
    pub(crate) fn take(&mut self, path: &str, is_send: bool) -> (Option<u64>, Verdict) {
        if !self.matches(path) {
            return (None, Verdict::Pass);
        }
        let verdict = if take_one(&mut self.reset) {
            Verdict::Reset
        } else if let Some(rl) = self.rate_limit.as_mut().filter(|f| f.count > 0) {
            rl.count -= 1;
            Verdict::RateLimited(rl.retry_after_s)
        } else if let Some(se) = self.server_error.as_mut().filter(|f| f.count > 0) {
            se.count -= 1;
            Verdict::ServerError(se.status)
        } else if is_send && take_one(&mut self.drop_response) {
            Verdict::DropResponse
        } else {
            Verdict::Pass
        };
        (self.latency_ms, verdict)
    }
}
