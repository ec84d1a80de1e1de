//! [`Runtime`]: the engine, linker, compiled-component cache and epoch ticker shared by every
//! plugin, and loading a plugin (compile or take the import list from the cache, check imports,
//! pre-instantiate now or at the first run).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use switchboard_manifest::Manifest;
use wasmtime::component::Linker;

use crate::admission::Admission;
use crate::cache::ComponentCache;
use crate::code::Code;
use crate::digest::installation_key;
use crate::engine::{EpochTicker, build_engine};
use crate::executor::GuestExecutor;
use crate::link::link_now;
use crate::plugin::{Plugin, PluginInner};
use crate::runtime_inner::RuntimeInner;
use crate::state::{HostServices, PluginShared, SharedCaches};
use crate::{RuntimeConfig, RuntimeError, capabilities, imports};

/// Runs plugins. Create one per process and load every plugin through it.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
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
        let ticker = EpochTicker::start(&engine, config.tick_period())?;
        let guests = GuestExecutor::start(config.guest_threads)?;
        let ttl = Duration::from_millis(config.availability_ttl_ms);
        let inner = RuntimeInner {
            caches: SharedCaches::new(ttl).with_ledger(config.ledger()),
            admission: Admission::new(config.max_concurrent_runs),
            guests,
            engine,
            config,
            pooled,
            linker,
            cache,
            code: Default::default(),
            digest: key.history(),
            _ticker: ticker,
        };
        Ok(Runtime {
            inner: Arc::new(inner),
        })
    }

    /// How many distinct components the loaded plugins run (plugins built from the same
    /// component share its compiled code).
    pub fn components_loaded(&self) -> usize {
        self.inner.code.len()
    }

    /// How many of those are linked, ready to instantiate. A component the compiled cache
    /// already held is loaded unlinked and linked by its plugin's first run (for tests and the
    /// loading figures).
    pub fn components_linked(&self) -> usize {
        self.inner.code.linked()
    }

    /// How many times those components were linked or tried to be, at load or by a first run:
    /// at most once each (for tests and the loading figures).
    pub fn component_links(&self) -> usize {
        self.inner.code.links()
    }

    /// The directory of connections' messengers every run of this runtime shares; the service's
    /// intake reads and fills the same one.
    pub fn connections(&self) -> Arc<crate::ConnectionDirectory> {
        Arc::clone(&self.inner.caches.connections)
    }

    /// How many runs are executing now (admitted, not queued).
    pub fn runs_in_progress(&self) -> usize {
        self.inner.admission.running()
    }

    /// The most runs that ever executed at once; never above `max_concurrent_runs`.
    pub fn peak_runs_in_progress(&self) -> usize {
        self.inner.admission.peak()
    }

    /// How many runs wait for an execution slot.
    pub fn runs_waiting(&self) -> usize {
        self.inner.admission.waiting()
    }

    /// A value that identifies the installation key without revealing it: the MAC of a fixed
    /// label under the history key. Nodes sharing one database compare it, since fingerprints
    /// one node records must be recomputed by another (a retry moved to a live node).
    pub fn key_check(&self) -> String {
        self.inner
            .digest
            .hex_mac(b"switchboard installation key check v1")
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
        let digest = crate::cache::sha256_hex(wasm);
        let code = self
            .inner
            .code
            .get_or_load(&digest, || self.prepare(&name, &digest, wasm))?;
        imports::check_imports(manifest, manifest_file, &code.imports)?;
        let shared = self.shared(manifest, manifest_file, services)?;
        Ok(Plugin::new(PluginInner {
            runtime: Arc::clone(&self.inner),
            shared: Arc::new(shared),
            code,
        }))
    }

    /// The code of one component. When the disk cache vouches for it (its authenticated import
    /// list, written once it linked), it is linked by its first run instead: a plugin triggered
    /// once a week costs neither deserializing nor memory for its code until then. Otherwise it
    /// is compiled (or deserialized) and linked now, so every load error surfaces at load, and
    /// kept linked: its code is in memory already, and its first run is then as fast as later
    /// ones; the next start loads it lazily.
    fn prepare(&self, plugin: &str, digest: &str, wasm: &[u8]) -> Result<Code, RuntimeError> {
        let cache = &self.inner.cache;
        if let Some(imports) = cache.cached_imports(digest) {
            return Ok(Code::lazy(digest, imports));
        }
        let linked = link_now(&self.inner, plugin, digest, wasm)?;
        cache.store_imports(digest, wasm, &linked.imports);
        Ok(Code::linked(digest, linked.imports, linked.pre))
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
        // Only a plugin granted `http` gets a client (each holds its own TLS configuration and
        // connection pool, which a thousand cron plugins would otherwise pay for nothing).
        let http = match manifest.capabilities.http.as_ref() {
            Some(grant) => Some(
                capabilities::plugin_client(Some(grant), capabilities::system_lookup()).map_err(
                    |e| RuntimeError::Engine(format!("cannot build the http client: {e}")),
                )?,
            ),
            None => None,
        };
        let digest = self.inner.digest.clone();
        Ok(PluginShared::new(manifest, file, services, http, digest))
    }
}
