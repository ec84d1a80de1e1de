//! What a store holds: the neutered WASI context, the limiter, and the run's context
//! ([`RunContext`]) that every capability reads its grants and services from.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use switchboard_manifest::Manifest;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::journal::{InMemoryJournal, Journal};
use crate::kv_store::KvStore;
use crate::limits::StoreLimiter;
use crate::logs::{LogBuffer, LogSource};
use crate::recorder::ActionRecorder;
use crate::redact::Redactor;
use crate::scope::TokenBucket;
use crate::stdio::CapturedOutput;

/// The services a plugin's host calls use. Secrets are resolved by the caller (the runtime never
/// reads environment variables) and only those the manifest declares are handed to the plugin.
#[derive(Clone)]
pub struct HostServices {
    /// The Radist client; `None` answers Radist calls with a non-retryable `upstream` error
    /// (dry runs never need it).
    pub radist: Option<radist_connector::RadistClient>,
    /// Durable key-value storage (namespaced by plugin name).
    pub kv: Arc<dyn KvStore>,
    /// Resolved secret values by manifest name; redacted wherever they would be recorded.
    pub secrets: BTreeMap<String, String>,
    /// Where completed effectful actions are remembered (the action ledger).
    pub journal: Arc<dyn Journal>,
}

impl HostServices {
    /// Services with the given kv store, no secrets and an in-memory journal.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        HostServices {
            radist: None,
            kv,
            secrets: BTreeMap::new(),
            journal: Arc::new(InMemoryJournal::default()),
        }
    }
}

/// What every run of one plugin shares.
pub(crate) struct PluginShared {
    pub(crate) name: String,
    pub(crate) manifest_file: String,
    pub(crate) manifest: Manifest,
    pub(crate) services: HostServices,
    pub(crate) redactor: Redactor,
    pub(crate) send_bucket: Option<Mutex<TokenBucket>>,
    pub(crate) http: reqwest::Client,
}

/// One run's state, reachable from every host call.
pub(crate) struct RunContext {
    pub(crate) plugin: Arc<PluginShared>,
    pub(crate) recorder: ActionRecorder,
    pub(crate) logs: LogBuffer,
    /// The first refusal of the run; makes the run `denied` unless it trapped or timed out.
    pub(crate) denied: Option<String>,
    /// (connection, chat) pairs known to belong together (from the event or created chats).
    pub(crate) known_chats: HashSet<(i64, i64)>,
    /// (connection, chat) pairs known to be WABA chats.
    pub(crate) waba_chats: HashSet<(i64, i64)>,
    /// Shared across runs: WABA availability answers with a short TTL.
    pub(crate) availability: Arc<crate::availability_cache::AvailabilityCache>,
}

/// The data of one store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: StoreLimiter,
    pub(crate) ctx: RunContext,
}

impl HostState {
    pub(crate) fn new(ctx: RunContext, memory_mib: u32) -> Self {
        HostState {
            wasi: neutered_wasi(&ctx.logs),
            table: ResourceTable::new(),
            limiter: StoreLimiter::new(memory_mib),
            ctx,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// WASI with nothing in it: no files, env, args or network; stdout/stderr go to the run log.
fn neutered_wasi(logs: &LogBuffer) -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(CapturedOutput::new(logs.clone(), LogSource::Stdout))
        .stderr(CapturedOutput::new(logs.clone(), LogSource::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .build()
}
