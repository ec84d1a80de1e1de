//! [`PluginHarness`]: one embedded Radist sandbox, one runtime, one kv store; load plugins with
//! their manifests, run them on events, and look at what they did and what the sandbox saw.
//!
//! ```text
//! let h = PluginHarness::start().await?;
//! let plugin = h.load(&repo_root().join("manifests/auto-reply.toml"))?;
//! let (delivered, event) = h.inbound_text(70001, "79990001122", "price?").await?;
//! let outcome = h.run(&plugin, event).await;          // status, actions, logs
//! let sent = h.sandbox().sent(Some(delivered.chat_id)).await?;
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use radist_connector::RadistClient;
use radist_sandbox::SandboxConfig;
use switchboard_manifest::Manifest;
use switchboard_runtime::event::{PluginEvent, RunInfo, SourceType};
use switchboard_runtime::messenger;
use switchboard_runtime::{
    FileKvStore, HostServices, InMemoryJournal, Plugin, RunInput, RunOutcome, Runtime,
    RuntimeConfig,
};

use crate::events;
use crate::sandbox::{Delivered, Inbound, TestSandbox};
use crate::{BuildError, build_plugins};

/// Why the harness could not do what a test asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("{file}: cannot read: {message}")]
    Io { file: PathBuf, message: String },
    #[error("{0}")]
    Manifest(String),
    /// Refused by the runtime (e.g. an import the manifest does not grant).
    #[error(transparent)]
    Runtime(#[from] switchboard_runtime::RuntimeError),
    /// The plugin could not be loaded (the message names the manifest file and the reason,
    /// e.g. an import the manifest does not grant).
    #[error("{0}")]
    Load(String),
}

/// The Radist request timeout of the harness's client (the host config's default).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A sandbox, a runtime and a kv store shared by the plugins a test loads.
pub struct PluginHarness {
    sandbox: TestSandbox,
    runtime: Runtime,
    kv: FileKvStore,
    radist: RadistClient,
    /// The action journal every loaded plugin shares, so a test can look into it.
    journal: Arc<InMemoryJournal>,
    next_run: AtomicU64,
    _kv_dir: tempfile::TempDir,
}

/// A loaded plugin and its manifest.
pub struct TestPlugin {
    pub plugin: Plugin,
    pub manifest: Manifest,
    /// sha256 of the component, as a run records it in production.
    pub digest: String,
}

/// Secret values handed to a plugin at load, by manifest name (tests never use the environment).
pub type Secrets = BTreeMap<String, String>;

impl PluginHarness {
    /// A sandbox with the default seed and a runtime with the default configuration.
    pub async fn start() -> Result<Self, HarnessError> {
        Self::start_with(RuntimeConfig::default(), SandboxConfig::default()).await
    }

    /// A sandbox and a runtime configured by the test.
    pub async fn start_with(
        runtime: RuntimeConfig,
        sandbox: SandboxConfig,
    ) -> Result<Self, HarnessError> {
        let sandbox = TestSandbox::start_with(sandbox).await?;
        let runtime = Runtime::new(runtime)?;
        let kv_dir = tempfile::tempdir().map_err(|e| io_error(Path::new("kv tempdir"), &e))?;
        let kv =
            FileKvStore::open(kv_dir.path()).map_err(|e| HarnessError::Sandbox(e.to_string()))?;
        let radist = radist_client(&sandbox)?;
        Ok(Self {
            sandbox,
            runtime,
            kv,
            radist,
            journal: Arc::new(InMemoryJournal::default()),
            next_run: AtomicU64::new(1),
            _kv_dir: kv_dir,
        })
    }

    /// The embedded sandbox.
    pub fn sandbox(&self) -> &TestSandbox {
        &self.sandbox
    }

    /// The action journal of every plugin this harness loaded (e.g. to wait for a send that
    /// outlived its run's timeout with [`InMemoryJournal::settled`]).
    pub fn journal(&self) -> &InMemoryJournal {
        &self.journal
    }

    /// Loads the plugin of the manifest file (its `plugin.wasm` relative to the file), building
    /// the plugins workspace first if this process has not yet.
    pub fn load(&self, manifest_file: &Path) -> Result<TestPlugin, HarnessError> {
        self.load_with(manifest_file, None, &Secrets::new())
    }

