//! The configured parts: host config → which plugins are enabled (and why others are not), the
//! plugin build when a `.wasm` is missing, the runtime, the tokens and the Radist client.
//! [`assembly`](crate::assembly) opens the store and puts them together into the loaded system; `check`,
//! `run`, `serve` and the history commands all start here, so they agree on what "the
//! configured Switchboard" is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use radist_connector::models::CompanyId;
use radist_connector::{ClientConfig, RadistClient};
use switchboard_manifest::Manifest;
use switchboard_runtime::{Plugin, Runtime, RuntimeConfig};
use switchboard_store::Store;

use crate::config::{LoadedConfig, LoadedManifest, Manifests, resolve_secrets};
use crate::load_problem::{LoadProblem, SkippedPlugin};
use crate::output;
use crate::serve::token::Token;

/// The host config and the manifests it points to.
pub struct Wiring {
    pub config: LoadedConfig,
    pub manifests: Manifests,
}

/// Which plugins run, which are skipped and why, and what is wrong.
#[derive(Default)]
pub struct PluginPlan {
    pub enabled: Vec<EnabledPlugin>,
    /// Optional plugins (`plugins.optional`) whose secrets are not set: one note each.
    pub skipped: Vec<SkippedPlugin>,
    /// Invalid manifests, duplicate names, unset secrets of required plugins, secret conflicts.
    pub problems: Vec<LoadProblem>,
}

/// A plugin that will be loaded, with its secrets resolved from the environment.
pub struct EnabledPlugin {
    pub loaded: LoadedManifest,
    pub secrets: BTreeMap<String, String>,
}

/// A loaded plugin and what the service needs to know about it.
pub struct LoadedPlugin {
    pub plugin: Plugin,
    pub manifest: Manifest,
    /// The manifest file, for messages.
    pub file: String,
    /// sha256 of the component's bytes: every run records the version it ran.
    pub digest: String,
}

impl Wiring {
    /// Reads the host config and every manifest (problems are kept, not fatal).
    pub fn load(config_file: &Path) -> anyhow::Result<Wiring> {
        let config = LoadedConfig::read(config_file)?;
        let manifests = config.read_manifests()?;
        Ok(Wiring { config, manifests })
    }

    /// This node's name: `server.node_id`, else the host name. A restarted node recovers the
    /// runs left unfinished under its name.
    pub fn node_id(&self) -> String {
        if let Some(id) = &self.config.host.server.node_id {
            return id.clone();
        }
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".to_owned())
    }

    /// The directory holding the database and the files the service keeps beside it.
    pub fn data_dir(&self) -> PathBuf {
        let store = self.config.resolve(&self.config.host.store.path);
        store.parent().unwrap_or(Path::new(".")).to_path_buf()
    }

    /// `[webhook] token` from the environment, else the token kept in the data directory.
    pub fn webhook_token(&self) -> anyhow::Result<Token> {
        if let Some(source) = &self.config.host.webhook.token {
            return crate::config::host_secret(source, "webhook.token").map(Token::new);
        }
        let dir = self.data_dir();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        Token::load_or_create(&dir.join("webhook.token"))
    }

    /// `server.admin_token` from the environment, when the host config names one.
    pub fn admin_token(&self) -> anyhow::Result<Option<Token>> {
        let Some(source) = &self.config.host.server.admin_token else {
            return Ok(None);
        };
        crate::config::host_secret(source, "server.admin_token").map(|t| Some(Token::new(t)))
    }

