//! The set-up the figure-printing benches (`benches/`, and the workspace bench's micro suite)
//! share: the plugins built and a tokio runtime of a given size, and a plugin loaded from a
//! manifest file with its own key-value directory, without the sandbox of the harness; the run
//! count from the environment and the percentiles they print.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use switchboard_runtime::{FileKvStore, HostServices, Plugin, Runtime};

/// Any error of a bench's set-up.
pub type BenchError = Box<dyn std::error::Error>;

/// Builds the plugins (once per process), then a multi-thread tokio runtime with `workers`
/// worker threads, I/O and timers enabled.
pub fn bench_tokio(workers: usize) -> Result<tokio::runtime::Runtime, BenchError> {
    crate::build_plugins()?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    Ok(tokio)
}

/// Loads the plugin of the manifest at `file` (its `.wasm` named relative to the manifest) into
/// `runtime`, with a file key-value store under `kv`.
pub fn load_manifest(runtime: &Runtime, file: &Path, kv: &Path) -> Result<Plugin, BenchError> {
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let parsed = switchboard_manifest::parse_manifest(&name, &std::fs::read_to_string(file)?)?;
    let wasm = file.parent().unwrap_or(file).join(&parsed.plugin.wasm);
    let services = HostServices::new(Arc::new(FileKvStore::open(kv)?));
    Ok(runtime.load_plugin(&parsed, &name, &wasm, services)?)
}

/// The number in the environment variable `name` (e.g. `RUNS=N`), or `default` when it is unset
/// or not a number.
pub fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

/// The `p`th percentile (0..=100, nearest rank) of `samples`, which it sorts; zero when empty.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let last = samples.len().saturating_sub(1);
    samples
        .get(((last as f64) * p / 100.0).round() as usize)
        .copied()
        .unwrap_or_default()
}
