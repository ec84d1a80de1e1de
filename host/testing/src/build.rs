//! This repository's plugins, built once per test process through `switchboard-plugin-build`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use switchboard_plugin_build::{BuildError, PLUGIN_TARGET, PluginArtifacts};

/// Builds the plugins workspace (release, `wasm32-wasip2`) the first time it is called in this
/// process and returns the same result afterwards.
pub fn build_plugins() -> Result<PluginArtifacts, BuildError> {
    static BUILT: OnceLock<Result<PluginArtifacts, BuildError>> = OnceLock::new();
    BUILT
        .get_or_init(|| switchboard_plugin_build::build_workspace(&plugins_workspace()))
        .clone()
}

/// Builds the JavaScript, TypeScript or Python plugin in `dir` (e.g. `plugins/auto-reply-ts`)
/// into the component its `manifest.toml` names, once per directory per test process; later
/// calls return the first result. Without Node.js or Python the error says how to install them.
pub fn build_plugin_dir(dir: &Path) -> Result<PathBuf, String> {
    static BUILT: Mutex<BTreeMap<PathBuf, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
    // Held across the build: two tests needing the same directory wait for one build.
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    built
        .entry(dir.to_path_buf())
        .or_insert_with(|| build_dir(dir))
        .clone()
}

fn build_dir(dir: &Path) -> Result<PathBuf, String> {
    let file = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let loaded = switchboard::config::parse_manifest_file(&file, &text)
        .map_err(|problems| problems.join("\n"))?;
    switchboard_plugin_build::build_plugin(dir, &loaded.wasm, &|_| {}).map_err(|e| e.to_string())
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