    /// Decides which plugins are enabled. Optional plugins with unset secrets are skipped with
    /// a note saying how to enable them; anything else wrong is a problem.
    pub fn plan(&self) -> PluginPlan {
        let mut plan = PluginPlan {
            problems: self.manifests.problems.clone(),
            ..PluginPlan::default()
        };
        plan.problems
            .extend(duplicate_names(&self.manifests.loaded));
        let optional = &self.config.host.plugins.optional;
        for loaded in &self.manifests.loaded {
            match resolve_secrets(loaded) {
                Ok(secrets) => plan.enabled.push(EnabledPlugin {
                    loaded: loaded.clone(),
                    secrets,
                }),
                Err(missing) if optional.contains(&loaded.manifest.plugin.name) => {
                    plan.skipped.push(skip_note(loaded, &missing));
                }
                Err(missing) => {
                    let typed = missing.into_iter().map(|m| problem_of(loaded, m));
                    plan.problems.extend(typed);
                    let buildable = switchboard_plugin_build::workspace_of(&loaded.wasm).is_some();
                    if !loaded.wasm.is_file() && !buildable {
                        plan.problems.push(missing_wasm(loaded));
                    }
                }
            }
        }
        plan
    }

    /// Builds the plugin workspaces whose components are missing (a fresh clone), saying so on
    /// stderr, when the host config allows it (`[plugins] build = true`); otherwise a missing
    /// component is a problem that says how to build it. Problems name what could not be built.
    pub fn build_missing(&self, plan: &PluginPlan) -> Vec<LoadProblem> {
        let missing = plan.enabled.iter().filter(|p| !p.loaded.wasm.is_file());
        if !self.config.host.plugins.build {
            return missing.map(|p| missing_wasm(&p.loaded)).collect();
        }
        let mut workspaces = BTreeSet::new();
        let mut problems = Vec::new();
        for p in missing {
            match switchboard_plugin_build::workspace_of(&p.loaded.wasm) {
                Some(workspace) => {
                    workspaces.insert(workspace);
                }
                None => problems.push(missing_wasm(&p.loaded)),
            }
        }
        for workspace in workspaces {
            output::note(&format!(
                "building the plugins in {} (their .wasm files are missing; this happens once)",
                workspace.display()
            ));
            if let Err(err) = switchboard_plugin_build::build_workspace(&workspace) {
                problems.push(LoadProblem::general(format!("{err}")));
            }
        }
        for p in plan.enabled.iter().filter(|p| !p.loaded.wasm.is_file()) {
            if switchboard_plugin_build::workspace_of(&p.loaded.wasm).is_some() {
                problems.push(missing_wasm(&p.loaded));
            }
        }
        problems
    }

    /// The runtime sized for the enabled plugins, from the host config's `[runtime]`.
    pub fn runtime(&self, plan: &PluginPlan) -> anyhow::Result<Runtime> {
        let rt = &self.config.host.runtime;
        let max_memory_mib = plan
            .enabled
            .iter()
            .map(|p| p.loaded.manifest.limits.memory_mib)
            .max()
            .unwrap_or(32);
        let runtime_config = RuntimeConfig {
            cache_dir: Some(self.config.resolve(&rt.cache_dir)),
            key_file: rt.key_file.as_ref().map(|f| self.config.resolve(f)),
            epoch_tick_ms: u64::from(rt.epoch_tick_ms),
            max_concurrent_runs: rt.max_concurrent_runs,
            max_memory_mib,
            pooling: rt.pooling,
            ..RuntimeConfig::default()
        };
        Runtime::new(runtime_config).context("cannot start the plugin runtime")
    }
}

pub(crate) fn missing_wasm(loaded: &LoadedManifest) -> LoadProblem {
    let text = format!(
        "{}: plugin.wasm: {} does not exist; build it with `switchboard plugins build`, let the service \
         build it at start with `[plugins] build = true` in the host config, or fix the path",
        loaded.file,
        loaded.wasm.display()
    );
    problem_of(loaded, text)
}

/// A problem of the plugin whose manifest `loaded` is.
pub(crate) fn problem_of(loaded: &LoadedManifest, text: impl Into<String>) -> LoadProblem {
    LoadProblem::of_plugin(&loaded.file, loaded.manifest.plugin.name.as_str(), text)
}

