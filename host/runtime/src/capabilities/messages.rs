//! `messages`: send a message, granted by `capabilities.messages`.
//!
//! The checks, in order, each answering before any request reaches Radist:
//! 1. grant, connection and message-type scopes → `denied` (the run becomes `denied`);
//! 2. the connector's outgoing validators → `invalid` with every field path;
//! 3. the send rate: `per_minute` is a per-plugin token bucket shared by all its runs (bursts up
//!    to `per_minute`, refilled continuously). Past it the call answers `rate-limited(ms)` with
//!    the wait until the next token — not `denied`: the grant allows sending, only not yet, so
//!    the run is not marked denied; the action's retry class is `budget`, so a run that gives up
//!    on it waits for the budget without spending an attempt. It comes before the journal, so a
//!    send over budget leaves no intent to reconcile; a send then answered without sending
//!    (from the journal, or refused by reconciliation) gives its token back;
//! 4. the journal: the intent is recorded before anything leaves. A send completed in an earlier
//!    attempt of the run (same run id, sequence number and request) is answered with
//!    `replayed = true`, not sent again; one an earlier attempt left without a result is
//!    reconciled first by the runtime's `ReconcilePolicy` (default: read the chat back, see
//!    `reconcile.rs`), and the decision is kept on the action;
//! 5. chat ownership: the (connection, chat) pair must be vouched for by the event or a chat
//!    created in the run, or confirmed by Radist (`not-found` otherwise);
//! 6. the WABA 24-hour window for non-template messages to WABA chats — chats the event marks
//!    WABA, or any chat on a connection Radist reports as WABA → `window-closed` with details.
//!
//! The send itself and its journal completion run in a task of their own: once on the wire, a
//! send is not cancelled by the run's timeout (the action stays in the run as in flight and the
//! journal gets its result). Dry runs stop before Radist and answer a synthetic, per-action
//! message id.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use radist_connector::models::{Message, SendMessageRequest};
use radist_connector::validate::{ValidateOptions, validate_send};
use radist_connector::{RadistClient, RadistError};
use serde_json::{Value, json};

use super::outgoing::{message_types, to_request};
use super::radist::{self, CallError};
use super::wit::messages::{Content, Host, Outgoing, Sent};
use super::wit::types::{Datetime, Error, WindowClosed};
use crate::config::ReconcilePolicy;
use crate::journal::{JournalError, Prior};
use crate::outcome::Reconciliation;
use crate::reconcile::{ContentKey, candidates};
use crate::recorder::Pending;
use crate::scope::{check_connection, check_message_type};
use crate::state::{HostState, RunContext};

impl Host for HostState {
    async fn send(&mut self, msg: Outgoing) -> wasmtime::Result<Result<Sent, Error>> {
        if let Err(oversized) = super::outgoing::precheck(&msg) {
            return Ok(Err(oversized));
        }
        let ctx = &mut self.ctx;
        let wire = to_request(&msg);
        let mut request = serde_json::to_value(&wire).unwrap_or(Value::Null);
        request["connection_id"] = json!(msg.connection_id);
        let mut pending = ctx.recorder.begin("messages.send", request);
        if let Err(m) = check_scope(ctx, &msg) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        let violations = validate_send(&wire, &ValidateOptions::default());
        if !violations.is_empty() {
            let invalid = CallError::Radist(RadistError::Invalid(violations));
            return Ok(Err(ctx.fail(pending, radist::guest_error(&invalid))));
        }
        // The budget first: a send over it leaves no intent behind to reconcile later.
        if let Err(wait) = take_token(ctx) {
            return Ok(Err(ctx.over_budget(pending, wait)));
        }
        let chat = (msg.connection_id, msg.chat_id);
        // Only a read-back finds a send whose result was lost in a crash; under the other
        // policies the result is written as soon as it comes.
        if ctx.caches.ledger.reconcile != ReconcilePolicy::ReadBack {
            pending.write_at_once();
        }
        match ctx.recorder.intent(&mut pending, Some(chat)).await? {
            Prior::Completed { result, .. } => {
                give_back_token(ctx);
                let sent = sent_from_json(&result).ok_or_else(unreadable)?;
                ctx.succeed(pending, result, true);
                return Ok(Ok(sent));
            }
            Prior::Pending { intent_at } => {
                match reconcile(ctx, &mut pending, &msg, &wire, intent_at).await? {
                    Reconciled::Delivered(sent) => {
                        give_back_token(ctx);
                        ctx.succeed(pending, sent_to_json(&sent), true);
                        return Ok(Ok(sent));
                    }
                    Reconciled::Refused(e) => {
                        give_back_token(ctx);
                        return Ok(Err(ctx.fail(pending, e)));
                    }
                    Reconciled::SendAgain => {}
                }
            }
            Prior::Fresh | Prior::Mismatch { .. } => {}
        }
        if let Err(e) = precheck(ctx, &msg).await {
            return Ok(Err(ctx.fail(pending, e)));
        }
        let result = if ctx.recorder.is_dry_run() {
            Ok(dry_run_sent(ctx, &pending))
        } else {
            deliver_detached(ctx, &pending, wire).await?
        };
        match result {
            Ok(sent) => {
                ctx.recorder.effect(&mut pending, &sent.message_id);
                ctx.succeed(pending, sent_to_json(&sent), false);
                Ok(Ok(sent))
            }
            Err(e) => {
                let error = send_error(&e, ctx.caches.ledger.reconcile);
                Ok(Err(ctx.fail(pending, error)))
            }
        }
    }
}

