//! Host-side tuning of the runtime ([`RuntimeConfig`]); plugin behaviour lives in manifests.

use std::path::PathBuf;

/// How the runtime sizes its engine, pool and caches.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached (`<digest>-<enginehash>.cwasm`); `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// The installation key (mode 0600, created on first use) that keys history digests and
    /// authenticates cached components; it must not be inside `cache_dir`. `None`: `<cache_dir>.key`
    /// beside the cache, or without a cache a random key per process (fingerprints then do not
    /// match across restarts).
    pub key_file: Option<PathBuf>,
    /// The granularity of run deadlines, in milliseconds: the epoch ticker advances at least
    /// this often.
    pub epoch_tick_ms: u64,
    /// How long a guest may execute before it yields its thread to the other runs, in
    /// microseconds (at least 100); the epoch ticker advances this often when it is shorter than
    /// `epoch_tick_ms`. Short, so a spinning guest delays a healthy run's next step by little.
    pub yield_every_us: u64,
    /// Threads that execute guests, apart from the caller's (at least 1; default one per core).
    pub guest_threads: usize,
    /// How many runs may execute at once; more wait in `Plugin::run` (first come, first served).
    /// Sizes the pooling allocator to exactly that many runs' shares, so a slot is always free.
    pub max_concurrent_runs: u32,
    /// The largest `limits.memory_mib` of any plugin; sizes each pooled memory slot.
    pub max_memory_mib: u32,
    /// Use the pooling allocator (falls back to on-demand allocation when it cannot reserve memory).
    pub pooling: bool,
    /// The most wasm stack a guest may use, in bytes; deeper recursion traps with stack overflow.
    pub max_wasm_stack_bytes: usize,
    /// How long the host waits for availability answers before asking Radist again, in milliseconds.
    pub availability_ttl_ms: u64,
    /// What a send does when an earlier attempt of the run recorded its intent but no result.
    pub reconcile: ReconcilePolicy,
    /// How much earlier than its intent a read-back message may be dated and still count as
    /// that send (clock skew between this host and Radist), in milliseconds.
    pub reconcile_skew_ms: u64,
    /// How many of the chat's newest messages a read-back looks at (1 to 100).
    pub reconcile_read_limit: u32,
    /// Repeat a non-GET/HEAD `http.send` whose earlier attempt has no result. Off by default:
    /// the call fails with a non-retryable `upstream` "outcome unknown", since the host cannot
    /// ask an arbitrary server whether it already acted.
    pub resend_pending_http: bool,
}

/// How a send left without a result by an earlier attempt (crash, timeout, ambiguous 5xx) is
/// reconciled before anything is resent. Radist's send API has no idempotency key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconcilePolicy {
    /// Read the chat's newest messages back: an outbound message with the same content, dated
    /// at or after the intent (minus `reconcile_skew_ms`), counts as delivered; otherwise send.
    #[default]
    ReadBack,
    /// Send again without looking (may message the customer twice).
    Resend,
    /// Fail the call with a non-retryable `upstream` error (may lose the message).
    Fail,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            key_file: None,
            epoch_tick_ms: 10,
            yield_every_us: 1_000,
            guest_threads: crate::executor::default_threads(),
            max_concurrent_runs: 64,
            max_memory_mib: 128,
            pooling: true,
            max_wasm_stack_bytes: 512 * 1024,
            availability_ttl_ms: 30_000,
            reconcile: ReconcilePolicy::ReadBack,
            reconcile_skew_ms: 5_000,
            reconcile_read_limit: 20,
            resend_pending_http: false,
        }
    }
}

/// The ledger part of [`RuntimeConfig`], as every run sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LedgerSettings {
    pub(crate) reconcile: ReconcilePolicy,
    pub(crate) skew: chrono::Duration,
    pub(crate) read_limit: u32,
    pub(crate) resend_pending_http: bool,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        RuntimeConfig::default().ledger()
    }
}

impl RuntimeConfig {
    /// The settings the capabilities read when an earlier attempt left an action pending.
    pub(crate) fn ledger(&self) -> LedgerSettings {
        let skew_ms = i64::try_from(self.reconcile_skew_ms).unwrap_or(i64::MAX);
        LedgerSettings {
            reconcile: self.reconcile,
            skew: chrono::Duration::try_milliseconds(skew_ms).unwrap_or(chrono::Duration::MAX),
            read_limit: self.reconcile_read_limit,
            resend_pending_http: self.resend_pending_http,
        }
    }

    /// How often the epoch ticker advances: the shorter of `epoch_tick_ms` and `yield_every_us`.
    pub(crate) fn tick_period(&self) -> std::time::Duration {
        let tick = std::time::Duration::from_millis(self.epoch_tick_ms);
        tick.min(std::time::Duration::from_micros(self.yield_every_us))
    }

    /// Checks the values that would otherwise fail deep inside the engine.
    pub(crate) fn validate(&self) -> Result<(), crate::RuntimeError> {
        let bad = |m: &str| Err(crate::RuntimeError::Config(m.to_owned()));
        if self.epoch_tick_ms == 0 {
            return bad("`epoch_tick_ms` must be at least 1");
        }
        if self.yield_every_us < 100 {
            return bad("`yield_every_us` must be at least 100");
        }
        if self.guest_threads == 0 {
            return bad("`guest_threads` must be at least 1");
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
        if !(1..=100).contains(&self.reconcile_read_limit) {
            return bad("`reconcile_read_limit` must be between 1 and 100");
        }
        Ok(())
    }
}