    /// Like [`PluginHarness::load`], with the manifest's text replaced by `text` (e.g. a shipped
    /// manifest with the CRM origin pointed at a local server) and secret values.
    pub fn load_with(
        &self,
        manifest_file: &Path,
        text: Option<&str>,
        secrets: &Secrets,
    ) -> Result<TestPlugin, HarnessError> {
        build_plugins()?;
        let text = match text {
            Some(text) => text.to_owned(),
            None => {
                std::fs::read_to_string(manifest_file).map_err(|e| io_error(manifest_file, &e))?
            }
        };
        let loaded = switchboard::config::parse_manifest_file(manifest_file, &text)
            .map_err(|problems| HarnessError::Manifest(problems.join("\n")))?;
        let mut services = HostServices::new(Arc::new(self.kv.clone()));
        services.radist = Some(self.radist.clone());
        services.secrets = secrets.clone();
        services.journal = self.journal.clone();
        let loaded = switchboard::assembly::load_plugin(&self.runtime, &loaded, services)
            .map_err(|problem| HarnessError::Load(problem.text))?;
        Ok(TestPlugin {
            plugin: loaded.plugin,
            manifest: loaded.manifest,
            digest: loaded.digest,
        })
    }

    /// Runs `plugin` on `event` as a first attempt with fresh run and event ids.
    pub async fn run(&self, plugin: &TestPlugin, event: PluginEvent) -> RunOutcome {
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        let run = RunInfo {
            run_id: format!("test-run-{n}"),
            event_id: format!("test-event-{n}"),
            attempt: 1,
            is_replay: false,
        };
        self.run_as(plugin, event, run).await
    }

    /// Runs `plugin` on `event` with the given run info (retries and replays share a run id).
    pub async fn run_as(
        &self,
        plugin: &TestPlugin,
        event: PluginEvent,
        run: RunInfo,
    ) -> RunOutcome {
        plugin
            .plugin
            .run(RunInput {
                event,
                run,
                dry_run: false,
            })
            .await
    }

    /// Posts a text from `phone` on `connection_id` to the sandbox (creating the chat) and
    /// returns the sandbox's ids with the matching `message.received` event.
    pub async fn inbound_text(
        &self,
        connection_id: i64,
        phone: &str,
        text: &str,
    ) -> Result<(Delivered, PluginEvent), HarnessError> {
        self.inbound(Inbound::from_phone(connection_id, phone, text), phone, text)
            .await
    }

    /// Posts `inbound` to the sandbox and builds the `message.received` event for it.
    pub async fn inbound(
        &self,
        inbound: Inbound,
        phone: &str,
        text: &str,
    ) -> Result<(Delivered, PluginEvent), HarnessError> {
        let delivered = self.sandbox.inbound(&inbound).await?;
        let mut event = events::text(delivered.connection_id, delivered.chat_id, text)
            .contact(delivered.contact_id)
            .phone(phone)
            .message_id(&delivered.message_id);
        if let Some(source) = self.source_type(delivered.connection_id) {
            event = event.source(source);
        }
        Ok((delivered, event.received()))
    }

    /// The messenger of a seeded connection.
    pub fn source_type(&self, connection_id: i64) -> Option<SourceType> {
        let kind = self.sandbox.connection_kind(connection_id)?;
        Some(messenger::to_wit(messenger::Messenger::from_name(&kind)))
    }
}

/// The client `serve` would build for a remote Radist at the sandbox's address, without retries
/// (tests choose their faults).
fn radist_client(sandbox: &TestSandbox) -> Result<RadistClient, HarnessError> {
    let handle = sandbox.handle();
    switchboard::wiring::radist_client(
        &handle.base_url(),
        handle.api_key().to_owned(),
        handle.company_id(),
        REQUEST_TIMEOUT,
        0,
    )
    .map_err(|e| HarnessError::Sandbox(format!("{e:#}")))
}

fn io_error(path: &Path, error: &std::io::Error) -> HarnessError {
    HarnessError::Io {
        file: path.to_path_buf(),
        message: error.to_string(),
    }
}
