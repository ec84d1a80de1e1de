//! The run log (`log` interface, always granted).
//!
//! The host keeps a bounded number of bytes per run and marks the cut, so log freely but do not
//! log secrets. The crate-root macros [`info!`](crate::info), [`warn!`](crate::warn),
//! [`error!`](crate::error), [`debug!`](crate::debug) and [`trace!`](crate::trace) take
//! `format!` arguments.

use crate::bindings::switchboard::plugin::log as wit;
pub use crate::bindings::switchboard::plugin::log::Level;

/// Writes one line at `level`.
pub fn log(level: Level, message: &str) {
    wit::log(level, message);
}

/// Writes one line at `trace` level.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Writes one line at `debug` level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Writes one line at `info` level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Writes one line at `warn` level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Writes one line at `error` level.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs at `trace` level with `format!` arguments.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::trace(&::std::format!($($arg)*)) };
}

/// Logs at `debug` level with `format!` arguments.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::debug(&::std::format!($($arg)*)) };
}

/// Logs at `info` level with `format!` arguments.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::info(&::std::format!($($arg)*)) };
}

/// Logs at `warn` level with `format!` arguments.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warn(&::std::format!($($arg)*)) };
}

/// Logs at `error` level with `format!` arguments.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::error(&::std::format!($($arg)*)) };
}
