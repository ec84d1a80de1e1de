//! JavaScript and TypeScript plugins: `npm install` in the plugin's directory (its
//! `package.json` pins componentize-js, and for TypeScript jco and typescript), then for
//! TypeScript (a `tsconfig.json`) `jco types` over the vendored WIT into `src/generated/` and
//! `tsc` into `dist/`, then componentize-js with the plugin's narrow world and the `http` and
//! `fetch-event` features disabled (the host links no `wasi:http`; plugins use our `http`).

use std::path::Path;
use std::process::Command;

use crate::BuildError;
use crate::tool::{COMPONENTIZE_JS_VERSION, PLUGIN_WORLD, ensure_parent, require_tool, run_step};

const INSTALL_NODE: &str = "install Node.js 20 or newer with npm (https://nodejs.org/en/download, or `apt-get install nodejs npm`), then build again";

/// The entry module of a JavaScript plugin.
pub const ENTRY: &str = "src/plugin.js";
/// The entry module of a TypeScript plugin, as `tsc` emits it.
pub const TS_ENTRY: &str = "dist/plugin.js";

pub(crate) fn build(dir: &Path, out: &Path, step: &dyn Fn(&str)) -> Result<(), BuildError> {
    require_tool("node", INSTALL_NODE)?;
    require_tool("npm", INSTALL_NODE)?;
    if !installed(dir) {
        step(&format!(
            "npm install (componentize-js {COMPONENTIZE_JS_VERSION})"
        ));
        run_step(
            Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefer-offline"]),
            "npm install",
            dir,
        )?;
    }
    let entry = if dir.join("tsconfig.json").is_file() {
        typescript(dir, step)?;
        TS_ENTRY
    } else {
        ENTRY
    };
    ensure_parent(out)?;
    step("componentize-js (snapshotting the module; about half a minute)");
    let cli = dir.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
    let mut command = Command::new("node");
    command
        .arg(cli)
        .arg(entry)
        .args(["--wit", "wit", "--world-name", PLUGIN_WORLD])
        .args(["--disable", "http", "fetch-event", "--out"])
        .arg(out);
    run_step(&mut command, "componentize-js", dir)
}

/// Typed bindings from the WIT (`src/generated/`), then `tsc -p .` (which type-checks).
fn typescript(dir: &Path, step: &dyn Fn(&str)) -> Result<(), BuildError> {
    step("jco types (TypeScript bindings from the WIT)");
    let mut jco = Command::new("node");
    jco.arg(dir.join("node_modules/@bytecodealliance/jco/dist/jco.js"))
        .args([
            "types",
            "wit/deps/switchboard-plugin",
            "--world-name",
            "plugin",
        ])
        .args(["-o", "src/generated"]);
    run_step(&mut jco, "jco types", dir)?;
    step("tsc -p .");
    let mut tsc = Command::new("node");
    tsc.arg(dir.join("node_modules/typescript/bin/tsc"))
        .args(["-p", "."]);
    run_step(&mut tsc, "tsc -p .", dir)
}

/// Whether `node_modules` holds the pinned componentize-js and was installed after the last
/// change to `package.json`.
fn installed(dir: &Path) -> bool {
    let manifest = dir.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let pinned = std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|doc| doc["version"] == COMPONENTIZE_JS_VERSION);
    let modified = |file: &Path| std::fs::metadata(file).and_then(|m| m.modified()).ok();
    let fresh = match (
        modified(&dir.join("node_modules/.package-lock.json")),
        modified(&dir.join("package.json")),
    ) {
        (Some(installed), Some(declared)) => installed >= declared,
        _ => false,
    };
    pinned && fresh
}
