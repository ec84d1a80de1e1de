//! Building a plugins workspace (`plugins/` in this repository) from source for `wasm32-wasip2`.
//!
//! Used by the test harness (`switchboard-testing`, once per test process) and by `switchboard
//! serve`/`check` when a manifest's `.wasm` is missing, so a fresh clone needs no manual step.
//! The build uses the `cargo` that runs us (`$CARGO`, else `cargo` on the `PATH`) and the
//! workspace's own target directory (`<workspace>/target`), so `cargo build --release` by hand,
//! the tests and the service share one cache; cargo's lock on that directory keeps concurrent
//! builds apart. `build_plugin` builds one plugin directory in any of the supported languages
//! (`lang.rs`, `js.rs`, `python.rs`, `tool.rs`). When the `wasm32-wasip2` target is missing it is added with `rustup target add`;
//! when that is not possible the error says exactly what to run.

mod js;
mod lang;
mod python;
mod tool;

pub use lang::{Language, build_plugin};
pub use tool::{COMPONENTIZE_JS_VERSION, COMPONENTIZE_PY_VERSION, PLUGIN_WORLD};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Rust target plugins build for.
pub const PLUGIN_TARGET: &str = "wasm32-wasip2";

/// The built `.wasm` files of the plugins workspace, by crate name.
#[derive(Debug, Clone)]
pub struct PluginArtifacts {
    workspace: PathBuf,
    wasm: BTreeMap<String, PathBuf>,
}

/// Why the plugins could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The `wasm32-wasip2` target is not installed and could not be added.
    #[error(
        "the {PLUGIN_TARGET} target is missing ({detail}); install it with `rustup target add {PLUGIN_TARGET}`"
    )]
    MissingTarget { detail: String },
    /// A command could not be started.
    #[error("could not run `{command}`: {message}")]
    Spawn { command: String, message: String },
    /// `cargo build` failed; `output` is the end of what it printed.
    #[error(
        "building the plugins failed; run `cargo build --release` in {workspace} to see why\n{output}",
        workspace = workspace.display()
    )]
    Cargo { workspace: PathBuf, output: String },
    /// A tool a plugin's language needs (Node.js, npm, Python) is not installed.
    #[error("`{tool}` is not installed or not on the PATH; {install}")]
    MissingTool { tool: String, install: &'static str },
    /// A directory with no `Cargo.toml`, `package.json` or `app.py`.
    #[error(
        "{} holds no Cargo.toml (Rust), package.json (JavaScript) or app.py (Python); create a plugin with `switchboard new plugin NAME --lang rust|js|python`",
        dir.display()
    )]
    UnknownLanguage { dir: PathBuf },
    /// A build step failed; `output` is the end of what it printed.
    #[error("`{command}` failed in {}:\n{output}", dir.display())]
    Step {
        command: String,
        dir: PathBuf,
        output: String,
    },
    /// The build finished without writing the component the manifest names.
    #[error(
        "the build finished but {} does not exist; check `plugin.wasm` in the manifest",
        expected.display()
    )]
    NoOutput { expected: PathBuf },
    /// The build succeeded but a plugin's `.wasm` is not where it should be.
    #[error(
        "plugin `{name}` has no built .wasm; is it a member of plugins/Cargo.toml with crate-type cdylib?"
    )]
    MissingArtifact { name: String },
}

impl PluginArtifacts {
    /// The `.wasm` of the plugin crate `name` (`auto-reply` and `auto_reply` both work).
    pub fn wasm(&self, name: &str) -> Result<&Path, BuildError> {
        self.wasm
            .get(&normalize(name))
            .map(PathBuf::as_path)
            .ok_or_else(|| BuildError::MissingArtifact {
                name: name.to_owned(),
            })
    }

    /// Every built plugin: crate name (with `_`) and `.wasm` path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.wasm
            .iter()
            .map(|(name, path)| (name.as_str(), path.as_path()))
    }

    /// The plugins workspace directory.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }
}

/// Builds every plugin of the cargo workspace at `workspace` (release, `wasm32-wasip2`) and
/// returns where each `.wasm` is.
pub fn build_workspace(workspace: &Path) -> Result<PluginArtifacts, BuildError> {
    // cargo runs in the workspace: a relative target directory would land inside it again.
    let workspace = std::path::absolute(workspace).map_err(|e| BuildError::Spawn {
        command: format!("resolve {}", workspace.display()),
        message: e.to_string(),
    })?;
    build(&workspace)
}