/// A completed send whose journaled result cannot be read: never resend it, trap instead.
fn unreadable() -> wasmtime::Error {
    wasmtime::Error::from(JournalError(
        "a completed send has an unreadable result; not resent".to_owned(),
    ))
}

/// A decision that could not know the outcome.
fn unknown(text: &str) -> (Reconciliation, String) {
    (Reconciliation::Unknown, text.to_owned())
}

/// What reconciling a pending send decided.
enum Reconciled {
    /// An earlier attempt delivered it: answer with that message (journal completed).
    Delivered(Sent),
    /// Not delivered (or the policy says resend): send now.
    SendAgain,
    /// Do not send; give the guest this error.
    Refused(Error),
}

/// Applies the runtime's [`ReconcilePolicy`] to a send an earlier attempt left without a
/// result, recording the decision on the action and in the journal.
async fn reconcile(
    ctx: &mut RunContext,
    pending: &mut Pending,
    msg: &Outgoing,
    wire: &SendMessageRequest,
    intent_at: DateTime<Utc>,
) -> wasmtime::Result<Reconciled> {
    let ledger = ctx.caches.ledger;
    let (decision, reconciled) = match ledger.reconcile {
        ReconcilePolicy::Resend => (
            unknown("outcome unknown: sent again without reading back (reconcile policy resend)"),
            Reconciled::SendAgain,
        ),
        ReconcilePolicy::Fail => {
            let message = "an earlier attempt of this run may have sent this message; not repeated (reconcile policy fail)";
            (
                unknown("outcome unknown: not sent again (reconcile policy fail)"),
                Reconciled::Refused(super::upstream(None, message, false)),
            )
        }
        _ => read_back(ctx, msg, wire, intent_at - ledger.skew).await,
    };
    let (kind, decision) = decision;
    ctx.recorder.decide(pending, kind, decision).await?;
    if let Reconciled::Delivered(sent) = &reconciled {
        let summary = sent_to_json(sent);
        ctx.recorder
            .complete(pending, &summary, Some(&sent.message_id))
            .await?;
    }
    Ok(reconciled)
}

/// Reads the chat's newest messages back and looks for this send among them (see
/// `reconcile.rs` for what matches). Returns the decision text with the outcome.
async fn read_back(
    ctx: &mut RunContext,
    msg: &Outgoing,
    wire: &SendMessageRequest,
    not_before: DateTime<Utc>,
) -> ((Reconciliation, String), Reconciled) {
    let listed = match list_newest(ctx, msg).await {
        Ok(listed) => listed,
        Err(e) => {
            let decision = unknown("outcome unknown: could not read the chat back; not sent");
            let retryable = matches!(&e, CallError::Radist(r) if r.is_retryable());
            let message = "could not read the chat back to check an earlier attempt; not sent";
            return (
                decision,
                Reconciled::Refused(super::upstream(None, message, retryable)),
            );
        }
    };
    let found = match unclaimed(ctx, &listed, wire, not_before).await {
        Ok(found) => found,
        Err(e) => {
            let decision = unknown("outcome unknown: could not read the ledger; not sent");
            let message = format!("could not check the ledger for an earlier send ({e}); not sent");
            return (
                decision,
                Reconciled::Refused(super::upstream(None, &message, true)),
            );
        }
    };
    match found {
        Some(m) => {
            let id = m.message_id.0.to_string();
            let sent = Sent {
                message_id: id.clone(),
                created_at: Datetime {
                    seconds: m.created_at.timestamp(),
                    nanoseconds: m.created_at.timestamp_subsec_nanos(),
                },
                replayed: true,
            };
            let decision = (
                Reconciliation::Delivered,
                format!("delivered: found message {id} in the chat"),
            );
            (decision, Reconciled::Delivered(sent))
        }
        None => (
            (
                Reconciliation::NotFound,
                "not found in the chat: sent again".to_owned(),
            ),
            Reconciled::SendAgain,
        ),
    }
}

