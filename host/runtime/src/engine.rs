//! The one wasmtime [`Engine`] of a runtime, and the thread that advances its epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::{CORE_INSTANCES_PER_RUN, MAX_TABLE_ELEMENTS, MEMORIES_PER_RUN, TABLES_PER_RUN};
use crate::{RuntimeConfig, RuntimeError};

/// Builds the engine: pooled when asked and possible, on-demand otherwise.
///
/// Returns the engine and whether it is pooled.
pub(crate) fn build_engine(cfg: &RuntimeConfig) -> Result<(Engine, bool), RuntimeError> {
    if cfg.pooling {
        let mut config = base_config(cfg);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(cfg)));
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, true)),
            Err(err) => tracing::warn!(
                error = %err,
                "pooling allocator could not reserve its memory; falling back to on-demand allocation"
            ),
        }
    }
    let engine = Engine::new(&base_config(cfg)).map_err(|e| RuntimeError::Engine(e.to_string()))?;
    Ok((engine, false))
}

fn base_config(cfg: &RuntimeConfig) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Concurrency support (component-model-async: `Store::run_concurrent`, streams, futures)
    // is explicitly OFF. Plugins are plain synchronous `handle` exports that block on host
    // calls; we never need several guest tasks in one store. Leaving it on initialises the
    // concurrent-execution state in every store and costs 3-5x per call on wasmtime 48, which
    // would eat most of our 50 µs per-run budget. Host functions are still `async` (they await
    // reqwest and the connector on a fiber), which works without this feature.
    config.concurrency_support(false);
    config.epoch_interruption(true);
    config.max_wasm_stack(cfg.max_wasm_stack_bytes);
    // The async fiber stack must hold the wasm stack plus host frames.
    config.async_stack_size(cfg.max_wasm_stack_bytes + 1024 * 1024);
    config
}

/// How much of a slot's written memory is reset in place (copied back from the image or zeroed)
/// when a run ends, instead of being handed back to the kernel. Where Linux has `PAGEMAP_SCAN`
/// (6.7+), only the pages the guest wrote are reset, so a plugin whose working set fits needs no
/// `madvise`: each `madvise` is a TLB shootdown across every core, which cost 12% of the
/// service's CPU in `e2e` (BENCHMARKS.md). It bounds what an idle warm slot keeps resident.
const KEEP_RESIDENT_BYTES: usize = 1024 * 1024;

/// The same for a slot's tables (a plugin's function table is a few KiB).
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 * 1024;

/// The pool holds exactly `max_concurrent_runs` runs' shares: `Plugin::run` admits at most that
/// many at once and each store's limiter caps it at one share, so a slot is always free.
fn pool_config(cfg: &RuntimeConfig) -> PoolingAllocationConfig {
    let runs = cfg.max_concurrent_runs;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(runs)
        .total_core_instances(runs.saturating_mul(CORE_INSTANCES_PER_RUN))
        .total_memories(runs.saturating_mul(MEMORIES_PER_RUN))
        .total_tables(runs.saturating_mul(TABLES_PER_RUN))
        .total_stacks(runs)
        .max_memory_size(cfg.max_memory_mib as usize * 1024 * 1024)
        .table_elements(MAX_TABLE_ELEMENTS)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// Advances the engine's epoch every tick period (`RuntimeConfig::tick_period`) until dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread; it holds only a weak handle to the engine.
    pub(crate) fn start(engine: &Engine, tick: Duration) -> Result<Self, RuntimeError> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("switchboard-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Epoch ticks that cover `timeout`, plus one so a run never gets less than its timeout.
pub(crate) fn deadline_ticks(timeout: Duration, tick: Duration) -> u64 {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    micros(timeout)
        .div_ceil(micros(tick).max(1))
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_covers_the_timeout() {
        let ms = Duration::from_millis;
        assert_eq!(deadline_ticks(ms(2000), ms(10)), 201);
        assert_eq!(deadline_ticks(ms(15), ms(10)), 3);
        assert_eq!(deadline_ticks(ms(0), ms(10)), 1);
        assert_eq!(deadline_ticks(ms(500), Duration::from_micros(1000)), 501);
    }

    #[test]
    fn engine_builds_pooled_or_falls_back() {
        let cfg = RuntimeConfig {
            max_concurrent_runs: 4,
            max_memory_mib: 16,
            ..RuntimeConfig::default()
        };
        let (_engine, _pooled) = build_engine(&cfg).expect("engine");
        let cfg = RuntimeConfig {
            pooling: false,
            ..cfg
        };
        let (_engine, pooled) = build_engine(&cfg).expect("engine");
        assert!(!pooled);
    }
}
