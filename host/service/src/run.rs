//! `switchboard run PLUGIN --event FILE [--dry-run]`: one run of one plugin against the configured
//! Radist (an embedded sandbox by default), printed as a report or JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use radist_connector::RadistClient;
use switchboard_runtime::event::RunInfo;
use switchboard_runtime::{FileKvStore, HostServices, RunInput, RunStatus, Runtime, RuntimeConfig};

use crate::cli::RunArgs;
use crate::config::{LoadedConfig, LoadedManifest, resolve_secrets};
use crate::{event_file, output, sandbox};

/// Runs the plugin once; exit 0 when the run succeeded, 1 otherwise.
pub async fn run(config_file: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = LoadedConfig::read(config_file)?;
    let manifests = config.read_manifests()?;
    let Some(loaded) = manifests.find(&args.plugin) else {
        let known: Vec<&str> = manifests
            .loaded
            .iter()
            .map(|m| m.manifest.plugin.name.as_str())
            .collect();
        anyhow::bail!(
            "no plugin named `{}` in {}; known plugins: {}{}",
            args.plugin,
            config.resolve(&config.host.plugins.manifests).display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
            if manifests.problems.is_empty() {
                ""
            } else {
                " (some manifests are invalid: run `switchboard check`)"
            }
        );
    };
    let secrets = resolve_secrets(loaded).map_err(|p| anyhow::anyhow!(p.join("\n")))?;
    let event = event_file::read(&args.event)?;
    let target = if args.dry_run {
        None
    } else {
        Some(sandbox::RadistTarget::connect(&config).await?)
    };
    let event = match &target {
        Some(target) => target.prepare(event).await?,
        None => event,
    };
    let runtime = build_runtime(&config, std::slice::from_ref(loaded))?;
    let radist = target.as_ref().map(|t| t.client.clone());
    let services = services(&config, loaded, secrets, radist)?;
    let plugin = runtime.load_plugin(&loaded.manifest, &loaded.file, &loaded.wasm, services)?;
    let input = RunInput {
        event: event.plugin_event,
        run: run_info(),
        dry_run: args.dry_run,
    };
    let outcome = plugin.run(input).await;
    if args.json {
        output::json(plugin.name(), &outcome)
    } else {
        output::human(plugin.name(), &outcome)
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

/// The runtime sized for these plugins, from the host config's `[runtime]`.
pub fn build_runtime(config: &LoadedConfig, plugins: &[LoadedManifest]) -> anyhow::Result<Runtime> {
    let rt = &config.host.runtime;
    let max_memory_mib = plugins
        .iter()
        .map(|p| p.manifest.limits.memory_mib)
        .max()
        .unwrap_or(32);
    let runtime_config = RuntimeConfig {
        cache_dir: Some(config.resolve(&rt.cache_dir)),
        epoch_tick_ms: u64::from(rt.epoch_tick_ms),
        max_concurrent_runs: rt.max_concurrent_runs,
        max_memory_mib,
        pooling: rt.pooling,
        ..RuntimeConfig::default()
    };
    Runtime::new(runtime_config).context("cannot start the plugin runtime")
}

/// The services a plugin gets: kv under the store's directory, its secrets, the Radist client.
pub fn services(
    config: &LoadedConfig,
    loaded: &LoadedManifest,
    secrets: BTreeMap<String, String>,
    radist: Option<RadistClient>,
) -> anyhow::Result<HostServices> {
    let store = config.resolve(&config.host.store.path);
    let kv_dir = store.parent().unwrap_or(Path::new(".")).join("kv");
    let kv = FileKvStore::open(&kv_dir).with_context(|| {
        format!(
            "{}: cannot open the kv store in {}",
            loaded.file,
            kv_dir.display()
        )
    })?;
    let mut services = HostServices::new(Arc::new(kv));
    services.secrets = secrets;
    services.radist = radist;
    Ok(services)
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
