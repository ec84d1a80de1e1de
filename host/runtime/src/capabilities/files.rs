//! `files`: upload a file to Radist for media messages, granted by `capabilities.files`
//! (`max_bytes` caps the upload).
//!
//! Journaled in two phases: a retried run does not upload twice. An upload an earlier attempt
//! left without a result is simply repeated: an upload only stores a file and returns its link,
//! so a second copy messages nobody. With an upload-link cache in the host services, a file this
//! company uploaded before (same sha256) is answered with its earlier link without uploading —
//! Radist's guide asks for that on mass sends — and the action is recorded as `reused`. The
//! upload, its journal entry and the cache entry finish in a task of their own, so the run's
//! timeout does not cut them off once the file is on the wire.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use super::radist::{self, CallError};
use super::wit::files::Host;
use super::wit::types::Error;
use crate::journal::JournalError;
use crate::recorder::{Completer, Pending};
use crate::state::{HostState, RunContext};
use crate::upload_cache::UploadCache;

impl Host for HostState {
    async fn upload(
        &mut self,
        name: String,
        mime: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<String, Error>> {
        let ctx = &mut self.ctx;
        let sha256 = crate::cache::sha256_hex(&data);
        let keyed = ctx.plugin.digest.hex_mac(&data);
        let request =
            json!({ "name": name, "mime": mime, "bytes": data.len(), "hmac_sha256": keyed });
        let mut pending = ctx.recorder.begin("files.upload", request);
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
        let repeat = "outcome unknown: uploaded again (an upload messages nobody)";
        let prior = ctx.recorder.intent_repeatable(&mut pending, None, repeat);
        if let Some(result) = prior.await? {
            let url = url_of(&result).ok_or_else(|| super::unreadable("an upload"))?;
            ctx.succeed(pending, result, true);
            return Ok(Ok(url));
        }
        let file = File {
            name,
            mime,
            data: data.into(),
            sha256,
        };
        let result = if ctx.recorder.is_dry_run() {
            Ok(format!("https://dry-run.invalid/files/{}", file.sha256))
        } else {
            match reuse(ctx, &mut pending, &file).await? {
                Some(url) => {
                    ctx.succeed(pending, json!({ "url": url, "reused": true }), false);
                    return Ok(Ok(url));
                }
                None => upload_detached(ctx, &pending, file).await?,
            }
        };
        match result {
            Ok(url) => {
                ctx.recorder.effect(&mut pending, &url);
                ctx.succeed(pending, json!({ "url": url }), false);
                Ok(Ok(url))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// One file to upload.
struct File {
    name: String,
    mime: String,
    data: Bytes,
    /// Lowercase hex sha256 of `data`, the upload-link cache key.
    sha256: String,
}

/// The link of an earlier upload of the same content to the same company, from the upload-link
/// cache; the action is completed with it and marked reused.
async fn reuse(
    ctx: &RunContext,
    pending: &mut Pending,
    file: &File,
) -> wasmtime::Result<Option<String>> {
    let (Some(cache), Ok(client)) = (&ctx.plugin.services.upload_cache, radist::client(ctx)) else {
        return Ok(None);
    };
    let Some(url) = cache.get(client.company_id().0, &file.sha256).await else {
        return Ok(None);
    };
    pending.set_reused();
    let result = json!({ "url": url });
    ctx.recorder.complete(pending, &result, Some(&url)).await?;
    Ok(Some(url))
}

/// Uploads in a task of its own that also completes the journal and fills the upload-link cache.
async fn upload_detached(
    ctx: &RunContext,
    pending: &Pending,
    file: File,
) -> wasmtime::Result<Result<String, CallError>> {
    let cache = ctx.plugin.services.upload_cache.clone();
    radist::detached(ctx, pending, |client, completer| async move {
        let uploaded = client.upload_file(&file.name, &file.mime, file.data).await;
        let url = match uploaded {
            Ok(r) => r.url,
            Err(e) => return Ok(Err(CallError::from(e))),
        };
        record(&completer, cache, client.company_id().0, &file.sha256, &url).await?;
        Ok(Ok(url))
    })
    .await
}

/// Completes the journal entry of an upload, then remembers its link.
async fn record(
    completer: &Completer,
    cache: Option<Arc<dyn UploadCache>>,
    company_id: i64,
    sha256: &str,
    url: &str,
) -> Result<(), JournalError> {
    completer
        .complete(&json!({ "url": url }), Some(url))
        .await?;
    if let Some(cache) = cache {
        cache.put(company_id, sha256, url).await;
    }
    Ok(())
}

fn url_of(result: &Value) -> Option<String> {
    result.get("url")?.as_str().map(str::to_owned)
}
