//! This repository's plugins, built once per test process through `switchboard-plugin-build`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use switchboard_plugin_build::{BuildError, PLUGIN_TARGET, PluginArtifacts};

/// Builds the plugins workspace (release, `wasm32-wasip2`) the first time it is called in this
/// process and returns the same result afterwards.
pub fn build_plugins() -> Result<PluginArtifacts, BuildError> {
    static BUILT: OnceLock<Result<PluginArtifacts, BuildError>> = OnceLock::new();
    BUILT
        .get_or_init(|| switchboard_plugin_build::build_workspace(&plugins_workspace()))
        .clone()
}

/// `plugins/` of this repository.
pub fn plugins_workspace() -> PathBuf {
    repo_root().join("plugins")
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .unwrap_or(crate_dir)
        .to_path_buf()
}
