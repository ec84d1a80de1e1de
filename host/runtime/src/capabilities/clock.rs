//! `clock`: always granted. Each reading is journaled, so a replayed run sees the same instants.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::wit::clock::Host;
use super::wit::types::Datetime;
use crate::state::HostState;

impl Host for HostState {
    async fn now(&mut self) -> wasmtime::Result<Datetime> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("clock.now", json!({}));
        if let Some(prior) = ctx.recorder.prior(&pending).await?
            && let Some(at) = datetime_from_json(&prior)
        {
            ctx.succeed(pending, prior, true);
            return Ok(at);
        }
        let at = system_now();
        let value = json!({ "seconds": at.seconds, "nanoseconds": at.nanoseconds });
        ctx.recorder.complete(&pending, &value).await?;
        ctx.succeed(pending, value, false);
        Ok(at)
    }
}

/// The current UTC instant.
pub(crate) fn system_now() -> Datetime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Datetime {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanoseconds: since.subsec_nanos(),
    }
}

fn datetime_from_json(value: &serde_json::Value) -> Option<Datetime> {
    Some(Datetime {
        seconds: value.get("seconds")?.as_i64()?,
        nanoseconds: u32::try_from(value.get("nanoseconds")?.as_u64()?).ok()?,
    })
}
