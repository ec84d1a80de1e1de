//! `config`: always granted; the manifest's `[config]` values and the caller-resolved `[secrets]`.
//! Secret values are returned to the guest but recorded only as "found".

use serde_json::json;

use super::wit::config::Host;
use crate::state::HostState;

impl Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("config.get", json!({ "key": key }));
        let value = ctx.plugin.manifest.config.get(&key).cloned();
        ctx.succeed(pending, json!({ "found": value.is_some() }), false);
        Ok(value)
    }

    async fn secret(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("config.secret", json!({ "name": name }));
        let declared = ctx.plugin.manifest.secrets.contains_key(&name);
        let value = declared
            .then(|| ctx.plugin.services.secrets.get(&name).cloned())
            .flatten();
        ctx.succeed(pending, json!({ "found": value.is_some() }), false);
        Ok(value)
    }
}
