//! `switchboard run PLUGIN --event FILE [--dry-run]`: one run of one plugin against the configured
//! Radist (an embedded sandbox by default), printed as a report or JSON. It uses the configured
//! store for kv and a process-local action journal (a CLI run is not part of the history), and
//! says when the event would not have triggered the plugin. `--manifest PATH` runs a plugin
//! from anywhere (a new plugin's directory), building it first when its component is missing;
//! against the embedded sandbox it also prints the messages the sandbox received.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use switchboard_runtime::event::RunInfo;
use switchboard_runtime::{InMemoryJournal, RunInput, RunStatus, subscription};

use anyhow::Context;
use switchboard_manifest::HostConfig;

use crate::assembly;
use crate::cli::RunArgs;
use crate::config::{LoadedConfig, Manifests, parse_manifest_file};
use crate::load_problem::{SkippedPlugin, texts};
use crate::radist_target::RadistTarget;
use crate::wiring::{self, EnabledPlugin, Wiring};
use crate::{event_file, output};

/// Runs the plugin once; exit 0 when the run succeeded, 1 otherwise.
pub async fn run(config_file: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let (wiring, name) = match (&args.manifest, &args.plugin) {
        (Some(manifest), _) => manifest_wiring(config_file, manifest)?,
        (None, Some(name)) => (Wiring::load(config_file)?, name.clone()),
        (None, None) => anyhow::bail!("name the plugin to run, or give --manifest PATH"),
    };
    let mut plan = wiring.plan();
    let enabled = take_plugin(&wiring, &mut plan, &name)?;
    let single = wiring::PluginPlan {
        enabled: vec![enabled],
        ..wiring::PluginPlan::default()
    };
    let single = wiring.built(single);
    let problems = texts(&single.problems);
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    let event = event_file::read(&args.event)?;
    let target = if args.dry_run {
        None
    } else {
        Some(RadistTarget::connect(&wiring.config).await?)
    };
    let event = match &target {
        Some(target) => target.prepare(event).await?,
        None => event,
    };
    let store = wiring.open_store().await?;
    let radist = target.as_ref().map(|t| t.client.clone());
    let system = wiring.assemble(single, |p| {
        let mut services = assembly::services(&store, radist.clone(), p);
        services.journal = Arc::new(InMemoryJournal::default());
        services
    })?;
    let problems = texts(&system.plan.problems);
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    let mut loaded = system.plugins;
    let Some(loaded) = loaded.pop() else {
        anyhow::bail!("plugin `{name}` did not load");
    };
    if let Err(why) = subscription::explain(&loaded.manifest.triggers, &event.plugin_event) {
        let why: Vec<String> = why.iter().map(ToString::to_string).collect();
        output::note(&format!(
            "note: this event would not have triggered `{}` ({}); running it anyway",
            name,
            why.join("; ")
        ));
    }
    let input = RunInput {
        event: event.plugin_event,
        run: run_info(),
        dry_run: args.dry_run,
    };
    let outcome = loaded.plugin.run(input).await;
    if args.json {
        output::json(loaded.plugin.name(), &outcome)
    } else {
        output::human(loaded.plugin.name(), &outcome)
    }
    if let Some(target) = target {
        if target.is_sandbox() {
            report_sandbox(&target, args.json).await;
        }
        target.shutdown().await;
    }
    Ok(if outcome.status == RunStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The wiring for one manifest file: the host config when the file exists (its manifests
/// directory is ignored), else the defaults (an embedded sandbox, a store under the manifest's
/// directory). Builds the plugin when its component is missing.
fn manifest_wiring(config_file: &Path, manifest: &Path) -> anyhow::Result<(Wiring, String)> {
    let config = if config_file.is_file() {
        LoadedConfig::read(config_file)?
    } else {
        LoadedConfig {
            host: HostConfig::default(),
            file: config_file.to_path_buf(),
            dir: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
        }
    };
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read the manifest {}", manifest.display()))?;
    let loaded = parse_manifest_file(manifest, &text)
        .map_err(|problems| anyhow::anyhow!("invalid manifest:\n{}", problems.join("\n")))?;
    if !loaded.wasm.is_file() {
        output::note(&format!(
            "building {} ({} does not exist yet)",
            manifest.display(),
            loaded.wasm.display()
        ));
        crate::build::build_path(manifest)?;
    }
    let name = loaded.manifest.plugin.name.as_str().to_owned();
    let manifests = Manifests {
        loaded: vec![loaded],
        problems: Vec::new(),
    };
    Ok((Wiring { config, manifests }, name))
}

/// Prints the messages the embedded sandbox received during the run (stderr with `--json`).
async fn report_sandbox(target: &RadistTarget, json: bool) {
    let lines = match target.sent_messages().await {
        Ok(texts) => {
            let mut lines = vec![format!(
                "\nthe sandbox received {} message{}",
                texts.len(),
                if texts.len() == 1 { "" } else { "s" }
            )];
            lines.extend(texts.iter().map(|t| format!("  {t}")));
            lines
        }
        Err(err) => vec![format!("cannot read the sandbox's sent messages: {err:#}")],
    };
    for line in lines {
        if json {
            output::note(&line);
        } else {
            output::line(&line);
        }
    }
}

/// The enabled plugin named `name`, or why it cannot run.
fn take_plugin(
    wiring: &Wiring,
    plan: &mut wiring::PluginPlan,
    name: &str,
) -> anyhow::Result<EnabledPlugin> {
    if let Some(i) = plan
        .enabled
        .iter()
        .position(|p| p.loaded.manifest.plugin.name.as_str() == name)
    {
        return Ok(plan.enabled.swap_remove(i));
    }
    if let Some(skipped) = skipped_of(plan, name) {
        anyhow::bail!("{}", skipped.note);
    }
    if let Some(found) = wiring.manifests.find(name) {
        anyhow::bail!(
            "plugin `{name}` cannot run:\n{}",
            problems_of(plan, &found.file).join("\n")
        );
    }
    let known: Vec<&str> = wiring
        .manifests
        .loaded
        .iter()
        .map(|m| m.manifest.plugin.name.as_str())
        .collect();
    anyhow::bail!(
        "no plugin named `{name}` in {}; known plugins: {}{}",
        wiring
            .config
            .resolve(&wiring.config.host.plugins.manifests)
            .display(),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        },
        if wiring.manifests.problems.is_empty() {
            ""
        } else {
            " (some manifests are invalid: run `switchboard check`)"
        }
    )
}

/// The skip note of plugin `name`, found by its name, never by the note's words.
fn skipped_of<'a>(plan: &'a wiring::PluginPlan, name: &str) -> Option<&'a SkippedPlugin> {
    plan.skipped.iter().find(|s| s.plugin == name)
}

