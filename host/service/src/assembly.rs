//! The loaded system, assembled once: host config → plugin plan (missing components built when
//! allowed) → store → runtime → plugins loaded with their host services. The store is opened
//! only here (`serve` holds it exclusively; the other commands share it). `serve`, `run`, `check`,
//! live reload, the offline intake of `quarantine retry` and `plugins`, and the test harness
//! all load plugins here, so a plugin behaves the same in a test, a CLI run and the service.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use radist_connector::RadistClient;
use sha2::{Digest, Sha256};
use switchboard_manifest::{StoreDurability, WebhookConfig};
use switchboard_runtime::{ConnectionDirectory, HostServices, Runtime};
use switchboard_store::{
    Durability, PostgresConfig, PostgresStore, SqliteConfig, SqliteStore, Store,
};

use crate::config::LoadedManifest;
use crate::load_problem::{LoadProblem, texts};
use crate::radist_target::RadistTarget;
use crate::serve::handoff::{Handoff, HandoffLimits};
use crate::serve::intake::Intake;
use crate::serve::plugins::{PluginSet, SharedPlugins};
use crate::wiring::{EnabledPlugin, LoadedPlugin, PluginPlan, Wiring, missing_wasm, problem_of};

impl Wiring {
    /// Opens the store the host config names: PostgreSQL when `store.url` is set, else the
    /// SQLite file (created owner-only when needed), with `store.durability`. For the history
    /// and maintenance commands, which may run beside `serve`: no lock, and no background word
    /// indexer (see [`Opener::Command`]).
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open(Opener::Command).await
    }

    /// [`open_store`](Self::open_store) for `serve`, the process that runs runs: a SQLite file
    /// is locked for this process, so a second `serve` on it refuses to start (the OS drops the
    /// lock when the holder dies, so a restart after a crash starts at once), and the payload
    /// word index is fed in the background.
    pub async fn open_store_to_serve(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open(Opener::Serve).await
    }

    async fn open(&self, opener: Opener) -> anyhow::Result<Arc<dyn Store>> {
        match self.store_config(opener)? {
            StoreConfig::Postgres(config) => {
                let store = PostgresStore::connect(config)
                    .await
                    .context("cannot open the PostgreSQL store (`store.url`)")?;
                Ok(Arc::new(store))
            }
            StoreConfig::Sqlite(config) => {
                let path = config.path.clone();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("cannot create the data directory {}", dir.display())
                    })?;
                }
                let store = SqliteStore::open(config)
                    .await
                    .with_context(|| format!("cannot open the store {}", path.display()))?;
                Ok(Arc::new(store))
            }
        }
    }

    /// The configuration of the store the host config names, as `opener` opens it.
    fn store_config(&self, opener: Opener) -> anyhow::Result<StoreConfig> {
        let durability = durability(self.config.host.store.durability);
        if let Some(url) = &self.config.host.store.url {
            let url = crate::config::host_secret(url, "store.url")?;
            return Ok(StoreConfig::Postgres(opener.postgres(url, durability)));
        }
        let path = self.config.resolve(&self.config.host.store.path);
        Ok(StoreConfig::Sqlite(opener.sqlite(&path, durability)))
    }
}

/// Who opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    /// `serve`: it holds a SQLite file's lock and feeds the payload word index in the background.
    Serve,
    /// A history, `db`, quarantine or `run` command beside it: no lock and no background word
    /// indexer, so a short command neither competes with `serve` for the writer nor indexes a
    /// backlog; its text filters index the few events they need themselves.
    Command,
}

impl Opener {
    fn sqlite(self, path: &std::path::Path, durability: Durability) -> SqliteConfig {
        let mut config = SqliteConfig::new(path);
        config.durability = durability;
        config.exclusive = self == Opener::Serve;
        config.index_words = self == Opener::Serve;
        config
    }

    fn postgres(self, url: String, durability: Durability) -> PostgresConfig {
        let mut config = PostgresConfig::new(url);
        config.durability = durability;
        config.index_words = self == Opener::Serve;
        config
    }
}

/// A store's configuration, for either backend.
#[derive(Debug)]
enum StoreConfig {
    Sqlite(SqliteConfig),
    Postgres(PostgresConfig),
}

