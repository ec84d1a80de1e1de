//! Scope of the CRM grants: which contacts a plugin may touch (those with a chat on a granted
//! connection, the event's own contact, or one the run created), read and write access, and the notes rate. Each
//! refusal names the manifest key to change.

use std::collections::BTreeSet;
use std::time::Instant;

use radist_connector::models::ContactId;
use switchboard_manifest::{Access, ConnectionId};

use super::radist::{self, CallError};
use crate::state::RunContext;

/// Why a CRM call may not go ahead.
pub(crate) enum Refusal {
    /// Outside the grant: the message says which key to change.
    Denied(String),
    /// Radist could not say whether the contact is in scope.
    Lookup(CallError),
}

/// Refuses a read without `read = true` or a write without `write = true`.
pub(crate) fn check_access(key: &str, access: Access, write: bool) -> Result<(), String> {
    let (allowed, flag) = if write {
        (access.write, "write")
    } else {
        (access.read, "read")
    };
    if allowed {
        return Ok(());
    }
    Err(format!(
        "`{key}` does not allow this; set `{flag} = true` in the manifest"
    ))
}

/// Allows the event's own contact, contacts this run created, and contacts with a chat on a granted
/// connection (asked of Radist; dry runs allow every contact, as they call nothing).
pub(crate) async fn check_contact(
    ctx: &RunContext,
    key: &str,
    connections: &BTreeSet<ConnectionId>,
    contact: i64,
) -> Result<(), Refusal> {
    let own = ctx.event_contact == Some(contact) || ctx.created_contacts.contains(&contact);
    if own || ctx.recorder.is_dry_run() {
        return Ok(());
    }
    let client = radist::client(ctx).map_err(Refusal::Lookup)?;
    let chats = client
        .contact_chats(ContactId(contact))
        .await
        .map_err(|e| Refusal::Lookup(CallError::from(e)))?;
    let reachable = chats
        .iter()
        .any(|chat| connections.iter().any(|c| c.get() == chat.connection_id.0));
    if reachable {
        return Ok(());
    }
    Err(Refusal::Denied(format!(
        "contact {contact} has no chat on a connection in `{key}.connections`; add one of its \
         connections to the manifest"
    )))
}

/// One token from the plugin's notes bucket, or the milliseconds until one is free.
pub(crate) fn take_note_token(ctx: &RunContext) -> Result<(), u32> {
    let Some(bucket) = &ctx.plugin.note_bucket else {
        return Ok(());
    };
    let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
    bucket
        .try_take(Instant::now())
        .map_err(|wait| u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).max(1))
}
