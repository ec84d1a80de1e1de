//! Radist.Online v2 connector: everything Switchboard knows about the Radist API, and nothing
//! about wasm, manifests or storage.
//!
//! - [`models`]: the wire types (serde) shared by the client, the sandbox, the validators and
//!   the webhook decoder.
//! - [`client`]: the typed HTTP client ([`RadistClient`]) with auth, timeouts and retries.
//! - [`error`]: [`RadistError`], the one error type at this crate's boundary.
//! - [`validate`]: outgoing-message validators, run before any HTTP call.
//! - [`webhook`]: decoding of Radist webhooks into normalized events with dedupe keys.

pub mod client;
pub mod error;
pub mod models;
pub mod validate;
pub mod webhook;

pub use client::{ApiKey, ClientConfig, RadistClient, RetryPolicy};
pub use error::RadistError;
