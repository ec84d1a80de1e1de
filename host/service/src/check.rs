//! `switchboard check`: the host config, every manifest, each plugin's component and its imports
//! against its grants, and the secrets each plugin needs. Plugins listed in `plugins.optional`
//! whose secrets are not set are reported as skipped (with how to enable them), not as problems.
//! Missing components are built first, as `serve` does. Every problem is listed; exit 1 if any.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use switchboard_runtime::event::PluginEvent;
use switchboard_runtime::{HostServices, KvError, KvStore, subscription};

use crate::config::LoadedConfig;
use crate::load_problem::LoadProblem;
use crate::wiring::{LoadedPlugin, Wiring};
use crate::{event_file, output};

/// Runs every check and prints the problems, or a one-line summary per plugin.
pub async fn check(config_file: &Path, event: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Err(err) = LoadedConfig::read(config_file) {
        eprintln!("{err:#}");
        return Ok(ExitCode::FAILURE);
    }
    let wiring = Wiring::load(config_file)?;
    let system = wiring.assemble(wiring.prepare(), |_| HostServices::new(Arc::new(NoKv)))?;
    let (loaded, plan) = (system.plugins, system.plan);
    for p in &loaded {
        output::line(&format!(
            "ok  {:<20} {} (imports: {})",
            p.manifest.plugin.name.as_str(),
            p.file,
            output::short_imports(p.plugin.imports())
        ));
    }
    for skipped in &plan.skipped {
        output::line(&skipped.note);
    }
    if let Some(file) = event {
        let event = event_file::read(file)?;
        for line in triggered(&loaded, &event.plugin_event) {
            output::line(&line);
        }
    }
    Ok(report(loaded.len(), plan.skipped.len(), &plan.problems))
}

/// One line per loaded plugin: whether the event triggers it, through the same subscription
/// matcher intake uses, and if not, every reason.
fn triggered(loaded: &[LoadedPlugin], event: &PluginEvent) -> Vec<String> {
    loaded
        .iter()
        .map(|p| {
            let name = p.manifest.plugin.name.as_str();
            match subscription::explain(&p.manifest.triggers, event) {
                Ok(()) => format!("event triggers {name}"),
                Err(why) => {
                    let why: Vec<String> = why.iter().map(ToString::to_string).collect();
                    format!("event skips    {name}: {}", why.join("; "))
                }
            }
        })
        .collect()
}

fn report(ok: usize, skipped: usize, problems: &[LoadProblem]) -> ExitCode {
    if problems.is_empty() {
        output::line(&format!(
            "{ok} plugin(s) checked, {skipped} skipped, no problems"
        ));
        return ExitCode::SUCCESS;
    }
    for problem in problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s) found", problems.len());
    ExitCode::FAILURE
}

/// `check` loads plugins but never runs them, so it needs no storage.
struct NoKv;

#[async_trait::async_trait]
impl KvStore for NoKv {
    async fn get(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, KvError> {
        Err(unused())
    }
    async fn set(&self, _: &str, _: &str, _: Vec<u8>, _: u64) -> Result<(), KvError> {
        Err(unused())
    }
    async fn delete(&self, _: &str, _: &str) -> Result<bool, KvError> {
        Err(unused())
    }
    async fn list_keys(&self, _: &str, _: &str) -> Result<Vec<String>, KvError> {
        Err(unused())
    }
}

fn unused() -> KvError {
    KvError::Store("no kv store in `check`".to_owned())
}
