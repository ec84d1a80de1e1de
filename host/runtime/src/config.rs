//! Host-side tuning of the runtime ([`RuntimeConfig`]); plugin behaviour lives in manifests.

use std::path::PathBuf;

/// How the runtime sizes its engine, pool and caches.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached (`<digest>-<enginehash>.cwasm`); `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// How often the epoch ticker advances the engine's epoch, in milliseconds.
    pub epoch_tick_ms: u64,
    /// How many runs may execute at once; sizes the pooling allocator.
    pub max_concurrent_runs: u32,
    /// The largest `limits.memory_mib` of any plugin; sizes each pooled memory slot.
    pub max_memory_mib: u32,
    /// Use the pooling allocator (falls back to on-demand allocation when it cannot reserve memory).
    pub pooling: bool,
    /// The most wasm stack a guest may use, in bytes; deeper recursion traps with stack overflow.
    pub max_wasm_stack_bytes: usize,
    /// How long the host waits for availability answers before asking Radist again, in milliseconds.
    pub availability_ttl_ms: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            epoch_tick_ms: 10,
            max_concurrent_runs: 64,
            max_memory_mib: 128,
            pooling: true,
            max_wasm_stack_bytes: 512 * 1024,
            availability_ttl_ms: 30_000,
        }
    }
}

impl RuntimeConfig {
    /// Checks the values that would otherwise fail deep inside the engine.
    pub(crate) fn validate(&self) -> Result<(), crate::RuntimeError> {
        let bad = |m: &str| Err(crate::RuntimeError::Config(m.to_owned()));
        if self.epoch_tick_ms == 0 {
            return bad("`epoch_tick_ms` must be at least 1");
        }
        if self.max_concurrent_runs == 0 {
            return bad("`max_concurrent_runs` must be at least 1");
        }
        if self.max_memory_mib == 0 || self.max_memory_mib > 4096 {
            return bad("`max_memory_mib` must be between 1 and 4096");
        }
        if self.max_wasm_stack_bytes < 64 * 1024 {
            return bad("`max_wasm_stack_bytes` must be at least 65536");
        }
        Ok(())
    }
}
