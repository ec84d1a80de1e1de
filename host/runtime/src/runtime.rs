//! [`Runtime`]: the engine, linker, compiled-component cache and epoch ticker shared by every
//! plugin, and loading a plugin (compile or load from cache, check imports, pre-instantiate).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard_manifest::Manifest;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::bindings::PluginPre;
use crate::cache::ComponentCache;
use crate::digest::{DigestKey, installation_key};
use crate::engine::{EpochTicker, build_engine};
use crate::plugin::{Plugin, PluginInner};
use crate::state::{HostServices, HostState, PluginShared, SharedCaches};
use crate::{RuntimeConfig, RuntimeError, capabilities, imports};

/// Runs plugins. Create one per process and load every plugin through it.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) config: RuntimeConfig,
    /// Radist answers shared by every run of every plugin.
    pub(crate) caches: SharedCaches,
    /// At most `max_concurrent_runs` runs execute at once; the pool holds exactly that many.
    pub(crate) admission: Admission,
    pooled: bool,
    linker: Linker<HostState>,
    cache: ComponentCache,
    /// Keys the fingerprints and digests recorded in history (from the installation key).
    digest: DigestKey,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine (pooled when possible), the linker with every capability, and starts
    /// the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        config.validate()?;
        let (engine, pooled) = build_engine(&config)?;
        let mut linker = Linker::new(&engine);
        capabilities::add_to_linker(&mut linker)
            .map_err(|e| RuntimeError::Engine(format!("cannot link the host API: {e}")))?;
        let key = installation_key(&config)?;
        let cache = ComponentCache::new(&engine, config.cache_dir.clone(), key.cache())?;
        let ticker = EpochTicker::start(&engine, Duration::from_millis(config.epoch_tick_ms))?;
        let ttl = Duration::from_millis(config.availability_ttl_ms);
        let inner = RuntimeInner {
            caches: SharedCaches::new(ttl).with_ledger(config.ledger()),
            admission: Admission::new(config.max_concurrent_runs),
            engine,
            config,
            pooled,
            linker,
            cache,
            digest: key.history(),
            _ticker: ticker,
        };
        Ok(Runtime {
            inner: Arc::new(inner),
        })
    }

    /// How many runs are executing now (admitted, not queued).
    pub fn runs_in_progress(&self) -> usize {
        self.inner.admission.running.load(Ordering::SeqCst)
    }

    /// The most runs that ever executed at once; never above `max_concurrent_runs`.
    pub fn peak_runs_in_progress(&self) -> usize {
        self.inner.admission.peak.load(Ordering::SeqCst)
    }

    /// Whether the pooling allocator is in use (false after a fallback or when disabled).
    pub fn is_pooled(&self) -> bool {
        self.inner.pooled
    }

    /// Loads the plugin a manifest describes from its wasm file.
    ///
    /// `manifest_file` names the manifest in error messages (e.g. `manifests/crm-sync.toml`).
    pub fn load_plugin(
        &self,
        manifest: &Manifest,
        manifest_file: &str,
        wasm: &Path,
        services: HostServices,
    ) -> Result<Plugin, RuntimeError> {
        let bytes = std::fs::read(wasm).map_err(|source| RuntimeError::ReadWasm {
            plugin: manifest.plugin.name.as_str().to_owned(),
            path: wasm.to_owned(),
            source,
        })?;
        self.load_plugin_bytes(manifest, manifest_file, &bytes, services)
    }

    /// Like [`Runtime::load_plugin`], from bytes (binary or text component format).
    pub fn load_plugin_bytes(
        &self,
        manifest: &Manifest,
        manifest_file: &str,
        wasm: &[u8],
        services: HostServices,
    ) -> Result<Plugin, RuntimeError> {
        let name = manifest.plugin.name.as_str().to_owned();
        self.check_limits(manifest, manifest_file)?;
        let engine = &self.inner.engine;
        let component = self.inner.cache.load(engine, &name, wasm)?;
        let imports = imports::import_names(engine, &component);
        imports::check_imports(manifest, manifest_file, &imports)?;
        let link = |e: wasmtime::Error| RuntimeError::Link {
            plugin: name.clone(),
            message: format!("{e:#}"),
        };
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(link)?;
        let pre = PluginPre::new(pre).map_err(link)?;
        let shared = self.shared(manifest, manifest_file, services)?;
        Ok(Plugin::new(PluginInner {
            runtime: Arc::clone(&self.inner),
            shared: Arc::new(shared),
            pre,
            imports,
        }))
    }

    fn check_limits(&self, manifest: &Manifest, file: &str) -> Result<(), RuntimeError> {
        let wanted = manifest.limits.memory_mib;
        let max = self.inner.config.max_memory_mib;
        if wanted > max {
            return Err(RuntimeError::Config(format!(
                "{file}: `limits.memory_mib` = {wanted} is above the runtime's `max_memory_mib` ({max}); lower it or raise the host limit"
            )));
        }
        Ok(())
    }

    fn shared(
        &self,
        manifest: &Manifest,
        file: &str,
        services: HostServices,
    ) -> Result<PluginShared, RuntimeError> {
        let grant = manifest.capabilities.http.as_ref();
        let http = capabilities::plugin_client(grant, capabilities::system_lookup())
            .map_err(|e| RuntimeError::Engine(format!("cannot build the http client: {e}")))?;
        let digest = self.inner.digest.clone();
        Ok(PluginShared::new(manifest, file, services, http, digest))
    }
}

/// Admits at most `max_concurrent_runs` runs at once; the others wait in FIFO order.
pub(crate) struct Admission {
    slots: tokio::sync::Semaphore,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// One admitted run; leaving frees its slot.
pub(crate) struct Admitted<'a> {
    admission: &'a Admission,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Admission {
    fn new(max_concurrent_runs: u32) -> Self {
        Admission {
            slots: tokio::sync::Semaphore::new(max_concurrent_runs as usize),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Waits for a free slot. (The semaphore is never closed, so a permit always comes.)
    pub(crate) async fn admit(&self) -> Admitted<'_> {
        let permit = self.slots.acquire().await.ok();
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Admitted {
            admission: self,
            _permit: permit,
        }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.admission.running.fetch_sub(1, Ordering::SeqCst);
    }
}
