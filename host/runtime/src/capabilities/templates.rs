//! `templates`: the approved WABA templates of a connection, granted by `capabilities.templates`.

use serde_json::json;

use super::radist::{self, CallError};
use super::wit::templates::{Host, WabaTemplate};
use super::wit::types::{ConnectionId, Error};
use crate::state::HostState;
use radist_connector::models::WabaTemplateMessageOut;

impl Host for HostState {
    async fn list(
        &mut self,
        connection: ConnectionId,
    ) -> wasmtime::Result<Result<Vec<WabaTemplate>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx
            .recorder
            .begin("templates.list", json!({ "connection_id": connection }));
        let Some(grant) = ctx.plugin.manifest.capabilities.templates.clone() else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.templates")));
        };
        if let Err(m) =
            crate::scope::check_connection("capabilities.templates", &grant.connections, connection)
        {
            return Ok(Err(ctx.deny(pending, m)));
        }
        if ctx.recorder.is_dry_run() {
            ctx.succeed(pending, json!({ "count": 0 }), false);
            return Ok(Ok(Vec::new()));
        }
        let result: Result<Vec<WabaTemplateMessageOut>, CallError> = match radist::client(ctx) {
            Ok(client) => client
                .waba_templates(radist_connector::models::ConnectionId(connection), true)
                .await
                .map_err(CallError::from),
            Err(e) => Err(e),
        };
        match result {
            Ok(list) => {
                let templates: Vec<WabaTemplate> = list.iter().map(to_wit).collect();
                ctx.succeed(pending, json!({ "count": templates.len() }), false);
                Ok(Ok(templates))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

fn to_wit(t: &WabaTemplateMessageOut) -> WabaTemplate {
    let count = |n: i64| u32::try_from(n).unwrap_or(0);
    let header = t.components.header.as_ref();
    WabaTemplate {
        name: t.name.clone(),
        locale: t.locale.clone(),
        status: t.status.clone(),
        body_text: t.components.body.text.clone(),
        body_params: count(t.components.body.params_count),
        header_format: header.map(|h| h.format.clone()),
        header_params: header.map_or(0, |h| count(h.params_count)),
        button_params: t
            .components
            .buttons
            .as_ref()
            .map_or(0, |b| count(b.params_count)),
    }
}
