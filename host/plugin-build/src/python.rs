//! Python plugins: a virtualenv in the plugin's directory (`.venv`) holding the pinned
//! componentize-py, the plugin's own `requirements.txt` (pure-Python packages only) installed
//! into `.venv/plugin-packages`, then componentize-py with the plugin's narrow world.

use std::path::Path;
use std::process::Command;

use crate::BuildError;
use crate::lang::{COMPONENTIZE_PY_VERSION, PLUGIN_WORLD, ensure_parent, require_tool, run_step};

const INSTALL_PYTHON: &str = "install Python 3.10 or newer with venv (https://www.python.org/downloads, or `apt-get install python3 python3-venv`), then build again";

/// The entry module of a Python plugin (`app.py`).
pub const ENTRY: &str = "app";

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
