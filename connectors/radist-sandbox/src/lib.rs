//! radist-sandbox: a stateful, in-memory emulator of the Radist.Online v2 messaging API.
//!
//! Serves the spec's paths under `/v2` (companies, connections, chat sources, chats with the
//! contact-binding rules, the `with_contacts` inbox, messages, send with spec validation and
//! FastAPI-shaped 422s, availability from the WABA 24-hour window, files, WABA templates,
//! contacts, webhook subscriptions and delivery with retries), plus control endpoints under
//! `/_sandbox/` for tests and demos (inbound messages, sent log, faults, reset, status changes,
//! stats), with a typed client for them in [`control`].
//!
//! Embed it with [`Sandbox::start`], or mount [`router`] in-process. All state sits behind one
//! mutex that is never held across I/O.

mod app;
mod config;
mod conn;
pub mod control;
mod error;
mod extract;
mod faults;
mod receipts;
mod ring;
mod routes;
mod seed;
mod server;
mod state;
mod time;
mod validate;
mod webhooks;

pub use app::AppState as SandboxState;
pub use config::{
    DeliveryTiming, NonWabaAvailability, SandboxConfig, SandboxLimits, WebhookRetry, WindowPolicy,
};
pub use error::SandboxError;
pub use faults::{CountFault, Faults, RateLimitFault, ServerErrorFault};
pub use seed::{
    CompanySeed, ConnectionSeed, DEFAULT_PERMISSIONS, QuickReplySeed, Seed, TagSeed, TemplateSeed,
};
pub use server::{Sandbox, SandboxHandle};
pub use webhooks::{Attempt, DeliveryRecord, DeliveryState};

/// The whole sandbox as an axum router (`/v2/...` and `/_sandbox/...`) over `state`.
pub fn router(state: SandboxState) -> axum::Router {
    axum::Router::new()
        .nest(routes::API_PREFIX, routes::api(&state))
        .merge(control::router())
        .fallback(routes::fallback)
        .with_state(state)
}
