//! `config`: always granted; the manifest's `[config]` values and the caller-resolved `[secrets]`.
//! Secret values are returned to the guest but recorded only as "found".
//!
//! Each distinct key is recorded once per run (its answer cannot change within a run), so a
//! plugin reading its config in a loop does not grow the run's history. Keys no manifest could
//! hold (longer than [`MAX_RECORDED_KEY`]) and keys beyond [`MAX_DISTINCT_KEYS`] are answered
//! without a record.

use std::collections::HashSet;

use serde_json::json;

use super::wit::config::Host;
use crate::state::{HostState, RunContext};

/// The most distinct keys recorded per run.
const MAX_DISTINCT_KEYS: usize = 256;
/// The longest key recorded.
const MAX_RECORDED_KEY: usize = 256;

/// The (function, key) pairs already recorded in this run.
#[derive(Default)]
pub(crate) struct ConfigReads {
    seen: HashSet<(&'static str, String)>,
}

impl ConfigReads {
    /// Whether this read should be recorded: the first of its key, within the bounds.
    fn first(&mut self, kind: &'static str, key: &str) -> bool {
        if key.len() > MAX_RECORDED_KEY || self.seen.len() >= MAX_DISTINCT_KEYS {
            return false;
        }
        self.seen.insert((kind, key.to_owned()))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_recorded_once_within_bounds() {
        let mut reads = ConfigReads::default();
        assert!(reads.first("config.get", "a"));
        assert!(!reads.first("config.get", "a"));
        assert!(reads.first("config.secret", "a"));
        assert!(!reads.first("config.get", &"k".repeat(MAX_RECORDED_KEY + 1)));
        for i in 0..MAX_DISTINCT_KEYS {
            reads.first("config.get", &format!("key-{i}"));
        }
        assert!(!reads.first("config.get", "late"));
        assert_eq!(reads.seen.len(), MAX_DISTINCT_KEYS);
    }
}
