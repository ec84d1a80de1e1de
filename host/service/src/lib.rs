//! `switchboard`: the composition root. CLI, config loading, tracing and the wiring of the
//! library crates. The only crate with `anyhow` in signatures and the only one that reads
//! environment variables.
//!
//! The binary (`main.rs`) is a thin shell over [`commands::dispatch`]. The library exists so
//! that the test harness (`switchboard-testing`) loads plugins through the same [`assembly`] as
//! `check`, `run` and `serve`.

pub mod adapters;
pub mod assembly;
mod build;
mod check;
pub mod cli;
pub mod commands;
pub mod config;
mod event_file;
mod history;
mod key_permissions;
pub mod load_problem;
mod operations;
pub mod output;
mod radist_sync;
mod radist_target;
mod run;
mod sandbox;
mod scaffold;
mod serve;
mod stored_event;
mod telemetry;
#[cfg(test)]
mod test_manifest;
mod ui;
pub use ui::COUNT_WINDOW;
mod views;
pub mod wiring;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Logs go to stderr; `RUST_LOG` overrides the level chosen by `-v`.
pub fn init_tracing(verbose: u8, format: cli::LogFormat) {
    let default = match verbose {
        0 => "warn,switchboard=info,radist_sandbox=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal; a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Text => builder.init(),
        cli::LogFormat::Json => builder.json().init(),
    }
}
