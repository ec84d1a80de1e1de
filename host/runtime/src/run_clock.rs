//! The run's one instant ([`RunClock`]): settled by the first read of any clock in the run and
//! answered to every later read, WASI's monotonic clock included (see the `clock` capability).
//! Its own file so that the run's context holds it without importing the capabilities.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bindings::switchboard::plugin::types::Datetime;

/// The run's one instant, once a clock was read.
#[derive(Default)]
pub(crate) struct RunClock {
    pub(crate) at: Option<Datetime>,
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

    pub(crate) fn settle(&mut self, at: Datetime) {
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

/// The instant in nanoseconds since the epoch (0 before it).
pub(crate) fn monotonic_nanos(at: Datetime) -> u64 {
    let seconds = u64::try_from(at.seconds).unwrap_or(0);
    seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(at.nanoseconds))
}

#[cfg(test)]
mod tests {
    use super::*;

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
