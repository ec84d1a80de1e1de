//! `quick-replies.list`, granted by `capabilities.quick_replies = true`: the company's canned
//! answers, read only. A read: recorded, not journaled. Dry runs read too (reads change nothing).

use serde_json::{Value, json};

use super::radist::{self, CallError};
use super::wit::quick_replies::{Host, QuickReply};
use super::wit::types::Error;
use crate::state::HostState;

impl Host for HostState {
    async fn list(&mut self) -> wasmtime::Result<Result<Vec<QuickReply>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("quick-replies.list", Value::Null);
        if !ctx.plugin.manifest.capabilities.quick_replies {
            return Ok(Err(ctx.not_granted(pending, "capabilities.quick_replies")));
        }
        let listed = match radist::client(ctx) {
            Ok(client) => client.list_quick_replies().await.map_err(CallError::from),
            Err(e) => Err(e),
        };
        match listed {
            Ok(replies) => {
                let replies: Vec<QuickReply> = replies
                    .into_iter()
                    .map(|r| QuickReply {
                        id: r.id.0,
                        name: r.name,
                        text: r.text,
                        file_url: r.file_url,
                    })
                    .collect();
                ctx.succeed(pending, json!({"count": replies.len()}), false);
                Ok(Ok(replies))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}
