//! The crate's one public error type, [`RuntimeError`].
//!
//! Messages are lowercase and say what to do. Guests never see these: host calls answer guests
//! with the typed WIT `error` variants instead.

use std::path::PathBuf;

/// Why the runtime could not start or could not load a plugin.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime configuration is unusable.
    #[error("invalid runtime config: {0}")]
    Config(String),
    /// The wasm engine could not be created.
    #[error("cannot create the wasm engine: {0}; check the runtime config")]
    Engine(String),
    /// The plugin's wasm file could not be read.
    #[error(
        "plugin `{plugin}`: cannot read {path}: {source}; build the plugin or fix `plugin.wasm`"
    )]
    ReadWasm {
        plugin: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bytes are not a component this host can compile.
    #[error(
        "plugin `{plugin}` is not a valid wasm component: {message}; build it for wasm32-wasip2"
    )]
    Compile { plugin: String, message: String },
    /// The compiled-component cache could not be used.
    #[error("compiled-component cache {path}: {message}; make the directory writable or remove it")]
    Cache { path: PathBuf, message: String },
    /// The compiled-component cache directory may be written by other users, so a file in it
    /// could carry someone else's native code.
    #[error(
        "compiled-component cache {path} is writable by group or others; run `chmod 700` on it or choose another `cache_dir`"
    )]
    CacheInsecure { path: PathBuf },
    /// The installation key (for history digests and cache authentication) is unusable.
    #[error("installation key {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    /// The plugin imports something its manifest does not grant or this host does not provide.
    /// Every problem is listed, one per line.
    #[error("{}", problems.join("\n"))]
    Imports {
        plugin: String,
        problems: Vec<String>,
    },
    /// The component does not fit the `switchboard:plugin/plugin` world (e.g. no `handle` export).
    #[error(
        "plugin `{plugin}` does not fit the switchboard:plugin@0.2.1 world: {message}; rebuild it against the current SDK"
    )]
    Link { plugin: String, message: String },
}