/// The printed problems about the manifest `file`, decided on the problems' fields.
fn problems_of<'a>(plan: &'a wiring::PluginPlan, file: &str) -> Vec<&'a str> {
    plan.problems
        .iter()
        .filter(|p| p.is_about(file))
        .map(|p| p.text.as_str())
        .collect()
}

fn run_info() -> RunInfo {
    let id = format!("cli-{}", std::process::id());
    RunInfo {
        run_id: id.clone(),
        event_id: id,
        attempt: 1,
        is_replay: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_problem::LoadProblem;

    #[test]
    fn rewording_a_problem_changes_which_problems_a_plugin_has_not() {
        for words in ["", "manifests/echo.toml: x", "manifests/other.toml: y"] {
            let plan = wiring::PluginPlan {
                problems: vec![
                    LoadProblem::in_file("manifests/echo.toml", format!("A {words}")),
                    LoadProblem::in_file("manifests/other.toml", format!("B {words}")),
                    LoadProblem::general(format!("C {words}")),
                ],
                ..wiring::PluginPlan::default()
            };
            let mine = problems_of(&plan, "manifests/echo.toml");
            assert_eq!(mine, vec![format!("A {words}")], "{words:?}");
            let plan = wiring::PluginPlan {
                skipped: vec![SkippedPlugin {
                    plugin: "echo".to_owned(),
                    file: "manifests/echo.toml".to_owned(),
                    note: format!("skipped other {words}"),
                }],
                ..plan
            };
            assert!(skipped_of(&plan, "echo").is_some(), "{words:?}");
            assert!(skipped_of(&plan, "other").is_none(), "{words:?}");
        }
    }
}
