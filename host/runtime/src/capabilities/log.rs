//! `log`: always granted; lines go to the run log, capped and redacted by [`LogBuffer`](crate::logs::LogBuffer).

use super::wit::log::{Host, Level};
use crate::logs::{LogLevel, LogSource};
use crate::state::HostState;

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        #[cfg(test)]
        if message == TEST_PANIC {
            panic!("the log capability panicked on purpose (test-only hook)");
        }
        self.ctx.logs.push(level, LogSource::Plugin, &message);
        Ok(())
    }
}

/// In unit tests only, logging exactly this makes the host function panic, to prove that a host
/// panic inside a run ends that run `trapped` and nothing else.
#[cfg(test)]
pub(crate) const TEST_PANIC: &str = "switchboard-test: panic in the host";
