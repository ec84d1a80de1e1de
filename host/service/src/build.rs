//! `switchboard plugins build [PATH]`: builds plugins from source with progress shown. PATH is
//! a plugin directory (Rust, JavaScript or Python, told by its files; its `manifest.toml` names
//! the component to produce), a manifest file, or a cargo workspace of plugins (`plugins/`).
//! Without PATH, it builds what every configured manifest's component comes from.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use switchboard_plugin_build::{Language, build_plugin, build_workspace, workspace_of};

use crate::config::parse_manifest_file;
use crate::output;
use crate::wiring::Wiring;

/// Something to build.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// One plugin directory and the component its manifest names.
    Plugin { dir: PathBuf, out: PathBuf },
    /// A cargo workspace of Rust plugins.
    Workspace(PathBuf),
}

/// Builds PATH, or every configured plugin; exit 1 when any build failed.
pub fn build(config_file: &Path, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let targets = match path {
        Some(path) => BTreeSet::from([target_of_path(path)?]),
        None => configured(config_file)?,
    };
    let mut failed = 0;
    for target in &targets {
        if let Err(err) = build_one(target) {
            output::note(&format!("error: {err}"));
            failed += 1;
        }
    }
    anyhow::ensure!(failed == 0, "{failed} of {} builds failed", targets.len());
    Ok(ExitCode::SUCCESS)
}

/// Builds the plugin (or workspace) at `path`, returning the component for a plugin directory.
/// The test harness and `run --manifest` share this.
pub fn build_path(path: &Path) -> anyhow::Result<()> {
    build_one(&target_of_path(path)?)
}

fn build_one(target: &Target) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let step = |what: &str| bar.set_message(what.to_owned());
    let built = match target {
        Target::Plugin { dir, out } => {
            bar.set_prefix(dir.display().to_string());
            build_plugin(dir, out, &step).map(|wasm| vec![wasm])
        }
        Target::Workspace(dir) => {
            step(&format!("cargo build --release in {}", dir.display()));
            build_workspace(dir).map(|a| a.iter().map(|(_, p)| p.to_path_buf()).collect())
        }
    };
    bar.finish_and_clear();
    for wasm in built? {
        let size = std::fs::metadata(&wasm).map_or(0, |m| m.len());
        output::line(&format!(
            "built {} ({:.1} MB) in {:.1} s",
            wasm.display(),
            size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

fn target_of_path(path: &Path) -> anyhow::Result<Target> {
    let manifest = if path.is_file() {
        path.to_path_buf()
    } else {
        path.join("manifest.toml")
    };
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let loaded = parse_manifest_file(&manifest, &text)
            .map_err(|problems| anyhow::anyhow!("invalid manifest:\n{}", problems.join("\n")))?;
        return target_of_wasm(&loaded.wasm).with_context(|| {
            format!(
                "{}: no plugin directory holds {}",
                manifest.display(),
                loaded.wasm.display()
            )
        });
    }
    anyhow::ensure!(
        path.join("Cargo.toml").is_file(),
        "{} is neither a plugin directory (with manifest.toml) nor a cargo workspace; create a plugin with `switchboard new plugin NAME --lang rust|js|python`",
        path.display()
    );
    Ok(Target::Workspace(path.to_path_buf()))
}

/// What builds `wasm`: the cargo workspace above its `target/`, else the nearest directory
/// above it that holds a JavaScript or Python plugin.
fn target_of_wasm(wasm: &Path) -> Option<Target> {
    if let Some(workspace) = workspace_of(wasm) {
        return Some(Target::Workspace(workspace));
    }
    wasm.ancestors()
        .skip(1)
        .find(|dir| Language::detect(dir).is_some())
        .map(|dir| Target::Plugin {
            dir: dir.to_path_buf(),
            out: wasm.to_path_buf(),
        })
}

fn configured(config_file: &Path) -> anyhow::Result<BTreeSet<Target>> {
    let wiring = Wiring::load(config_file)?;
    let mut targets = BTreeSet::new();
    for loaded in &wiring.manifests.loaded {
        match target_of_wasm(&loaded.wasm) {
            Some(target) => targets.insert(target),
            None => anyhow::bail!(
                "{}: nothing here builds {}; point `plugin.wasm` into a plugin directory",
                loaded.file,
                loaded.wasm.display()
            ),
        };
    }
    Ok(targets)
}
