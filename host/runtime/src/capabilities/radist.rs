//! Shared Radist plumbing for the Radist-backed capabilities (not itself a capability): the
//! client, dry-run answers and ids, chat-ownership checks, which connections are WABA (learned
//! from Radist, cached for the runtime's lifetime), the cached WABA window, and mapping
//! [`RadistError`] to the guest's short typed errors.

use std::time::Instant;

use radist_connector::models::{ChatAvailability, ChatId as RChat, ConnectionId as RConn};
use radist_connector::{RadistClient, RadistError};
use sha2::{Digest, Sha256};

use super::upstream;
use super::wit::types::{Error, FieldError};
use crate::availability_cache::Window;
use crate::journal::JournalError;
use crate::messenger::{self, Messenger};
use crate::recorder::{Completer, Pending};
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

/// Runs `call` with the plugin's client in a task of its own that also completes the journal
/// (through the [`Completer`] it is given), so a call on the wire finishes and is recorded even
/// when the run's timeout drops the caller.
pub(crate) async fn detached<T, F, Fut>(
    ctx: &RunContext,
    pending: &Pending,
    call: F,
) -> wasmtime::Result<Result<T, CallError>>
where
    T: Send + 'static,
    F: FnOnce(RadistClient, Completer) -> Fut,
    Fut: Future<Output = Result<Result<T, CallError>, JournalError>> + Send + 'static,
{
    let client = match client(ctx) {
        Ok(client) => client,
        Err(e) => return Ok(Err(e)),
    };
    let completer = ctx.recorder.completer(pending);
    Ok(tokio::spawn(call(client, completer)).await??)
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

/// Whether `chat` on `connection` is a WABA chat: the event says so, or the connection's kind
/// (asked of Radist once per connection and runtime) is WABA. Dry runs never ask Radist and
/// treat chats the event does not vouch for as non-WABA. A failed lookup fails the send (with
/// the lookup's error, e.g. a retryable `upstream`) rather than risk a send outside the window.
pub(crate) async fn is_waba(
    ctx: &mut RunContext,
    connection: i64,
    chat: i64,
) -> Result<bool, CallError> {
    if ctx.waba_chats.contains(&(connection, chat)) {
        return Ok(true);
    }
    if ctx.recorder.is_dry_run() {
        return Ok(false);
    }
    if let Some(known) = ctx.caches.connections.known(connection) {
        return Ok(known == Some(Messenger::Waba));
    }
    let found = client(ctx)?.get_connection(RConn(connection)).await?;
    let known = messenger::of_connection(&found.kind);
    ctx.caches.connections.learn(connection, known);
    Ok(known == Some(Messenger::Waba))
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
    if let Some(w) = ctx.caches.availability.get((connection, chat), now) {
        return Ok(w);
    }
    let (c, h) = ids(connection, chat);
    let answer = client(ctx)?.chat_availability(c, h).await?;
    let w = to_window(&answer);
    ctx.caches
        .availability
        .put((connection, chat), w.clone(), now);
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

/// A synthetic Radist-style id (`1_000_000_000..2_000_000_000`, within the API's 32-bit id
/// range) for a dry run's action: unique per (run, action, `what`), and the same when the run
/// is replayed.
pub(crate) fn dry_run_number(ctx: &RunContext, pending: &Pending, what: &str) -> i64 {
    let digest = dry_run_digest(ctx, pending, what);
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    1_000_000_000 + i64::try_from(u64::from_be_bytes(head) % 1_000_000_000).unwrap_or(0)
}

/// A synthetic message id shaped like Radist's (a version-4 UUID), as [`dry_run_number`].
pub(crate) fn dry_run_uuid(ctx: &RunContext, pending: &Pending, what: &str) -> String {
    let mut b = dry_run_digest(ctx, pending, what);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::cache::hex(&b[..16]);
    let parts = [
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..],
    ];
    parts.join("-")
}

fn dry_run_digest(ctx: &RunContext, pending: &Pending, what: &str) -> [u8; 32] {
    let run = ctx.recorder.run_key();
    let text = format!("dry-run\n{run}\n{}\n{what}", pending.seq());
    Sha256::digest(text.as_bytes()).into()
}
