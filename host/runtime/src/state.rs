//! What a store holds: the neutered WASI context, the limiter, and the run's context
//! ([`RunContext`]) that every capability reads its grants and services from.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_manifest::Manifest;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::availability_cache::AvailabilityCache;
use crate::config::LedgerSettings;
use crate::config_reads::ConfigReads;
use crate::connection_directory::ConnectionDirectory;
use crate::digest::DigestKey;
use crate::event::{PluginEvent, SourceType};
use crate::journal::{InMemoryJournal, Journal};
use crate::kv_store::KvStore;
use crate::limits::{HostCallBudget, StoreLimiter};
use crate::logs::{LogBuffer, LogSource};
use crate::recorder::ActionRecorder;
use crate::recorder::HeldEffects;
use crate::redact::Redactor;
use crate::run::RunInput;
use crate::run_clock::RunClock;
use crate::scope::TokenBucket;
use crate::stdio::CapturedOutput;
use crate::upload_cache::UploadCache;

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
    /// Links of files uploaded before, reused by `files.upload` instead of uploading again;
    /// `None` uploads every time.
    pub upload_cache: Option<Arc<dyn UploadCache>>,
}

impl HostServices {
    /// Services with the given kv store, no secrets, an in-memory journal and no upload cache.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        HostServices {
            radist: None,
            kv,
            secrets: BTreeMap::new(),
            journal: Arc::new(InMemoryJournal::default()),
            upload_cache: None,
        }
    }
}

/// What every run of every plugin of one runtime shares: caches of Radist answers, and the
/// runtime's ledger settings.
#[derive(Clone)]
pub(crate) struct SharedCaches {
    /// WABA availability answers with a short TTL.
    pub(crate) availability: Arc<AvailabilityCache>,
    /// The messenger of each connection, kept for the runtime's lifetime and shared with the
    /// service's intake ([`Runtime::connections`](crate::Runtime::connections)).
    pub(crate) connections: Arc<ConnectionDirectory>,
    /// How pending actions are reconciled (from `RuntimeConfig`).
    pub(crate) ledger: LedgerSettings,
    /// Effect ids whose results live runs still hold (see `recorder.rs`).
    pub(crate) held_effects: Arc<HeldEffects>,
}

impl SharedCaches {
    pub(crate) fn new(availability_ttl: Duration) -> Self {
        SharedCaches {
            availability: Arc::new(AvailabilityCache::new(availability_ttl)),
            connections: Arc::new(ConnectionDirectory::default()),
            ledger: LedgerSettings::default(),
            held_effects: Arc::default(),
        }
    }

