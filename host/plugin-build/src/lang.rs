//! Building one plugin directory for its language: cargo for Rust, npm and componentize-js for
//! JavaScript (`js.rs`), a virtualenv and componentize-py for Python (`python.rs`). The
//! toolchains are pinned in `tool.rs` and installed inside the plugin's directory
//! (`node_modules/`, `.venv/`), so a second build only reuses them; npm's and pip's own caches
//! make a fresh directory quick after the first one.

use std::path::{Path, PathBuf};

use crate::BuildError;

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

fn absolute(path: &Path) -> Result<PathBuf, BuildError> {
    std::path::absolute(path).map_err(|e| BuildError::Spawn {
        command: format!("resolve {}", path.display()),
        message: e.to_string(),
    })
}
