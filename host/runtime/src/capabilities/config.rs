//! `config`: always granted; the manifest's `[config]` values and the caller-resolved `[secrets]`.
//! Secret values are returned to the guest but recorded only as "found".
//!
//! Each distinct key is recorded once per run (its answer cannot change within a run), so a
//! plugin reading its config in a loop does not grow the run's history. Keys no manifest could
//! hold (longer than [`MAX_RECORDED_KEY`]) and keys beyond [`MAX_DISTINCT_KEYS`] are answered
//! without a record (the bookkeeping is [`ConfigReads`](crate::config_reads::ConfigReads)).

use serde_json::json;

use super::wit::config::Host;
use crate::state::{HostState, RunContext};

impl Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let ctx = &mut self.ctx;
        let value = ctx.plugin.manifest.config.get(&key).cloned();
        record_once(ctx, "config.get", &key, value.is_some());
        Ok(value)
    }

    async fn secret(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let ctx = &mut self.ctx;
        let declared = ctx.plugin.manifest.secrets.contains_key(&name);
        let value = declared
            .then(|| ctx.plugin.services.secrets.get(&name).cloned())
            .flatten();
        record_once(ctx, "config.secret", &name, value.is_some());
        Ok(value)
    }
}

/// Records the read unless this key was recorded already.
fn record_once(ctx: &mut RunContext, kind: &'static str, key: &str, found: bool) {
    if !ctx.config_reads.first(kind, key) {
        return;
    }
    let field = if kind == "config.secret" {
        "name"
    } else {
        "key"
    };
    let pending = ctx.recorder.begin(kind, json!({ field: key }));
    ctx.succeed(pending, json!({ "found": found }), false);
}
