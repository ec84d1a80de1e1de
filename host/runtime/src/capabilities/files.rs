//! `files`: upload a file to Radist for media messages, granted by `capabilities.files`
//! (`max_bytes` caps the upload). Journaled: a retried run does not upload twice.

use serde_json::{Value, json};

use super::radist::{self, CallError};
use super::wit::files::Host;
use super::wit::types::Error;
use crate::state::HostState;

impl Host for HostState {
    async fn upload(
        &mut self,
        name: String,
        mime: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({ "name": name, "mime": mime, "bytes": data.len(), "sha256": crate::cache::sha256_hex(&data) });
        let pending = ctx.recorder.begin("files.upload", request);
        let Some(grant) = ctx.plugin.manifest.capabilities.files.clone() else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.files")));
        };
        if data.len() as u64 > grant.max_bytes {
            let m = format!(
                "file of {} bytes exceeds `capabilities.files.max_bytes` ({})",
                data.len(),
                grant.max_bytes
            );
            return Ok(Err(ctx.deny(pending, m)));
        }
        if let Some(prior) = ctx.recorder.prior(&pending).await?
            && let Some(url) = prior.get("url").and_then(Value::as_str)
        {
            let url = url.to_owned();
            ctx.succeed(pending, prior, true);
            return Ok(Ok(url));
        }
        let result = if ctx.recorder.is_dry_run() {
            Ok(format!(
                "https://dry-run.invalid/files/{}",
                crate::cache::sha256_hex(&data)
            ))
        } else {
            match radist::client(ctx) {
                Ok(c) => c
                    .upload_file(&name, &mime, data.into())
                    .await
                    .map(|r| r.url)
                    .map_err(CallError::from),
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(url) => {
                let summary = json!({ "url": url });
                ctx.recorder.complete(&pending, &summary).await?;
                ctx.succeed(pending, summary, false);
                Ok(Ok(url))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}