/// "skipped crm-sync: ... ; export CRM_TOKEN to enable it".
fn skip_note(loaded: &LoadedManifest, missing: &[String]) -> SkippedPlugin {
    let vars: Vec<&str> = loaded
        .manifest
        .secrets
        .values()
        .map(|s| s.env_var())
        .filter(|var| std::env::var(var).map_or(true, |v| v.is_empty()))
        .collect();
    let note = format!(
        "skipped {} ({}): {} not set; it is listed in `plugins.optional`, so it is not loaded. To enable it, export {} and restart",
        loaded.manifest.plugin.name.as_str(),
        loaded.file,
        if vars.len() == 1 {
            format!("the secret variable `{}` is", vars[0])
        } else {
            format!("{} secret variables are", missing.len())
        },
        vars.join(", ")
    );
    SkippedPlugin {
        plugin: loaded.manifest.plugin.name.as_str().to_owned(),
        file: loaded.file.clone(),
        note,
    }
}

fn duplicate_names(loaded: &[LoadedManifest]) -> Vec<LoadProblem> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for m in loaded {
        let name = m.manifest.plugin.name.as_str();
        if let Some(first) = seen.insert(name, &m.file) {
            let text = format!(
                "{}: plugin.name: `{name}` is also the name of the plugin in {first}; plugin names must be unique",
                m.file
            );
            problems.push(problem_of(m, text));
        }
    }
    problems
}

/// The kv namespace the host keeps its own values in; plugin names cannot start with `@`.
pub const HOST_NAMESPACE: &str = "@switchboard";
/// Where the database remembers which installation key its history was recorded under.
const KEY_CHECK: &str = "installation-key-check";

/// Makes sure this node keys history digests with the same installation key as every node
/// before it on this database: a run that moves to another node (a retry, a dead node's run)
/// recomputes the fingerprints of its earlier actions, and a different key would make every one
/// of them look non-deterministic. The database keeps only a check value (a MAC of a fixed label),
/// never the key. The first node records it; a node with another key refuses to start unless
/// `replace` says to adopt its key.
pub async fn agree_on_key(
    store: &dyn Store,
    runtime: &Runtime,
    replace: bool,
) -> anyhow::Result<()> {
    let mine = runtime.key_check();
    let recorded = store
        .kv_get(HOST_NAMESPACE, KEY_CHECK)
        .await
        .context("cannot read the database's installation key check")?;
    match recorded {
        Some(value) if value == mine.as_bytes() => return Ok(()),
        Some(_) if !replace => anyhow::bail!(
            "this node's installation key differs from the one this database's history was recorded with; \
             every node sharing a database needs the same key file: copy it from a node that already runs \
             (`runtime.key_file`, default `<runtime.cache_dir>.key`) and point `runtime.key_file` at the copy, \
             or start with --replace-key to adopt this node's key (runs interrupted mid-send may then end non-deterministic)"
        ),
        Some(_) => output::note(
            "replacing the database's installation key check with this node's key (--replace-key)",
        ),
        None => {}
    }
    store
        .kv_set(HOST_NAMESPACE, KEY_CHECK, mine.into_bytes(), None)
        .await
        .context("cannot record the installation key check in the database")
}

/// The Radist client the host config's `[radist]` describes: `base_url`, the API key, the company,
/// the request timeout and how often a retryable failure is retried inside one call.
pub fn radist_client(
    base_url: &str,
    api_key: String,
    company_id: i64,
    timeout: Duration,
    max_retries: u32,
) -> anyhow::Result<RadistClient> {
    let url = base_url
        .parse()
        .with_context(|| format!("radist.base_url `{base_url}` is not a URL"))?;
    let mut config = ClientConfig::new(api_key, CompanyId(company_id))
        .with_base_url(url)
        .with_timeout(timeout);
    config.retry.max_retries = max_retries;
    RadistClient::new(config).context("cannot build the Radist client")
}
