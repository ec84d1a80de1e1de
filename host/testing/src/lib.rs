//! `switchboard-testing`: test Switchboard plugins the way they run in production.
//!
//! - [`build_plugins`] builds the `plugins/` workspace from source for `wasm32-wasip2` once per
//!   test process (adding the target with rustup when missing) and finds each plugin's `.wasm`.
//! - The plugin test harness starts an embedded Radist sandbox on `127.0.0.1:0`, loads a plugin
//!   with its manifest through `switchboard-runtime`, runs it on an event and returns the run
//!   outcome (status, recorded host calls, logs), plus what the sandbox saw.
//! - [`CrmSetup`] seeds the sandbox's CRM (tags, quick replies, notes, permissions) and
//!   [`TestSandbox::contact`], [`TestSandbox::chat`] read back what a plugin left there.
//!
//! - [`launcher`] starts the real `switchboard serve`, reads its start-up announcement and
//!   signals it: the service's end-to-end tests and the bench share it.
//! - [`StoreJournal`] is the service's durable action ledger on a store (and [`ledger_records`]
//!   the store's records of a run's last completions), for benches that run
//!   plugins on a real database without the service.
//!
//! - [`figures`] holds the set-up the figure-printing benches share.
//! - [`ingest`] builds the manual events and one-attempt runs that tests and benches write
//!   straight into a store.
//!
//! The hostile-plugin tests, the example plugins' end-to-end tests and the host-overhead
//! benchmark live in this crate's `tests/` and `benches/`.

mod build;
mod crm;
pub mod events;
pub mod figures;
mod harness;
pub mod ingest;
pub mod launcher;
mod sandbox;

pub use build::{
    BuildError, PLUGIN_TARGET, PluginArtifacts, build_plugin_dir, build_plugins, plugins_workspace,
    repo_root,
};
pub use crm::CrmSetup;
pub use harness::{HarnessError, PluginHarness, Secrets, TestPlugin};
pub use sandbox::{Delivered, Inbound, TestSandbox};
pub use switchboard::adapters::{StoreJournal, ledger_records};
/// The runtime types a test looks at.
pub use switchboard_runtime::{
    ActionError, ActionOutcome, ActionRecord, LogLine, RetryClass, RunOutcome, RunStatus,
    RuntimeConfig, Trap, TrapCause,
};