/// The store's durability for the host config's `store.durability`.
fn durability(configured: StoreDurability) -> Durability {
    match configured {
        StoreDurability::Full => Durability::Full,
        StoreDurability::Normal => Durability::Normal,
    }
}

/// The runtime and the plugins loaded into it; the plan's problems include those of loading.
pub struct System {
    pub plan: PluginPlan,
    pub runtime: Runtime,
    pub plugins: Vec<LoadedPlugin>,
}

impl Wiring {
    /// The plan with the missing components built first (when the host config allows it);
    /// problems of the build join the plan's.
    pub fn prepare(&self) -> PluginPlan {
        self.built(self.plan())
    }

    /// `plan` after building its missing components.
    pub fn built(&self, mut plan: PluginPlan) -> PluginPlan {
        let problems = self.build_missing(&plan);
        plan.problems.extend(problems);
        plan
    }

    /// The runtime sized for `plan` and every enabled plugin loaded into it, each with the host
    /// services `services` gives it.
    pub fn assemble(
        &self,
        mut plan: PluginPlan,
        services: impl Fn(&EnabledPlugin) -> HostServices,
    ) -> anyhow::Result<System> {
        let runtime = self.runtime(&plan)?;
        let (plugins, problems) = self.load_plugins(&runtime, &plan, services);
        plan.problems.extend(problems);
        Ok(System {
            plan,
            runtime,
            plugins,
        })
    }

    /// Loads every enabled plugin; `services` gives each its host services. Problems name the
    /// manifest of each plugin that could not be loaded.
    pub fn load_plugins(
        &self,
        runtime: &Runtime,
        plan: &PluginPlan,
        services: impl Fn(&EnabledPlugin) -> HostServices,
    ) -> (Vec<LoadedPlugin>, Vec<LoadProblem>) {
        let mut plugins = Vec::new();
        let mut problems = Vec::new();
        for enabled in &plan.enabled {
            match load_plugin(runtime, &enabled.loaded, services(enabled)) {
                Ok(plugin) => plugins.push(plugin),
                Err(problem) => problems.push(problem),
            }
        }
        (plugins, problems)
    }
}

/// Compiles (or takes from the cache) and instantiates-ready one plugin with its host services.
/// The error names the manifest file. `serve`, `check`, `run` and the test harness all load
/// plugins here, so a plugin behaves the same in a test as in production.
pub fn load_plugin(
    runtime: &Runtime,
    loaded: &LoadedManifest,
    services: HostServices,
) -> Result<LoadedPlugin, LoadProblem> {
    let bytes = std::fs::read(&loaded.wasm).map_err(|_| missing_wasm(loaded))?;
    let plugin = runtime
        .load_plugin_bytes(&loaded.manifest, &loaded.file, &bytes, services)
        .map_err(|err| problem_of(loaded, format!("{}: {err}", loaded.file)))?;
    Ok(LoadedPlugin {
        plugin,
        manifest: loaded.manifest.clone(),
        file: loaded.file.clone(),
        digest: crate::hex(&Sha256::digest(&bytes)),
    })
}

/// A plugin's host services on the store: kv, the durable action ledger (its runs' last
/// completions left to the dispatcher's `finish`), the upload-link cache, its secrets and the
/// Radist client (`None` for dry runs and `check`).
pub fn services(
    store: &Arc<dyn Store>,
    radist: Option<RadistClient>,
    plugin: &EnabledPlugin,
) -> HostServices {
    use crate::adapters::{StoreJournal, StoreKv, StoreUploads};
    let mut services = HostServices::new(Arc::new(StoreKv(store.clone())));
    services.journal = Arc::new(StoreJournal::deferring(store.clone()));
    services.upload_cache = Some(Arc::new(StoreUploads(store.clone())));
    services.secrets = plugin.secrets.clone();
    services.radist = radist;
    services
}

/// The enabled plugins loaded as `serve` loads them on `store`, for commands that do not serve
/// (`plugins`, `quarantine retry`); problems and skipped plugins are in the plan.
pub fn load_offline(
    wiring: &Wiring,
    store: &Arc<dyn Store>,
) -> anyhow::Result<(Vec<LoadedPlugin>, PluginPlan)> {
    let system = wiring.assemble(wiring.prepare(), |p| services(store, None, p))?;
    Ok((system.plugins, system.plan))
}

