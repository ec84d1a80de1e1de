//! `kv`: the plugin's own durable key-value store, granted by `capabilities.kv`, with key, value
//! and key-count caps. `set` and `delete` are journaled; `get` and `list-keys` are not. The
//! key-count cap is checked by the store in the same step as the write (`KvStore::set`).

use serde_json::{Value, json};

use super::upstream;
use super::wit::kv::Host;
use super::wit::types::Error;
use crate::journal::Prior;
use crate::kv_store::KvError;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

/// Longest key, in bytes.
const MAX_KEY_BYTES: usize = 256;

impl Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("kv.get", json!({ "key": key }));
        let plugin = ctx.plugin.clone();
        let get = plugin.services.kv.get(&plugin.name, &key);
        let summary = |value: &Option<Vec<u8>>| json!({ "found": value.is_some() });
        Ok(read(ctx, pending, &key, get, summary).await)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let ctx = &mut self.ctx;
        let request = json!({ "key": key, "value_bytes": value.len(), "value_hmac_sha256": ctx.plugin.digest.hex_mac(&value) });
        let mut pending = ctx.recorder.begin("kv.set", request);
        if let Err(e) = check(ctx, &pending, &key).and_then(|()| check_value(ctx, &value)) {
            return Ok(Err(refuse(ctx, pending, e)));
        }
        // A pending set is simply repeated: writing the same value again is harmless.
        if let Prior::Completed { .. } = ctx.recorder.intent(&mut pending, None).await? {
            ctx.succeed(pending, json!({}), true);
            return Ok(Ok(()));
        }
        let plugin = ctx.plugin.clone();
        let max_keys = plugin
            .manifest
            .capabilities
            .kv
            .as_ref()
            .map_or(0, |g| g.max_keys);
        let written = plugin
            .services
            .kv
            .set(&plugin.name, &key, value, u64::from(max_keys))
            .await;
        match written {
            Ok(()) => {
                ctx.recorder
                    .complete(&mut pending, &json!({}), None)
                    .await?;
                ctx.succeed(pending, json!({}), false);
                Ok(Ok(()))
            }
            Err(KvError::Quota { .. }) => {
                let m = format!(
                    "the plugin already has {max_keys} keys, the limit in `capabilities.kv.max_keys`"
                );
                Ok(Err(refuse(ctx, pending, Refusal::Denied(m))))
            }
            Err(e) => Ok(Err(store_failed(ctx, pending, &e.to_string()))),
        }
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let ctx = &mut self.ctx;
        let mut pending = ctx.recorder.begin("kv.delete", json!({ "key": key }));
        if let Err(e) = check(ctx, &pending, &key) {
            return Ok(Err(refuse(ctx, pending, e)));
        }
        // A pending delete is repeated (deleting twice is harmless; `existed` is then false).
        if let Prior::Completed { result, .. } = ctx.recorder.intent(&mut pending, None).await? {
            let existed = result
                .get("existed")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            ctx.succeed(pending, result, true);
            return Ok(Ok(existed));
        }
        let plugin = ctx.plugin.clone();
        match plugin.services.kv.delete(&plugin.name, &key).await {
            Ok(existed) => {
                let summary = json!({ "existed": existed });
                ctx.recorder.complete(&mut pending, &summary, None).await?;
                ctx.succeed(pending, summary, false);
                Ok(Ok(existed))
            }
            Err(e) => Ok(Err(store_failed(ctx, pending, &e.to_string()))),
        }
    }

    async fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx
            .recorder
            .begin("kv.list-keys", json!({ "prefix": prefix }));
        let plugin = ctx.plugin.clone();
        let list = plugin.services.kv.list_keys(&plugin.name, &prefix);
        let summary = |keys: &Vec<String>| json!({ "count": keys.len() });
        Ok(read(ctx, pending, "k", list, summary).await)
    }
}

/// Why a call is refused before touching the store.
enum Refusal {
    Denied(String),
    Invalid(String),
}

fn check(ctx: &RunContext, _pending: &Pending, key: &str) -> Result<(), Refusal> {
    if ctx.plugin.manifest.capabilities.kv.is_none() {
        let file = &ctx.plugin.manifest_file;
        return Err(Refusal::Denied(format!(
            "`capabilities.kv` is not granted in {file}"
        )));
    }
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Refusal::Invalid(format!(
            "key must be 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

fn check_value(ctx: &RunContext, value: &[u8]) -> Result<(), Refusal> {
    let max = ctx
        .plugin
        .manifest
        .capabilities
        .kv
        .as_ref()
        .map_or(0, |g| g.max_value_bytes);
    if value.len() > max as usize {
        return Err(Refusal::Denied(format!(
            "value of {} bytes exceeds `capabilities.kv.max_value_bytes` ({max})",
            value.len()
        )));
    }
    Ok(())
}

fn refuse(ctx: &mut RunContext, pending: Pending, refusal: Refusal) -> Error {
    match refusal {
        Refusal::Denied(m) => ctx.deny(pending, m),
        Refusal::Invalid(m) => {
            let field = super::wit::types::FieldError {
                path: "key".into(),
                message: m,
            };
            ctx.fail(pending, Error::Invalid(vec![field]))
        }
    }
}

/// A read of the store (not journaled), awaited only after the grant check and the check of
/// `key` (a store call's future does nothing until awaited): its value, recorded as `summary`
/// says; or why it was refused, or the store's failure.
async fn read<T>(
    ctx: &mut RunContext,
    pending: Pending,
    key: &str,
    read: impl Future<Output = Result<T, KvError>>,
    summary: impl FnOnce(&T) -> Value,
) -> Result<T, Error> {
    if let Err(e) = check(ctx, &pending, key) {
        return Err(refuse(ctx, pending, e));
    }
    match read.await {
        Ok(value) => {
            ctx.succeed(pending, summary(&value), false);
            Ok(value)
        }
        Err(e) => Err(store_failed(ctx, pending, &e.to_string())),
    }
}

fn store_failed(ctx: &mut RunContext, pending: Pending, detail: &str) -> Error {
    tracing::warn!(plugin = %ctx.plugin.name, error = %detail, "kv store failed");
    ctx.fail(pending, upstream(None, "kv store unavailable", true))
}
