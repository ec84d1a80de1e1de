//! `availability`: the WABA 24-hour window of a chat, granted by `capabilities.availability`.
//! Answers are cached per chat for a short TTL (shared with `messages.send`'s window check).

use serde_json::json;

use super::radist::{self, window};
use super::wit::availability::{Availability, Host};
use super::wit::types::{ChatId, ConnectionId, Datetime, Error};
use crate::availability_cache::Window;
use crate::state::HostState;

impl Host for HostState {
    async fn check(
        &mut self,
        connection: ConnectionId,
        chat: ChatId,
    ) -> wasmtime::Result<Result<Availability, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({ "connection_id": connection, "chat_id": chat });
        let pending = ctx.recorder.begin("availability.check", request);
        let Some(grant) = ctx.plugin.manifest.capabilities.availability.clone() else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.availability")));
        };
        let key = "capabilities.availability";
        if let Err(m) = crate::scope::check_connection(key, &grant.connections, connection) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        match window(ctx, connection, chat).await {
            Ok(w) => {
                ctx.succeed(pending, json!({ "is_available": w.is_available }), false);
                Ok(Ok(to_wit(&w)))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

fn to_wit(w: &Window) -> Availability {
    Availability {
        is_available: w.is_available,
        expires_at: Datetime {
            seconds: w.expires_at.0,
            nanoseconds: w.expires_at.1,
        },
        dialogs_available: w.dialogs_available,
        auto_templates_enabled: w.auto_templates_enabled,
    }
}
