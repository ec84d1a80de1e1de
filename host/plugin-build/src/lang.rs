//! Building one plugin directory for its language: cargo for Rust, npm and componentize-js for
//! JavaScript, a virtualenv and componentize-py for Python. The toolchains are pinned here and
//! installed inside the plugin's directory (`node_modules/`, `.venv/`), so a second build only
//! reuses them; npm's and pip's own caches make a fresh directory quick after the first one.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{BuildError, run, tail};

/// The componentize-js release plugins are built with (jco 1.35's `componentize` is broken).
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The componentize-py release plugins are built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The world every scaffolded plugin's `wit/world.wit` declares: the granted imports only.
pub const PLUGIN_WORLD: &str = "plugin";

/// A plugin's source language, told by the files in its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Language {
    Rust,
    JavaScript,
    Python,
}

impl Language {
    /// `Cargo.toml` means Rust, `package.json` JavaScript, `app.py` Python.
    pub fn detect(dir: &Path) -> Option<Language> {
        [
            ("Cargo.toml", Language::Rust),
            ("package.json", Language::JavaScript),
            ("app.py", Language::Python),
        ]
        .into_iter()
        .find(|(file, _)| dir.join(file).is_file())
        .map(|(_, lang)| lang)
    }

    /// `rust`, `js`, `python`: as `switchboard new plugin --lang` spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::JavaScript => "js",
            Language::Python => "python",
        }
    }
}

/// Builds the plugin in `dir` into the component `out` (for Rust, `out` is where cargo puts the
/// crate's `.wasm`: `<dir>/target/wasm32-wasip2/release/<crate>.wasm`). `step` is told each
/// step as it starts, for a progress display.
pub fn build_plugin(dir: &Path, out: &Path, step: &dyn Fn(&str)) -> Result<PathBuf, BuildError> {
    let lang = Language::detect(dir).ok_or_else(|| BuildError::UnknownLanguage {
        dir: dir.to_path_buf(),
    })?;
    // Tools run in the plugin's directory; every path handed to them must not depend on ours.
    let dir = &absolute(dir)?;
    let out = &absolute(out)?;
    match lang {
        Language::Rust => {
            step("cargo build --release (wasm32-wasip2)");
            crate::build_workspace(dir)?;
        }
        Language::JavaScript => crate::js::build(dir, out, step)?,
        Language::Python => crate::python::build(dir, out, step)?,
    }
    if out.is_file() {
        Ok(out.to_path_buf())
    } else {
        Err(BuildError::NoOutput {
            expected: out.to_path_buf(),
        })
    }
}

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

fn absolute(path: &Path) -> Result<PathBuf, BuildError> {
    std::path::absolute(path).map_err(|e| BuildError::Spawn {
        command: format!("resolve {}", path.display()),
        message: e.to_string(),
    })
}
