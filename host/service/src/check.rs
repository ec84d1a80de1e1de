//! `switchboard check`: the host config, every manifest, each plugin's component and its imports
//! against its grants, and the secrets each plugin needs. Every problem is listed; exit 1 if any.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{LoadedConfig, LoadedManifest, resolve_secrets};
use crate::output;

/// Runs every check and prints the problems, or a one-line summary per plugin.
pub async fn check(config_file: &Path) -> anyhow::Result<ExitCode> {
    let config = match LoadedConfig::read(config_file) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let manifests = config.read_manifests()?;
    let mut problems = manifests.problems.clone();
    problems.extend(duplicate_names(&manifests.loaded));
    let runtime = crate::run::build_runtime(&config, &manifests.loaded)?;
    let mut summaries = Vec::new();
    for loaded in &manifests.loaded {
        match check_plugin(&runtime, &config, loaded) {
            Ok(summary) => summaries.push(summary),
            Err(mut plugin_problems) => problems.append(&mut plugin_problems),
        }
    }
    Ok(report(&summaries, &problems))
}

fn check_plugin(
    runtime: &switchboard_runtime::Runtime,
    config: &LoadedConfig,
    loaded: &LoadedManifest,
) -> Result<String, Vec<String>> {
    let mut problems = resolve_secrets(loaded).err().unwrap_or_default();
    if !loaded.wasm.is_file() {
        problems.push(format!(
            "{}: plugin.wasm: {} does not exist; build the plugins (`cargo build --release` in plugins/) or fix the path",
            loaded.file,
            loaded.wasm.display()
        ));
        return Err(problems);
    }
    let services = crate::run::services(config, loaded, BTreeMap::new(), None)
        .map_err(|err| vec![format!("{}: {err:#}", loaded.file)])?;
    match runtime.load_plugin(&loaded.manifest, &loaded.file, &loaded.wasm, services) {
        Ok(plugin) if problems.is_empty() => Ok(format!(
            "ok  {:<20} {} (imports: {})",
            plugin.name(),
            loaded.file,
            output::short_imports(plugin.imports())
        )),
        Ok(_) => Err(problems),
        Err(err) => {
            problems.push(format!("{}: {err}", loaded.file));
            Err(problems)
        }
    }
}

fn duplicate_names(loaded: &[LoadedManifest]) -> Vec<String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for m in loaded {
        let name = m.manifest.plugin.name.as_str();
        if let Some(first) = seen.insert(name, &m.file) {
            problems.push(format!(
                "{}: plugin.name: `{name}` is also the name of the plugin in {first}; plugin names must be unique",
                m.file
            ));
        }
    }
    problems
}

fn report(summaries: &[String], problems: &[String]) -> ExitCode {
    for line in summaries {
        output::line(line);
    }
    if problems.is_empty() {
        output::line(&format!(
            "{} plugin(s) checked, no problems",
            summaries.len()
        ));
        return ExitCode::SUCCESS;
    }
    for problem in problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s) found", problems.len());
    ExitCode::FAILURE
}