/// The oldest message in `listed` that matches the send and that no action (of this run or any
/// other) has already claimed as its effect.
async fn unclaimed<'m>(
    ctx: &RunContext,
    listed: &'m [Message],
    wire: &SendMessageRequest,
    not_before: DateTime<Utc>,
) -> Result<Option<&'m Message>, JournalError> {
    let Some(key) = ContentKey::of_request(wire) else {
        return Ok(None);
    };
    for m in candidates(listed, &key, not_before) {
        if !ctx
            .recorder
            .effect_claimed(&m.message_id.0.to_string())
            .await?
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// The chat's newest messages, after checking the chat belongs to the connection.
async fn list_newest(ctx: &mut RunContext, msg: &Outgoing) -> Result<Vec<Message>, CallError> {
    radist::verify_chat(ctx, msg.connection_id, msg.chat_id).await?;
    let limit = ctx.caches.ledger.read_limit;
    let (_, chat) = radist::ids(msg.connection_id, msg.chat_id);
    Ok(radist::client(ctx)?
        .messages_page(chat, limit, None)
        .await?)
}

/// Sends in a task of its own that also completes the journal, so a send on the wire finishes
/// and is recorded even when the run's timeout drops this call.
async fn deliver_detached(
    ctx: &RunContext,
    pending: &Pending,
    wire: SendMessageRequest,
) -> wasmtime::Result<Result<Sent, CallError>> {
    radist::detached(ctx, pending, |client, completer| async move {
        let sent = match deliver(&client, &wire).await {
            Ok(sent) => sent,
            Err(e) => return Ok(Err(e)),
        };
        let summary = sent_to_json(&sent);
        completer.complete(&summary, Some(&sent.message_id)).await?;
        Ok(Ok(sent))
    })
    .await
}

/// The guest's error for a failed send. A failure that may have come after Radist delivered the
/// message (500, 502, 504, a timeout) leaves the intent without a result, so a retry of the run
/// reconciles it before anything is resent: under the default policy (read back) it is
/// retryable. Under `ReconcilePolicy::Fail` a retry could only refuse, so it is final.
fn send_error(e: &CallError, policy: ReconcilePolicy) -> Error {
    let ambiguous = matches!(
        e,
        CallError::Radist(RadistError::Timeout)
            | CallError::Radist(RadistError::Server { status: 500..=502 | 504.. })
    );
    match radist::guest_error(e) {
        Error::Upstream(mut u) if ambiguous => {
            u.retryable = policy != ReconcilePolicy::Fail;
            u.message = if u.retryable {
                "radist failed after the message may have been sent; a retry reads the chat back before sending again, so the customer is not messaged twice"
            } else {
                "radist failed after the message may have been sent; not repeated (reconcile policy fail), so the customer is not messaged twice"
            }
            .to_owned();
            Error::Upstream(u)
        }
        other => other,
    }
}

/// Sends through the connector.
async fn deliver(client: &RadistClient, wire: &SendMessageRequest) -> Result<Sent, CallError> {
    let r = client.send_message(wire).await?;
    Ok(Sent {
        message_id: r.message.message_id.0.to_string(),
        created_at: Datetime {
            seconds: r.message.created_at.timestamp(),
            nanoseconds: r.message.created_at.timestamp_subsec_nanos(),
        },
        replayed: false,
    })
}

/// Grant, connection and message-type scopes.
fn check_scope(ctx: &RunContext, msg: &Outgoing) -> Result<(), String> {
    let Some(grant) = &ctx.plugin.manifest.capabilities.messages else {
        let file = &ctx.plugin.manifest_file;
        return Err(format!("`capabilities.messages` is not granted in {file}"));
    };
    check_connection(
        "capabilities.messages",
        &grant.connections,
        msg.connection_id,
    )?;
    for wanted in message_types(msg) {
        check_message_type(&grant.types, wanted)?;
    }
    Ok(())
}

/// One token from the plugin's bucket, or the wait until one is free.
fn take_token(ctx: &RunContext) -> Result<(), Duration> {
    let Some(bucket) = &ctx.plugin.send_bucket else {
        return Ok(());
    };
    let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
    bucket.try_take(Instant::now())
}

/// Returns the token of a send answered without sending (from the journal, or refused).
fn give_back_token(ctx: &RunContext) {
    if let Some(bucket) = &ctx.plugin.send_bucket {
        bucket.lock().unwrap_or_else(|p| p.into_inner()).give_back();
    }
}

/// Chat ownership, then the WABA window for non-template messages to WABA chats.
async fn precheck(ctx: &mut RunContext, msg: &Outgoing) -> Result<(), Error> {
    let (conn, chat) = (msg.connection_id, msg.chat_id);
    radist::verify_chat(ctx, conn, chat)
        .await
        .map_err(|e| radist::guest_error(&e))?;
    if matches!(msg.content, Content::WabaTemplate(_)) {
        return Ok(());
    }
    let waba = radist::is_waba(ctx, conn, chat)
        .await
        .map_err(|e| radist::guest_error(&e))?;
    if !waba {
        return Ok(());
    }
    let window = radist::window(ctx, conn, chat)
        .await
        .map_err(|e| radist::guest_error(&e))?;
    if window.is_available {
        return Ok(());
    }
    Err(Error::WindowClosed(WindowClosed {
        expires_at: Some(Datetime {
            seconds: window.expires_at.0,
            nanoseconds: window.expires_at.1,
        }),
        dialogs_available: window.dialogs_available,
        auto_templates_enabled: window.auto_templates_enabled,
    }))
}

fn dry_run_sent(ctx: &RunContext, pending: &Pending) -> Sent {
    Sent {
        message_id: radist::dry_run_uuid(ctx, pending, "message"),
        created_at: super::clock::system_now(),
        replayed: false,
    }
}

fn sent_to_json(s: &Sent) -> Value {
    json!({
        "message_id": s.message_id,
        "created_at": { "seconds": s.created_at.seconds, "nanoseconds": s.created_at.nanoseconds },
    })
}

fn sent_from_json(v: &Value) -> Option<Sent> {
    let at = v.get("created_at")?;
    Some(Sent {
        message_id: v.get("message_id")?.as_str()?.to_owned(),
        created_at: Datetime {
            seconds: at.get("seconds")?.as_i64()?,
            nanoseconds: u32::try_from(at.get("nanoseconds")?.as_u64()?).ok()?,
        },
        replayed: true,
    })
}

#[cfg(test)]
mod send_error_tests {
    use super::*;

    fn retryable(e: RadistError, policy: ReconcilePolicy) -> bool {
        match send_error(&CallError::Radist(e), policy) {
            Error::Upstream(u) => u.retryable,
            other => panic!("expected upstream, got {other:?}"),
        }
    }

    #[test]
    fn failures_that_may_have_sent_the_message_are_retried_through_the_read_back() {
        let read_back = ReconcilePolicy::ReadBack;
        assert!(retryable(RadistError::Timeout, read_back));
        assert!(retryable(RadistError::Server { status: 500 }, read_back));
        assert!(retryable(RadistError::Server { status: 504 }, read_back));
        assert!(retryable(RadistError::Server { status: 503 }, read_back));
        assert!(retryable(RadistError::Connect("refused".into()), read_back));
    }

    #[test]
    fn under_the_fail_policy_a_possibly_sent_message_is_final() {
        let fail = ReconcilePolicy::Fail;
        assert!(!retryable(RadistError::Timeout, fail));
        assert!(!retryable(RadistError::Server { status: 502 }, fail));
        assert!(retryable(RadistError::Server { status: 503 }, fail));
    }
}
