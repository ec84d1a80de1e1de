//! `clock`: always granted, and the WASI clocks (`wasi:clocks/wall-clock` and
//! `monotonic-clock` `now`), which answer from the same place.
//!
//! The model: a run has one instant, its [`RunClock`]. The first read of any clock in the run
//! takes it — from the journal when an earlier attempt of the run recorded one, else from the
//! system clock — and records it through the recorder (one `clock.now` action, journaled).
//! Every later read, `clock.now` or WASI, returns that same instant without a new record, so a
//! plugin reading the clock in a loop costs the host nothing, and a replay sees the instants of
//! the first attempt. The monotonic clock is that instant in nanoseconds since the epoch: it does
//! not advance within a run (waiting with `subscribe-duration` still works; busy-waiting on it
//! spins until the timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use wasmtime::StoreContextMut;
use wasmtime::component::Linker;
use wasmtime_wasi::p2::bindings::clocks::wall_clock;

use super::wit::clock::Host;
use super::wit::types::Datetime;
use crate::journal::Prior;
use crate::state::{HostState, RunContext};

/// The WASI clock interfaces this file answers, as wasmtime-wasi names them.
const WALL_CLOCK: &str = "wasi:clocks/wall-clock@0.2.12";
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// The run's one instant, once a clock was read.
#[derive(Default)]
pub(crate) struct RunClock {
    at: Option<Datetime>,
    /// The instant as the monotonic clock reads it, shared with WASI's own monotonic clock (which
    /// `subscribe-instant` compares against), so waiting until `now + d` waits `d`.
    monotonic: Arc<AtomicU64>,
}

/// WASI's monotonic clock for `subscribe-instant`: the run's instant, like `now`.
pub(crate) struct FrozenMonotonic(Arc<AtomicU64>);

impl RunClock {
    /// The monotonic clock WASI compares `subscribe-instant` deadlines against.
    pub(crate) fn wasi_monotonic(&self) -> FrozenMonotonic {
        FrozenMonotonic(Arc::clone(&self.monotonic))
    }

    fn settle(&mut self, at: Datetime) {
        self.at = Some(at);
        self.monotonic.store(monotonic_nanos(at), Ordering::Relaxed);
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonic {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Host for HostState {
    async fn now(&mut self) -> wasmtime::Result<Datetime> {
        self.ctx.clock_now().await
    }
}

impl RunContext {
    /// The run's instant: settled (and recorded once) by the first read.
    pub(crate) async fn clock_now(&mut self) -> wasmtime::Result<Datetime> {
        if let Some(at) = self.clock.at {
            return Ok(at);
        }
        let mut pending = self.recorder.begin("clock.now", json!({}));
        let prior = self.recorder.intent(&mut pending, None).await?;
        if let Prior::Completed { result, .. } = &prior
            && let Some(at) = datetime_from_json(result)
        {
            self.clock.settle(at);
            self.succeed(pending, result.clone(), true);
            return Ok(at);
        }
        let at = system_now();
        let value = json!({ "seconds": at.seconds, "nanoseconds": at.nanoseconds });
        self.recorder.complete(&mut pending, &value, None).await?;
        self.clock.settle(at);
        self.succeed(pending, value, false);
        Ok(at)
    }
}

/// Replaces the WASI clocks' `now` with the run's clock. Call after WASI is linked.
pub(crate) fn shadow_wasi_clocks(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(WALL_CLOCK)?.func_wrap_async(
        "now",
        |store: StoreContextMut<'_, HostState>, (): ()| {
            Box::new(async move {
                let mut store = store;
                let at = store.data_mut().ctx.clock_now().await?;
                Ok((wasi_datetime(at),))
            })
        },
    )?;
    linker.instance(MONOTONIC_CLOCK)?.func_wrap_async(
        "now",
        |store: StoreContextMut<'_, HostState>, (): ()| {
            Box::new(async move {
                let mut store = store;
                let at = store.data_mut().ctx.clock_now().await?;
                Ok((monotonic_nanos(at),))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The current UTC instant.
pub(crate) fn system_now() -> Datetime {
    crate::event::datetime(chrono::Utc::now())
}

fn wasi_datetime(at: Datetime) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: u64::try_from(at.seconds).unwrap_or(0),
        nanoseconds: at.nanoseconds,
    }
}

/// The instant in nanoseconds since the epoch (0 before it).
fn monotonic_nanos(at: Datetime) -> u64 {
    let seconds = u64::try_from(at.seconds).unwrap_or(0);
    seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(at.nanoseconds))
}

fn datetime_from_json(value: &Value) -> Option<Datetime> {
    Some(Datetime {
        seconds: value.get("seconds")?.as_i64()?,
        nanoseconds: u32::try_from(value.get("nanoseconds")?.as_u64()?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_counts_nanoseconds_since_the_epoch() {
        let at = Datetime {
            seconds: 2,
            nanoseconds: 5,
        };
        assert_eq!(monotonic_nanos(at), 2_000_000_005);
        let before = Datetime {
            seconds: -1,
            nanoseconds: 0,
        };
        assert_eq!(monotonic_nanos(before), 0);
        assert_eq!(wasi_datetime(at).seconds, 2);
    }

    #[test]
    fn wasi_deadlines_are_measured_from_the_runs_instant() {
        use wasmtime_wasi::HostMonotonicClock;
        let mut clock = RunClock::default();
        let wasi = clock.wasi_monotonic();
        clock.settle(Datetime {
            seconds: 3,
            nanoseconds: 7,
        });
        assert_eq!(wasi.now(), 3_000_000_007);
    }
}
