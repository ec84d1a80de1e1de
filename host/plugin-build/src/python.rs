//! Python plugins: a virtualenv in the plugin's directory (`.venv`) holding the pinned
//! componentize-py, the plugin's own `requirements.txt` (pure-Python packages only) installed
//! into `.venv/plugin-packages`, then componentize-py with the plugin's narrow world.
//!
//! A plugin beside the SDK (`plugins/auto-reply-py` next to `plugins/sdk-py`) gets the SDK
//! copied in before each build: componentize-py does not follow a symlink out of the plugin's
//! directory, and a copy kept in git drifts. The copy is ignored by git. A plugin made by
//! `switchboard new plugin` elsewhere carries its own copy.

use std::path::Path;
use std::process::Command;

use crate::BuildError;
use crate::tool::{COMPONENTIZE_PY_VERSION, PLUGIN_WORLD, ensure_parent, require_tool, run_step};

const INSTALL_PYTHON: &str = "install Python 3.10 or newer with venv (https://www.python.org/downloads, or `apt-get install python3 python3-venv`), then build again";

/// The entry module of a Python plugin (`app.py`).
pub const ENTRY: &str = "app";
/// The SDK module, and the SDK's directory beside the plugins that use it.
const SDK_FILE: &str = "switchboard_plugin.py";
const SDK_DIR: &str = "sdk-py";

pub(crate) fn build(dir: &Path, out: &Path, step: &dyn Fn(&str)) -> Result<(), BuildError> {
    require_tool("python3", INSTALL_PYTHON)?;
    let venv = dir.join(".venv");
    let tool = venv.join("bin/componentize-py");
    if !has_version(&tool) {
        step("python3 -m venv .venv");
        run_step(
            Command::new("python3").args(["-m", "venv", ".venv"]),
            "python3 -m venv .venv",
            dir,
        )?;
        step(&format!(
            "pip install componentize-py=={COMPONENTIZE_PY_VERSION}"
        ));
        let pin = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
        run_step(
            Command::new(venv.join("bin/pip")).args(["install", "--quiet", &pin]),
            "pip install componentize-py",
            dir,
        )?;
    }
    let packages = venv.join("plugin-packages");
    if dir.join("requirements.txt").is_file() {
        step("pip install -r requirements.txt (pure-Python packages)");
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args([
            "install",
            "--quiet",
            "--only-binary=:all:",
            "--upgrade",
            "--target",
        ])
        .arg(&packages)
        .args(["-r", "requirements.txt"]);
        run_step(&mut pip, "pip install -r requirements.txt", dir)?;
    }
    copy_sdk(dir)?;
    ensure_parent(out)?;
    step("componentize-py (snapshotting the module; about half a minute)");
    let mut command = Command::new(&tool);
    // Without a Rust backtrace the end of the output is the Python error itself.
    command
        .env("RUST_BACKTRACE", "0")
        .args([
            "--wit-path",
            "wit",
            "--world",
            PLUGIN_WORLD,
            "componentize",
            ENTRY,
        ])
        .args(["--python-path", "."]);
    if packages.is_dir() {
        command.arg("--python-path").arg(&packages);
    }
    command.arg("--output").arg(out);
    run_step(&mut command, "componentize-py", dir)
}

/// Whether `tool --version` names the pinned release.
fn has_version(tool: &Path) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(COMPONENTIZE_PY_VERSION))
}

/// Copies `../sdk-py/switchboard_plugin.py` into the plugin's directory when it exists and the
/// copy there differs.
fn copy_sdk(dir: &Path) -> Result<(), BuildError> {
    let Some(sdk) = dir.parent().map(|p| p.join(SDK_DIR).join(SDK_FILE)) else {
        return Ok(());
    };
    let Ok(text) = std::fs::read(&sdk) else {
        return Ok(());
    };
    let copy = dir.join(SDK_FILE);
    if std::fs::read(&copy).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(&copy, text).map_err(|e| BuildError::Spawn {
        command: format!("copy {} into {}", sdk.display(), dir.display()),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_beside_the_sdk_gets_the_sdk_copied_in() {
        let root = tempfile::tempdir().expect("temp dir");
        let sdk = root.path().join(SDK_DIR);
        let plugin = root.path().join("greeter");
        std::fs::create_dir_all(&sdk).expect("sdk dir");
        std::fs::create_dir_all(&plugin).expect("plugin dir");
        std::fs::write(sdk.join(SDK_FILE), "def send(): pass\n").expect("sdk");
        std::fs::write(plugin.join(SDK_FILE), "stale\n").expect("stale copy");
        copy_sdk(&plugin).expect("copied");
        let copied = std::fs::read_to_string(plugin.join(SDK_FILE)).expect("copy");
        assert_eq!(copied, "def send(): pass\n");
    }

    #[test]
    fn a_plugin_elsewhere_keeps_its_own_copy() {
        let root = tempfile::tempdir().expect("temp dir");
        let plugin = root.path().join("greeter");
        std::fs::create_dir_all(&plugin).expect("plugin dir");
        std::fs::write(plugin.join(SDK_FILE), "mine\n").expect("own copy");
        copy_sdk(&plugin).expect("nothing to copy");
        let kept = std::fs::read_to_string(plugin.join(SDK_FILE)).expect("copy");
        assert_eq!(kept, "mine\n");
    }
}
