//! `history`: a chat's past messages, newest first and paged backwards by `before`, and the
//! chat's summary (name, unanswered count, last message). Granted by `capabilities.history` for
//! its connections; one run reads at most `max_messages` messages in total, so a page is cut to
//! what is left and a read past the bound is `denied`, naming the key. Reads: recorded, not
//! journaled; dry runs read too (reads change nothing).

use chrono::{DateTime, Utc};
use radist_connector::models::Message as WireMessage;
use serde_json::json;

use super::radist::{self, CallError};
use super::wit::history::{ChatSummary, Host, Page};
use super::wit::types::{Datetime, Error, FieldError};
use crate::event;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

const KEY: &str = "capabilities.history";
/// The largest page a plugin may ask for (Radist's own page size).
const MAX_PAGE: u32 = 100;

impl Host for HostState {
    async fn messages(
        &mut self,
        connection: i64,
        chat: i64,
        before: Option<Datetime>,
        limit: u32,
    ) -> wasmtime::Result<Result<Page, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({"connection_id": connection, "chat_id": chat, "limit": limit,
            "before": before.map(|b| b.seconds)});
        let pending = ctx.recorder.begin("history.messages", request);
        let (pending, max_messages) = match precheck(ctx, pending, connection) {
            Ok(allowed) => allowed,
            Err(e) => return Ok(Err(e)),
        };
        let take = match page_size(ctx, limit, max_messages) {
            Ok(take) => take,
            Err(Refused::Invalid(e)) => return Ok(Err(ctx.fail(pending, e))),
            Err(Refused::Denied(m)) => return Ok(Err(ctx.deny(pending, m))),
        };
        let until = match before.map(to_utc).transpose() {
            Ok(until) => until,
            Err(e) => return Ok(Err(ctx.fail(pending, e))),
        };
        match read_page(ctx, connection, chat, take, until).await {
            Ok(page) => Ok(Ok(answer(ctx, pending, page, take))),
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }

    async fn summary(
        &mut self,
        connection: i64,
        chat: i64,
    ) -> wasmtime::Result<Result<ChatSummary, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({"connection_id": connection, "chat_id": chat});
        let pending = ctx.recorder.begin("history.summary", request);
        let pending = match precheck(ctx, pending, connection) {
            Ok((pending, _)) => pending,
            Err(e) => return Ok(Err(e)),
        };
        let read = match radist::client(ctx) {
            Ok(client) => {
                let (c, h) = radist::ids(connection, chat);
                client.get_chat(c, h).await.map_err(CallError::from)
            }
            Err(e) => Err(e),
        };
        match read {
            Ok(found) => {
                let unanswered_count =
                    u32::try_from(found.unanswered_count.max(0)).unwrap_or(u32::MAX);
                ctx.succeed(
                    pending,
                    json!({"unanswered_count": unanswered_count}),
                    false,
                );
                Ok(Ok(ChatSummary {
                    name: found.name,
                    unanswered_count,
                    last_message: found.last_message.as_ref().map(event::message),
                }))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// Why a page is not read.
enum Refused {
    Invalid(Error),
    Denied(String),
}

/// The grant and the connection; on success the pending record back with `max_messages`.
fn precheck(
    ctx: &mut RunContext,
    pending: Pending,
    connection: i64,
) -> Result<(Pending, u32), Error> {
    let Some(grant) = ctx.plugin.manifest.capabilities.history.clone() else {
        return Err(ctx.not_granted(pending, KEY));
    };
    if let Err(m) = crate::scope::check_connection(KEY, &grant.connections, connection) {
        return Err(ctx.deny(pending, m));
    }
    Ok((pending, grant.max_messages))
}

/// `limit` (1 to [`MAX_PAGE`]) cut to what the run may still read.
fn page_size(ctx: &RunContext, limit: u32, max_messages: u32) -> Result<u32, Refused> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Refused::Invalid(Error::Invalid(vec![FieldError {
            path: "limit".to_owned(),
            message: format!("1 to {MAX_PAGE} messages a page, not {limit}"),
        }])));
    }
    let left = max_messages.saturating_sub(ctx.history_read);
    if left == 0 {
        return Err(Refused::Denied(format!(
            "this run already read {max_messages} messages, the most `{KEY}.max_messages` allows; \
             raise it in the manifest"
        )));
    }
    Ok(limit.min(left))
}

fn to_utc(at: Datetime) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp(at.seconds, at.nanoseconds).ok_or_else(|| {
        Error::Invalid(vec![FieldError {
            path: "before".to_owned(),
            message: "not a valid instant".to_owned(),
        }])
    })
}

/// Checks the chat is on the connection, then reads one page (newest first).
async fn read_page(
    ctx: &mut RunContext,
    connection: i64,
    chat: i64,
    take: u32,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<WireMessage>, CallError> {
    radist::verify_chat(ctx, connection, chat).await?;
    let (_, h) = radist::ids(connection, chat);
    let mut page = radist::client(ctx)?.messages_page(h, take, until).await?;
    page.truncate(take as usize);
    Ok(page)
}

/// Counts the page against the bound, records it and builds the guest's page: a full page
/// points to the next (older) one at its oldest message's time.
fn answer(ctx: &mut RunContext, pending: Pending, page: Vec<WireMessage>, take: u32) -> Page {
    let count = u32::try_from(page.len()).unwrap_or(u32::MAX);
    ctx.history_read = ctx.history_read.saturating_add(count);
    let oldest = page.iter().map(|m| m.created_at).min();
    let next_before = oldest.filter(|_| count >= take).map(event::datetime);
    ctx.succeed(pending, json!({"count": count}), false);
    Page {
        messages: page.iter().map(event::message).collect(),
        next_before,
    }
}
