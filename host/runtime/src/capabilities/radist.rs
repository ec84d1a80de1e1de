//! Shared Radist plumbing for the Radist-backed capabilities (not itself a capability): the
//! client, dry-run answers, chat-ownership checks, the cached WABA window, and mapping
//! [`RadistError`] to the guest's short typed errors.

use std::time::Instant;

use radist_connector::models::{ChatAvailability, ChatId as RChat, ConnectionId as RConn};
use radist_connector::{RadistClient, RadistError};

use super::upstream;
use super::wit::types::{Error, FieldError};
use crate::availability_cache::Window;
use crate::state::RunContext;

/// Why a Radist call did not produce a result.
pub(crate) enum CallError {
    /// This host has no Radist client configured.
    NotConfigured,
    Radist(RadistError),
}

impl From<RadistError> for CallError {
    fn from(e: RadistError) -> Self {
        CallError::Radist(e)
    }
}

/// The plugin's Radist client.
pub(crate) fn client(ctx: &RunContext) -> Result<RadistClient, CallError> {
    ctx.plugin
        .services
        .radist
        .clone()
        .ok_or(CallError::NotConfigured)
}

/// A guest-visible error: short, typed, no host internals.
pub(crate) fn guest_error(e: &CallError) -> Error {
    let e = match e {
        CallError::NotConfigured => {
            return upstream(None, "radist is not configured on this host", false);
        }
        CallError::Radist(e) => e,
    };
    match e {
        RadistError::Invalid(violations) => Error::Invalid(
            violations
                .iter()
                .map(|v| FieldError {
                    path: v.path.clone(),
                    message: v.message.clone(),
                })
                .collect(),
        ),
        RadistError::Unprocessable { detail } => Error::Invalid(
            detail
                .iter()
                .map(|d| FieldError {
                    path: d.path(),
                    message: d.msg.clone(),
                })
                .collect(),
        ),
        RadistError::NotFound { what } => Error::NotFound(what.clone()),
        RadistError::RateLimited { retry_after } => {
            let ms = retry_after.map_or(1000, |d| d.as_millis());
            Error::RateLimited(u32::try_from(ms).unwrap_or(u32::MAX))
        }
        RadistError::Server { status } => upstream(Some(*status), "radist server error", true),
        RadistError::Timeout => upstream(None, "radist timed out", true),
        RadistError::Connect(_) => upstream(None, "could not reach radist", true),
        RadistError::TooLarge { limit, .. } => upstream(
            Some(413),
            &format!("file exceeds radist's limit of {limit} bytes"),
            false,
        ),
        other => upstream(None, "radist request failed", other.is_retryable()),
    }
}

/// Ids as the connector types them.
pub(crate) fn ids(connection: i64, chat: i64) -> (RConn, RChat) {
    (RConn(connection), RChat(chat))
}

/// Checks once per run that `chat` belongs to `connection`, unless the event or this run's
/// created chats already vouch for the pair.
pub(crate) async fn verify_chat(
    ctx: &mut RunContext,
    connection: i64,
    chat: i64,
) -> Result<(), CallError> {
    if ctx.known_chats.contains(&(connection, chat)) || ctx.recorder.is_dry_run() {
        return Ok(());
    }
    let (c, h) = ids(connection, chat);
    let found = client(ctx)?.get_chat(c, h).await?;
    if found.connection_id.0 != connection {
        let what = format!("chat {chat} on connection {connection}");
        return Err(CallError::Radist(RadistError::NotFound { what }));
    }
    ctx.known_chats.insert((connection, chat));
    Ok(())
}

/// The chat's WABA window, from the shared cache when fresh.
pub(crate) async fn window(
    ctx: &mut RunContext,
    connection: i64,
    chat: i64,
) -> Result<Window, CallError> {
    if ctx.recorder.is_dry_run() {
        return Ok(dry_run_window());
    }
    let now = Instant::now();
    if let Some(w) = ctx.availability.get((connection, chat), now) {
        return Ok(w);
    }
    let (c, h) = ids(connection, chat);
    let answer = client(ctx)?.chat_availability(c, h).await?;
    let w = to_window(&answer);
    ctx.availability.put((connection, chat), w.clone(), now);
    Ok(w)
}

fn to_window(a: &ChatAvailability) -> Window {
    Window {
        is_available: a.is_available,
        expires_at: (
            a.waba.expires_at.timestamp(),
            a.waba.expires_at.timestamp_subsec_nanos(),
        ),
        dialogs_available: a.waba.dialogs_available,
        auto_templates_enabled: a.waba.auto_templates_enabled,
    }
}

fn dry_run_window() -> Window {
    let now = super::clock::system_now();
    Window {
        is_available: true,
        expires_at: (now.seconds + 24 * 3600, 0),
        dialogs_available: true,
        auto_templates_enabled: false,
    }
}

/// A plausible synthetic id for dry runs.
pub(crate) fn dry_run_id(prefix: &str, seq_hint: usize) -> String {
    format!("dry-run-{prefix}-{seq_hint}")
}