/// The cargo workspace whose build produces `wasm`: the directory above the `target` component
/// of the path, when it holds a `Cargo.toml` (e.g. `plugins/` for
/// `plugins/target/wasm32-wasip2/release/auto_reply.wasm`).
pub fn workspace_of(wasm: &Path) -> Option<PathBuf> {
    wasm.ancestors()
        .filter(|dir| dir.file_name().is_some_and(|n| n == "target"))
        .filter_map(Path::parent)
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

fn build(workspace: &Path) -> Result<PluginArtifacts, BuildError> {
    // The build runs in the workspace directory, so a relative path handed to it (the target
    // directory above all) would be read from there, not from where we were started.
    let workspace = &std::path::absolute(workspace).map_err(|e| BuildError::Spawn {
        command: "cargo build".to_owned(),
        message: format!("cannot resolve {}: {e}", workspace.display()),
    })?;
    ensure_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--workspace",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--target", PLUGIN_TARGET])
        .env("CARGO_TARGET_DIR", workspace.join("target"))
        .env_remove("CARGO_BUILD_TARGET");
    let output = run(&mut command, &format!("{cargo} build --release"))?;
    if !output.status.success() {
        let output = tail(&String::from_utf8_lossy(&output.stderr), 60);
        return Err(BuildError::Cargo {
            workspace: workspace.to_path_buf(),
            output,
        });
    }
    let wasm = wasm_artifacts(&String::from_utf8_lossy(&output.stdout));
    Ok(PluginArtifacts {
        workspace: workspace.to_path_buf(),
        wasm,
    })
}

/// The `.wasm` files in cargo's JSON messages, by crate name.
fn wasm_artifacts(stdout: &str) -> BTreeMap<String, PathBuf> {
    let messages = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok());
    let mut wasm = BTreeMap::new();
    for message in messages.filter(|m| m["reason"] == "compiler-artifact") {
        let Some(name) = message["target"]["name"].as_str() else {
            continue;
        };
        let files = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str());
        for file in files.filter(|f| f.ends_with(".wasm")) {
            wasm.insert(normalize(name), PathBuf::from(file));
        }
    }
    wasm
}

/// Makes sure the toolchain can build for `wasm32-wasip2`, adding the target with rustup.
fn ensure_target() -> Result<(), BuildError> {
    let missing = |detail: String| BuildError::MissingTarget { detail };
    match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == PLUGIN_TARGET)
            {
                return Ok(());
            }
            let added = run(
                Command::new("rustup").args(["target", "add", PLUGIN_TARGET]),
                "rustup target add",
            )?;
            if added.status.success() {
                return Ok(());
            }
            let stderr = tail(&String::from_utf8_lossy(&added.stderr), 5);
            Err(missing(format!(
                "`rustup target add {PLUGIN_TARGET}` failed: {stderr}"
            )))
        }
        // No rustup: the target may still be in the sysroot (distribution toolchains).
        _ if sysroot_has_target() => Ok(()),
        _ => Err(missing(
            "rustup is not available and the toolchain's sysroot has no such target".to_owned(),
        )),
    }
}

fn sysroot_has_target() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(PLUGIN_TARGET)
        .is_dir()
}

pub(crate) fn run(command: &mut Command, shown: &str) -> Result<Output, BuildError> {
    command.output().map_err(|e| BuildError::Spawn {
        command: shown.to_owned(),
        message: e.to_string(),
    })
}

fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_come_from_cargo_messages() {
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"auto_reply","kind":["cdylib"]},"filenames":["/t/auto_reply.wasm"]}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"serde","kind":["lib"]},"filenames":["/t/libserde.rlib"]}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        let wasm = wasm_artifacts(stdout);
        assert_eq!(wasm.len(), 1);
        assert_eq!(wasm["auto_reply"], PathBuf::from("/t/auto_reply.wasm"));
    }

    #[test]
    fn the_workspace_of_a_wasm_path_is_above_its_target_dir() {
        let dir = std::env::temp_dir().join(format!("sb-plugin-build-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("target/wasm32-wasip2/release")).expect("mkdir");
        std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").expect("write");
        let wasm = dir.join("target/wasm32-wasip2/release/x.wasm");
        assert_eq!(workspace_of(&wasm), Some(dir.clone()));
        assert_eq!(workspace_of(Path::new("/nowhere/x.wasm")), None);
        std::fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn names_are_normalized() {
        let artifacts = PluginArtifacts {
            workspace: PathBuf::from("/p"),
            wasm: BTreeMap::from([("crm_sync".to_owned(), PathBuf::from("/p/crm_sync.wasm"))]),
        };
        assert!(artifacts.wasm("crm-sync").is_ok());
        assert!(matches!(
            artifacts.wasm("nope"),
            Err(BuildError::MissingArtifact { .. })
        ));
    }
}
