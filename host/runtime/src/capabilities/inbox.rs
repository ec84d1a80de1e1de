//! `inbox.mark-answered`, granted by `capabilities.inbox` for its connections. Journaled in two
//! phases; marking answered is idempotent, so an action an earlier attempt left without a result
//! is simply repeated. Dry runs call nothing.

use serde_json::json;

use super::radist::{self, CallError};
use super::wit::inbox::Host;
use super::wit::types::Error;
use crate::state::HostState;

const KEY: &str = "capabilities.inbox";

impl Host for HostState {
    async fn mark_answered(
        &mut self,
        connection: i64,
        chat: i64,
    ) -> wasmtime::Result<Result<(), Error>> {
        let ctx = &mut self.ctx;
        let request = json!({"connection_id": connection, "chat_id": chat});
        let mut pending = ctx.recorder.begin("inbox.mark-answered", request.clone());
        let Some(grant) = ctx.plugin.manifest.capabilities.inbox.clone() else {
            return Ok(Err(ctx.not_granted(pending, KEY)));
        };
        if let Err(m) = crate::scope::check_connection(KEY, &grant.connections, connection) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        let repeat = "outcome unknown: marked again (marking answered is idempotent)";
        let prior = ctx
            .recorder
            .intent_repeatable(&mut pending, Some((connection, chat)), repeat);
        if let Some(result) = prior.await? {
            ctx.succeed(pending, result, true);
            return Ok(Ok(()));
        }
        let outcome = if ctx.recorder.is_dry_run() {
            Ok(())
        } else {
            mark(ctx, connection, chat).await
        };
        match outcome {
            Ok(()) => {
                ctx.recorder.complete(&mut pending, &request, None).await?;
                ctx.succeed(pending, request, false);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// Checks the chat belongs to the connection, then marks it answered.
async fn mark(
    ctx: &mut crate::state::RunContext,
    connection: i64,
    chat: i64,
) -> Result<(), CallError> {
    radist::verify_chat(ctx, connection, chat).await?;
    let (c, h) = radist::ids(connection, chat);
    radist::client(ctx)?.mark_answered(c, h).await?;
    Ok(())
}
