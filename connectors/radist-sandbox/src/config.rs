//! Sandbox configuration: listen address, seed, and every behaviour that the real service leaves
//! unknown (each is a switch with a documented default).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::seed::Seed;

/// What a non-template send to a WABA chat with a closed 24-hour window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowPolicy {
    /// Accept (200), then emit `messages.delivery.error` (Meta 131047 "Re-engagement message").
    #[default]
    Accept,
    /// Reject synchronously with 422 (`type: "window_closed"`).
    Reject,
    /// Ignore the window entirely.
    Allow,
}

/// What `GET .../availability` answers for a chat that is not on a WABA connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonWabaAvailability {
    /// 422 `value_error` at `["path","connection_id"]`: "availability is only for WABA chats".
    #[default]
    Reject,
    /// 200 `{is_available: true, waba: {expires_at: now + 24 h, ...}}`.
    Available,
}

/// Timing of the simulated delivery receipts after an accepted send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryTiming {
    /// Delay from send to `messages.delivery.delivered` (or `.error`).
    pub delivered_after: Duration,
    /// Delay from send to `messages.delivery.read`.
    pub read_after: Duration,
}

/// Retry policy of outgoing webhook deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRetry {
    /// Attempts per event, the first included.
    pub attempts: u32,
    /// Delay before the second attempt; doubles after each failure.
    pub base_delay: Duration,
    /// Timeout of one delivery attempt.
    pub timeout: Duration,
}

/// Caps of what grows with use; past them the oldest entries are dropped and counted
/// (`GET /_sandbox/stats`), so a sandbox serving a long run keeps a flat memory profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Entries kept in the sent list (`GET /_sandbox/sent`).
    pub max_sent: usize,
    /// Records kept in the webhook delivery log (`GET /_sandbox/webhook-deliveries`).
    pub max_deliveries: usize,
    /// Total bytes of uploaded files kept for serving and media sends.
    pub max_stored_upload_bytes: usize,
}

/// Everything [`crate::Sandbox::start`] needs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Initial (and reset) state.
    pub seed: Seed,
    /// Status for a request without `X-Api-Key` (FastAPI ≥ 0.115: 401; older: 403).
    pub missing_key_status: StatusCode,
    /// Initial closed-window policy (changeable at run time via `POST /_sandbox/settings`).
    pub window_policy: WindowPolicy,
    /// Availability for non-WABA chats.
    pub non_waba_availability: NonWabaAvailability,
    /// Delivery receipt timing.
    pub delivery: DeliveryTiming,
    /// Webhook retry policy.
    pub webhook_retry: WebhookRetry,
    /// Largest accepted upload (`POST /messaging/files/`); larger answers 413.
    pub max_upload_bytes: usize,
    /// Caps of the sent list, the delivery log and the stored uploads.
    pub limits: SandboxLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Seed::default(),
            missing_key_status: StatusCode::UNAUTHORIZED,
            window_policy: WindowPolicy::default(),
            non_waba_availability: NonWabaAvailability::default(),
            delivery: DeliveryTiming {
                delivered_after: Duration::from_millis(20),
                read_after: Duration::from_millis(40),
            },
            webhook_retry: WebhookRetry {
                attempts: 5,
                base_delay: Duration::from_millis(200),
                timeout: Duration::from_secs(5),
            },
            max_upload_bytes: 100 * 1024 * 1024,
            limits: SandboxLimits::default(),
        }
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            max_sent: 100_000,
            max_deliveries: 100_000,
            max_stored_upload_bytes: 256 * 1024 * 1024,
        }
    }
}
