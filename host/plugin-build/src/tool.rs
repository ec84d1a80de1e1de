//! The pinned plugin toolchains and running their steps in a plugin's directory, shared by the
//! JavaScript and Python builds.

use std::path::Path;
use std::process::Command;

use crate::{BuildError, run, tail};

/// The componentize-js release plugins are built with (jco 1.35's `componentize` is broken).
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The componentize-py release plugins are built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The world every scaffolded plugin's `wit/world.wit` declares: the granted imports only.
pub const PLUGIN_WORLD: &str = "plugin";

/// Checks that `tool --version` runs; otherwise says how to install it.
pub(crate) fn require_tool(tool: &str, install: &'static str) -> Result<String, BuildError> {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        _ => Err(BuildError::MissingTool {
            tool: tool.to_owned(),
            install,
        }),
    }
}

/// Runs `command` in the plugin directory; a failure carries the end of what it printed.
pub(crate) fn run_step(command: &mut Command, shown: &str, dir: &Path) -> Result<(), BuildError> {
    let output = run(command.current_dir(dir), shown)?;
    if output.status.success() {
        return Ok(());
    }
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(BuildError::Step {
        command: shown.to_owned(),
        dir: dir.to_path_buf(),
        output: tail(&printed, 40),
    })
}

/// Creates the directory the component goes to.
pub(crate) fn ensure_parent(out: &Path) -> Result<(), BuildError> {
    let Some(parent) = out.parent() else {
        return Ok(());
    };
    std::fs::create_dir_all(parent).map_err(|e| BuildError::Spawn {
        command: format!("mkdir -p {}", parent.display()),
        message: e.to_string(),
    })
}