/// An intake over the configured plugins without a server, for `quarantine retry`: it decodes,
/// matches and stores exactly as the webhook endpoint does.
pub async fn offline_intake(wiring: &Wiring, store: Arc<dyn Store>) -> anyhow::Result<Intake> {
    let system = wiring.assemble(wiring.prepare(), |p| services(&store, None, p))?;
    refuse_on(&system.plan.problems)?;
    let target = RadistTarget::connect(&wiring.config).await?;
    let directory = directory(&system.runtime, Some(target.client.clone())).await;
    target.shutdown().await;
    let plugins = SharedPlugins::new(PluginSet::new(system.plugins));
    intake(
        wiring,
        store,
        plugins,
        directory,
        Arc::new(AtomicBool::new(true)),
    )
}

/// The webhook intake over `plugins`, sized by the host config's `[webhook]`; `accepting`
/// turns false when shutdown starts.
pub fn intake(
    wiring: &Wiring,
    store: Arc<dyn Store>,
    plugins: SharedPlugins,
    directory: Arc<ConnectionDirectory>,
    accepting: Arc<AtomicBool>,
) -> anyhow::Result<Intake> {
    let webhook = &wiring.config.host.webhook;
    Ok(Intake {
        store: store.clone(),
        ledger: store,
        plugins,
        directory,
        token: wiring.webhook_token()?,
        max_body_bytes: usize::try_from(webhook.max_body_bytes).unwrap_or(usize::MAX),
        own_echo_window: Duration::from_secs(u64::from(webhook.own_echo_window_s)),
        accepting,
        backlog: Arc::new(crate::serve::backlog::Backlog::new(webhook)),
        handoff: Arc::new(Handoff::new(handoff_limits(webhook))),
    })
}

/// The handoff's bounds from `[webhook] handoff_max_events` and `handoff_max_mib`.
fn handoff_limits(webhook: &WebhookConfig) -> HandoffLimits {
    let mib = usize::try_from(webhook.handoff_max_mib).unwrap_or(usize::MAX);
    HandoffLimits {
        max_events: usize::try_from(webhook.handoff_max_events).unwrap_or(usize::MAX),
        max_bytes: mib.saturating_mul(1024 * 1024),
    }
}

/// The runtime's connection directory (the one its runs share), asking `radist` and read once
/// now; a Radist that cannot answer yet is logged, and the connections' messengers are learned
/// later.
pub async fn directory(
    runtime: &Runtime,
    radist: Option<RadistClient>,
) -> Arc<ConnectionDirectory> {
    let directory = runtime.connections();
    if let Some(radist) = radist {
        directory.ask(radist);
    }
    if let Err(err) = directory.refresh().await {
        tracing::warn!(error = %err, "cannot read radist's connections yet; source types are learned later");
    }
    directory
}

/// Fails with every problem listed, when there is any.
pub fn refuse_on(problems: &[LoadProblem]) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "cannot start:\n{}\n{} problem(s); `switchboard check` lists them too",
        texts(problems).join("\n"),
        problems.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring(dir: &tempfile::TempDir) -> Wiring {
        std::fs::create_dir(dir.path().join("manifests")).expect("manifests dir");
        let file = dir.path().join("switchboard.toml");
        let text = "config_version = 1\n[plugins]\nmanifests = \"manifests\"\n\
                    [store]\npath = \"data/s.db\"\n";
        std::fs::write(&file, text).expect("host config");
        Wiring::load(&file).expect("wiring")
    }

    #[test]
    fn commands_open_the_store_without_the_background_word_indexer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wiring = wiring(&dir);
        let Ok(StoreConfig::Sqlite(command)) = wiring.store_config(Opener::Command) else {
            panic!("the host config names a SQLite file");
        };
        assert!(!command.index_words, "a command feeds the word index");
        assert!(!command.exclusive, "a command locks the database");
        assert_eq!(command.path, dir.path().join("data/s.db"));
        let Ok(StoreConfig::Sqlite(serve)) = wiring.store_config(Opener::Serve) else {
            panic!("the host config names a SQLite file");
        };
        assert!(serve.index_words && serve.exclusive);
        let url = "postgres://localhost/s".to_owned();
        assert!(
            !Opener::Command
                .postgres(url.clone(), Durability::Full)
                .index_words
        );
        assert!(Opener::Serve.postgres(url, Durability::Full).index_words);
    }
}
