//! `switchboard run PLUGIN --event FILE [--dry-run]`: one run of one plugin against the configured
//! Radist (an embedded sandbox by default), printed as a report or JSON. It uses the configured
//! store for kv and a process-local action journal (a CLI run is not part of the history), and
//! says when the event would not have triggered the plugin.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use switchboard_runtime::event::RunInfo;
use switchboard_runtime::{InMemoryJournal, RunInput, RunStatus, subscription};

use crate::cli::RunArgs;
use crate::wiring::{self, EnabledPlugin, Wiring};
use crate::{event_file, output, sandbox};

/// Runs the plugin once; exit 0 when the run succeeded, 1 otherwise.
pub async fn run(config_file: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config_file)?;
    let mut plan = wiring.plan();
    let enabled = take_plugin(&wiring, &mut plan, &args.plugin)?;
    let single = wiring::PluginPlan {
        enabled: vec![enabled],
        ..wiring::PluginPlan::default()
    };
    let built = wiring.build_missing(&single);
    anyhow::ensure!(built.is_empty(), "{}", built.join("\n"));
    let event = event_file::read(&args.event)?;
    let target = if args.dry_run {
        None
    } else {
        Some(sandbox::RadistTarget::connect(&wiring.config).await?)
    };
    let event = match &target {
        Some(target) => target.prepare(event).await?,
        None => event,
    };
    let store = wiring.open_store().await?;
    let runtime = wiring.runtime(&single)?;
    let radist = target.as_ref().map(|t| t.client.clone());
    let (mut loaded, problems) = wiring.load_plugins(&runtime, &single, |p| {
        let mut services = wiring::services(&store, radist.clone(), p);
        services.journal = Arc::new(InMemoryJournal::default());
        services
    });
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    let Some(loaded) = loaded.pop() else {
        anyhow::bail!("plugin `{}` did not load", args.plugin);
    };
    if let Err(why) = subscription::explain(&loaded.manifest.triggers, &event.plugin_event) {
        let why: Vec<String> = why.iter().map(ToString::to_string).collect();
        output::note(&format!(
            "note: this event would not have triggered `{}` ({}); running it anyway",
            args.plugin,
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
        target.shutdown().await;
    }
    Ok(if outcome.status == RunStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
    if let Some(note) = plan
        .skipped
        .iter()
        .find(|n| n.starts_with(&format!("skipped {name} ")))
    {
        anyhow::bail!("{note}");
    }
    if let Some(found) = wiring.manifests.find(name) {
        let mine: Vec<&String> = plan
            .problems
            .iter()
            .filter(|p| p.starts_with(&found.file))
            .collect();
        anyhow::bail!(
            "plugin `{name}` cannot run:\n{}",
            mine.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
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

fn run_info() -> RunInfo {
    let id = format!("cli-{}", std::process::id());
    RunInfo {
        run_id: id.clone(),
        event_id: id,
        attempt: 1,
        is_replay: false,
    }
}