    /// The same caches with the runtime's ledger settings.
    pub(crate) fn with_ledger(mut self, ledger: LedgerSettings) -> Self {
        self.ledger = ledger;
        self
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
    /// `capabilities.notes.per_minute`, shared by the plugin's runs.
    pub(crate) note_bucket: Option<Mutex<TokenBucket>>,
    /// This plugin's `http.send` client (its resolver knows the plugin's allow list); only a
    /// plugin granted `http` has one.
    pub(crate) http: Option<reqwest::Client>,
    /// Keys the fingerprints and digests recorded in history.
    pub(crate) digest: DigestKey,
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
    /// (connection, chat) pairs the event says are WABA chats (other chats: see `caches`).
    pub(crate) waba_chats: HashSet<(i64, i64)>,
    /// Shared across runs and plugins: availability windows and connection kinds.
    pub(crate) caches: SharedCaches,
    /// The run's one instant, once a clock was read (see `capabilities/clock.rs`).
    pub(crate) clock: RunClock,
    /// Config keys already recorded in this run.
    pub(crate) config_reads: ConfigReads,
    /// The contact of a message event: CRM grants always reach it.
    pub(crate) event_contact: Option<i64>,
    /// Contacts this run created or was answered from the ledger: in every CRM grant's scope.
    pub(crate) created_contacts: HashSet<i64>,
    /// Messages `history` has answered in this run (bounded by `capabilities.history`).
    pub(crate) history_read: u32,
}

impl PluginShared {
    /// A plugin's shared state; the send bucket starts full.
    pub(crate) fn new(
        manifest: &Manifest,
        manifest_file: &str,
        services: HostServices,
        http: Option<reqwest::Client>,
        digest: DigestKey,
    ) -> Self {
        let per_minute = manifest.capabilities.messages.as_ref();
        let bucket = per_minute
            .and_then(|m| m.per_minute)
            .map(|n| Mutex::new(TokenBucket::per_minute(n.get(), Instant::now())));
        let notes = manifest.capabilities.notes.as_ref();
        let note_bucket = notes
            .and_then(|n| n.per_minute)
            .map(|n| Mutex::new(TokenBucket::per_minute(n.get(), Instant::now())));
        PluginShared {
            note_bucket,
            name: manifest.plugin.name.as_str().to_owned(),
            manifest_file: manifest_file.to_owned(),
            manifest: manifest.clone(),
            redactor: Redactor::new(&services.secrets),
            services,
            send_bucket: bucket,
            http,
            digest,
        }
    }
}

impl RunContext {
    /// A fresh context for one run of `plugin`.
    pub(crate) fn new(plugin: Arc<PluginShared>, input: &RunInput, caches: SharedCaches) -> Self {
        let log_bytes = plugin.manifest.limits.log_bytes as usize;
        let logs = LogBuffer::new(log_bytes, plugin.redactor.clone());
        let recorder = ActionRecorder::new(
            input.run.run_id.clone(),
            Arc::clone(&plugin.services.journal),
            plugin.redactor.clone(),
            input.dry_run,
        )
        .with_digest(plugin.digest.clone())
        .with_held_effects(Arc::clone(&caches.held_effects));
        let (known_chats, waba_chats) = chats_of(&input.event);
        RunContext {
            plugin,
            recorder,
            logs,
            denied: None,
            known_chats,
            waba_chats,
            caches,
            clock: RunClock::default(),
            config_reads: ConfigReads::default(),
            event_contact: contact_of(&input.event),
            created_contacts: HashSet::new(),
            history_read: 0,
        }
    }
}

/// The contact a message event names.
fn contact_of(event: &PluginEvent) -> Option<i64> {
    match event {
        PluginEvent::MessageReceived(e) | PluginEvent::MessageSent(e) => e.contact_id,
        _ => None,
    }
}

/// The data of one store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: StoreLimiter,
    /// Every host call of the run, WASI included, counted by the store's call hook.
    pub(crate) host_calls: HostCallBudget,
    pub(crate) ctx: RunContext,
}

impl HostState {
    pub(crate) fn new(ctx: RunContext, memory_mib: u32) -> Self {
        let max_host_calls = ctx.plugin.manifest.limits.max_host_calls;
        HostState {
            wasi: neutered_wasi(&ctx.logs, &ctx.clock),
            table: ResourceTable::new(),
            limiter: StoreLimiter::new(memory_mib),
            host_calls: HostCallBudget::new(max_host_calls),
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

/// The most bytes one `wasi:random` call may ask for; larger requests trap.
const MAX_RANDOM_BYTES: u64 = 64 * 1024;

/// WASI with nothing in it: no files, env, args or network; stdout/stderr go to the run log;
/// random bytes bounded per call; the clocks answer from the run's clock (`capabilities/clock.rs`).
fn neutered_wasi(logs: &LogBuffer, clock: &RunClock) -> WasiCtx {
    WasiCtxBuilder::new()
        .max_random_size(MAX_RANDOM_BYTES)
        .monotonic_clock(clock.wasi_monotonic())
        .stdout(CapturedOutput::new(logs.clone(), LogSource::Stdout))
        .stderr(CapturedOutput::new(logs.clone(), LogSource::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .build()
}

/// A set of (connection, chat) pairs.
type ChatSet = HashSet<(i64, i64)>;

/// (connection, chat) pairs the event vouches for, and which of them are WABA chats.
fn chats_of(event: &PluginEvent) -> (ChatSet, ChatSet) {
    let mut known = HashSet::new();
    let mut waba = HashSet::new();
    match event {
        PluginEvent::MessageReceived(e) | PluginEvent::MessageSent(e) => {
            known.insert((e.connection_id, e.chat_id));
            if e.source_type == Some(SourceType::Waba) {
                waba.insert((e.connection_id, e.chat_id));
            }
        }
        PluginEvent::MessageDelivered(e)
        | PluginEvent::MessageRead(e)
        | PluginEvent::MessageFailed(e) => {
            if let Some(chat) = e.chat_id {
                known.insert((e.connection_id, chat));
            }
        }
        _ => {}
    }
    (known, waba)
}
