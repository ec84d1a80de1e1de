//! `clock`: always granted, and the WASI clocks (`wasi:clocks/wall-clock` and
//! `monotonic-clock` `now`), which answer from the same place.
//!
//! The model: a run has one instant, its [`RunClock`](crate::run_clock::RunClock). The first read of any clock in the run
//! takes it — from the journal when an earlier attempt of the run recorded one, else from the
//! system clock — and records it through the recorder (one `clock.now` action, journaled).
//! Every later read, `clock.now` or WASI, returns that same instant without a new record, so a
//! plugin reading the clock in a loop costs the host nothing, and a replay sees the instants of
//! the first attempt. The monotonic clock is that instant in nanoseconds since the epoch: it does
//! not advance within a run (waiting with `subscribe-duration` still works; busy-waiting on it
//! spins until the timeout).

use serde_json::{Value, json};
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentNamedList, Linker, Lower};
use wasmtime_wasi::p2::bindings::clocks::wall_clock;

use super::wit::clock::Host;
use super::wit::types::Datetime;
use crate::journal::Prior;
use crate::run_clock::monotonic_nanos;
use crate::state::{HostState, RunContext};

/// The WASI clock interfaces this file answers, as wasmtime-wasi names them.
const WALL_CLOCK: &str = "wasi:clocks/wall-clock@0.2.12";
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

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
        let prior = self.recorder.intent_local(&mut pending, None).await?;
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
    shadow_now(linker, WALL_CLOCK, wasi_datetime)?;
    shadow_now(linker, MONOTONIC_CLOCK, monotonic_nanos)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Makes the `now` of the WASI clock `instance` answer the run's clock, in that clock's form.
fn shadow_now<R>(
    linker: &mut Linker<HostState>,
    instance: &str,
    form: fn(Datetime) -> R,
) -> wasmtime::Result<()>
where
    (R,): ComponentNamedList + Lower + Send + 'static,
{
    linker.instance(instance)?.func_wrap_async(
        "now",
        move |store: StoreContextMut<'_, HostState>, (): ()| {
            Box::new(async move {
                let mut store = store;
                let at = store.data_mut().ctx.clock_now().await?;
                Ok((form(at),))
            })
        },
    )
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
}
