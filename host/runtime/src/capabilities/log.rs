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
        self.ctx.logs.push(level, LogSource::Plugin, &message);
        Ok(())
    }
}
