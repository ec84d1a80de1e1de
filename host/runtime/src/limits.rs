//! What one run may use, in one place: the per-store [`wasmtime::ResourceLimiter`] (the
//! manifest's memory cap as the total of all of a store's memories, plus table and instance
//! caps), the per-run share of the pooling allocator (the same numbers, so a run can never take
//! a slot another run needs), the host-call budget, and the per-call lifting budget.

use switchboard_manifest::Manifest;
use wasmtime::ResourceLimiter;

use crate::outcome::LimitHit;

/// Core instances a wasip2 component may create per instantiation (main module, shims, adapters).
pub(crate) const CORE_INSTANCES_PER_RUN: u32 = 16;
/// Memories per run: the guest's own plus an adapter's.
pub(crate) const MEMORIES_PER_RUN: u32 = 2;
/// Tables per run: the guest's plus the indirect-call shims'.
pub(crate) const TABLES_PER_RUN: u32 = 8;
/// Table elements any one table may hold.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 20_000;
/// What one host call may lift from the guest besides its largest granted byte argument:
/// strings, records and small lists (wasmtime counts host-side bytes, 24 per lifted string).
const HOSTCALL_FUEL_BASE: usize = 2 * 1024 * 1024;

/// Limits one store to a plugin's `limits.memory_mib` across all its memories, and to one run's
/// share of the pool.
pub(crate) struct StoreLimiter {
    memory_mib: u32,
    memory_bytes: usize,
    /// Bytes of every memory of the store, as last granted.
    memory_total: usize,
    /// The largest `memory_total` the run reached.
    memory_peak: usize,
}

/// Counts a run's host calls against `limits.max_host_calls`.
pub(crate) struct HostCallBudget {
    max: u32,
    made: u32,
}

impl StoreLimiter {
    pub(crate) fn new(memory_mib: u32) -> Self {
        StoreLimiter {
            memory_mib,
            memory_bytes: memory_mib as usize * 1024 * 1024,
            memory_total: 0,
            memory_peak: 0,
        }
    }

    /// The most linear memory the store held at once, in bytes.
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.memory_peak as u64
    }
}

impl HostCallBudget {
    pub(crate) fn new(max: u32) -> Self {
        HostCallBudget { max, made: 0 }
    }

    /// Takes back one count: the call hook also sees epoch ticks, which are not host calls.
    /// (A tick that comes once the budget is spent still traps: the run made its last allowed
    /// call and kept running; it will not get further.)
    pub(crate) fn uncount(&mut self) {
        self.made = self.made.saturating_sub(1);
    }

    /// Counts one call into the host (an import, WASI included, or a memory growth); past the
    /// budget, the error that traps the run.
    pub(crate) fn count(&mut self) -> wasmtime::Result<()> {
        if self.made >= self.max {
            return Err(LimitHit::error(
                "limits.max_host_calls",
                format!(
                    "the plugin made more than {} host calls, the limit in `limits.max_host_calls`",
                    self.max
                ),
            ));
        }
        self.made += 1;
        Ok(())
    }
}

/// The most bytes one host call (or `handle`'s result) may lift from the guest: whatever fits
/// in the run's memory (`limits.memory_mib`) or the largest byte argument the manifest allows (an
/// http body, an upload, a kv value), plus room for the call's other arguments. Covering the
/// memory cap means that data the guest could build is lifted and then refused by the host call
/// with a typed error naming its own limit (e.g. `denied` naming `capabilities.kv.max_value_bytes`)
/// instead of trapping; only data that multiplies while lifted (many strings sharing bytes)
/// still exhausts it, and that trap names `limits.memory_mib`.
pub(crate) fn hostcall_fuel(manifest: &Manifest) -> usize {
    let grants = &manifest.capabilities;
    let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let http = grants.http.as_ref().map_or(0, |h| bytes(h.max_body_bytes));
    let files = grants.files.as_ref().map_or(0, |f| bytes(f.max_bytes));
    let kv = grants
        .kv
        .as_ref()
        .map_or(0, |k| bytes(u64::from(k.max_value_bytes)));
    let memory = bytes(u64::from(manifest.limits.memory_mib) * 1024 * 1024);
    HOSTCALL_FUEL_BASE.saturating_add(http.max(files).max(kv).max(memory))
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let others = self.memory_total.saturating_sub(current);
        let total = others.saturating_add(desired);
        if total > self.memory_bytes {
            return Err(LimitHit::error(
                "limits.memory_mib",
                format!(
                    "memory limit of {} MiB exceeded (the plugin asked for {} bytes in all); raise `limits.memory_mib` if the plugin needs more",
                    self.memory_mib, total
                ),
            ));
        }
        self.memory_total = total;
        self.memory_peak = self.memory_peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!(
                "table limit of {MAX_TABLE_ELEMENTS} elements exceeded (a fixed host limit; the plugin must use fewer)"
            );
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        CORE_INSTANCES_PER_RUN as usize
    }

    fn tables(&self) -> usize {
        TABLES_PER_RUN as usize
    }

    fn memories(&self) -> usize {
        MEMORIES_PER_RUN as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_beyond_the_cap_is_an_error_naming_memory() {
        let mut limiter = StoreLimiter::new(1);
        assert!(limiter.memory_growing(0, 1024 * 1024, None).expect("ok"));
        let err = limiter
            .memory_growing(0, 1024 * 1024 + 1, None)
            .expect_err("over the cap");
        assert!(err.to_string().contains("memory limit of 1 MiB exceeded"));
    }

    #[test]
    fn the_cap_is_the_total_of_every_memory() {
        let mut limiter = StoreLimiter::new(1);
        let half = 512 * 1024;
        assert!(limiter.memory_growing(0, half, None).expect("first memory"));
        assert!(
            limiter
                .memory_growing(0, half, None)
                .expect("second memory")
        );
        let err = limiter
            .memory_growing(0, 1, None)
            .expect_err("a third memory is over the total");
        assert!(err.to_string().contains("memory limit of 1 MiB exceeded"));
    }

    #[test]
    fn growing_one_memory_counts_only_its_growth() {
        let mut limiter = StoreLimiter::new(1);
        assert!(limiter.memory_growing(0, 1024, None).expect("ok"));
        assert!(limiter.memory_growing(1024, 1024 * 1024, None).expect("ok"));
    }

    #[test]
    fn tables_are_capped() {
        let mut limiter = StoreLimiter::new(1);
        assert!(limiter.table_growing(0, 10, None).expect("ok"));
        assert!(
            limiter
                .table_growing(0, MAX_TABLE_ELEMENTS + 1, None)
                .is_err()
        );
    }

    #[test]
    fn host_calls_past_the_budget_trap_naming_the_limit() {
        let mut budget = HostCallBudget::new(2);
        budget.count().expect("first");
        budget.count().expect("second");
        let err = budget.count().expect_err("third");
        assert_eq!(
            err.to_string(),
            "the plugin made more than 2 host calls, the limit in `limits.max_host_calls`"
        );
    }
}
