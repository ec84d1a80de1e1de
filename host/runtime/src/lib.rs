//! Switchboard plugin runtime: one wasmtime engine, a fresh store per run with the manifest's
//! memory and time limits, and the capability-scoped host API.
//!
//! ```text
//! Runtime::new(RuntimeConfig)            engine (pooled, epoch ticker), linker, compiled cache
//!   └─ load_plugin(manifest, wasm, ..)   compile/cache → import check vs grants → InstancePre
//!                                        (from a warm cache: kept import list → check; linked
//!                                        by the first run)
//!        └─ Plugin::run(RunInput)        fresh Store → instantiate → handle(event, run) → RunOutcome
//! ```
//!
//! Module map: `engine` (engine, pooling fallback, epoch ticker), `admission` (execution slots,
//! a fair share per plugin), `executor` (the guest threads, apart from the caller's), `cache` (compiled components on
//! disk, with each one's authenticated import list and wasm; the crate's only `unsafe`), `link`
//! (linking at load, or at a lazily loaded plugin's first run), `imports` (load-time grant check), `limits` (per-store
//! limiter), `state` (store data, neutered WASI), `capabilities` (one file per WIT interface),
//! `recorder` and `journal` (every host call recorded; effectful ones journaled in two phases),
//! `outcome` (the typed retry classes, trap causes and reconciliations callers decide on),
//! `compact` (bounded summaries, base64 bytes), `upload_cache` (reused upload links), `logs` and
//! `stdio` (capped run log), `redact` (secrets), `scope` (call-time scopes, rate), `kv_store`,
//! `availability_cache` and `connection_directory` (Radist answers shared by every run: WABA
//! windows for a short TTL, which connections are WABA for the runtime's lifetime).
//!
//! No wasmtime type appears in this crate's public API.

mod admission;
mod availability_cache;
mod bindings;
mod cache;
mod capabilities;
mod code;
mod compact;
mod config;
mod config_reads;
pub mod connection_directory;
mod digest;
mod engine;
mod error;
pub mod event;
mod executor;
mod imports;
mod journal;
mod kv_store;
mod limits;
mod link;
mod logs;
pub mod messenger;
mod outcome;
mod plugin;
mod reconcile;
mod recorder;
mod redact;
mod run;
mod run_clock;
mod runtime;
mod runtime_inner;
mod scope;
mod state;
mod stdio;
pub mod subscription;
#[cfg(test)]
mod test_support;
mod upload_cache;

pub use config::{ReconcilePolicy, RuntimeConfig};
pub use connection_directory::ConnectionDirectory;
pub use error::RuntimeError;
pub use journal::{
    Completion, InMemoryJournal, Intent, Journal, JournalEntry, JournalError, JournalKey, Prior,
};
pub use kv_store::{FileKvStore, KvError, KvStore};
pub use logs::{LogLevel, LogLine, LogSource};
pub use outcome::{ActionError, Reconciliation, RetryClass, Trap, TrapCause};
pub use plugin::Plugin;
pub use recorder::{ActionOutcome, ActionRecord};
pub use run::{RunInput, RunOutcome, RunStatus};
pub use runtime::Runtime;
pub use state::HostServices;
pub use upload_cache::{InMemoryUploadCache, UploadCache};
