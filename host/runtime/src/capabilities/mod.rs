//! The host API, one file per WIT interface, all added to the linker by [`add_to_linker`].
//!
//! Every call goes through the run's [`ActionRecorder`](crate::recorder::ActionRecorder):
//! `begin` → grant and scope checks → (journal lookup for effectful calls) → perform → `finish`.

mod availability;
mod chats;
mod clock;
mod config;
mod contacts;
mod crm_scope;
mod files;
mod history;
mod http;
mod inbox;
mod kv;
mod log;
mod messages;
mod notes;
mod outgoing;
mod quick_replies;
mod radist;
mod tags;
mod templates;

#[cfg(test)]
pub(crate) use log::TEST_PANIC;

use std::time::Duration;

use serde_json::{Value, json};
use wasmtime::component::{HasSelf, Linker};

pub(crate) use http::{plugin_client, system_lookup};

use crate::bindings::switchboard::plugin as wit;
use crate::outcome::{ActionError, RetryClass};
use crate::recorder::{ActionOutcome, Pending};
use crate::state::{HostState, RunContext};
use wit::types::{Error, UpstreamError};

/// Adds WASI (neutered by each store's context) and every Switchboard interface to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    clock::shadow_wasi_clocks(linker)?;
    wit::types::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::log::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::config::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::clock::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::chats::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::messages::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::files::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::availability::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::templates::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::kv::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::http::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::notes::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::inbox::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::quick_replies::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::tags::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::contacts::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    wit::history::add_to_linker::<HostState, HasSelf<HostState>>(linker, this)?;
    Ok(())
}

/// The host data of every interface is the store data itself.
fn this(state: &mut HostState) -> &mut HostState {
    state
}

impl wit::types::Host for HostState {}

impl RunContext {
    /// Records a refusal, marks the run denied, and returns the guest's `denied`.
    pub(crate) fn deny(&mut self, pending: Pending, message: String) -> Error {
        let message = self.plugin.redactor.redact(&message);
        self.recorder
            .finish(pending, ActionOutcome::Denied(message.clone()), false);
        self.denied.get_or_insert_with(|| message.clone());
        Error::Denied(message)
    }

    /// Records a failed call, with the retry class its error implies, and returns `error` for
    /// the guest.
    pub(crate) fn fail(&mut self, pending: Pending, error: Error) -> Error {
        let retry = retry_class(&error);
        self.fail_as(pending, error, retry)
    }

    /// Records that the plugin's own send budget is spent for `wait`, and returns the guest's
    /// `rate-limited`: the run should wait for the budget rather than spend an attempt.
    pub(crate) fn over_budget(&mut self, pending: Pending, wait: Duration) -> Error {
        let ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).max(1);
        self.fail_as(pending, Error::RateLimited(ms), RetryClass::Budget { wait })
    }

    fn fail_as(&mut self, pending: Pending, error: Error, retry: RetryClass) -> Error {
        let message = describe(&error);
        self.recorder.finish(
            pending,
            ActionOutcome::Error(ActionError { message, retry }),
            false,
        );
        error
    }

    /// Records a successful call.
    pub(crate) fn succeed(&mut self, pending: Pending, summary: Value, replayed: bool) {
        self.recorder
            .finish(pending, ActionOutcome::Ok(summary), replayed);
    }

    /// `denied` for an interface the manifest does not grant (normally refused at load).
    pub(crate) fn not_granted(&mut self, pending: Pending, key: &str) -> Error {
        let file = self.plugin.manifest_file.clone();
        self.deny(pending, format!("`{key}` is not granted in {file}"))
    }
}

/// A short, host-internals-free upstream error for the guest.
/// A completed action whose journaled result cannot be read back (`what`: "an upload"): the
/// action is not repeated, the run traps instead.
pub(crate) fn unreadable(what: &str) -> wasmtime::Error {
    let text = format!("{what} has an unreadable result");
    wasmtime::Error::from(crate::journal::JournalError(text))
}

pub(crate) fn upstream(status: Option<u16>, message: &str, retryable: bool) -> Error {
    Error::Upstream(UpstreamError {
        status,
        message: message.to_owned(),
        retryable,
    })
}

/// Whether a new attempt may mend a guest-visible error: Radist's rate limit (after its wait)
/// and upstream errors marked retryable; nothing else.
fn retry_class(error: &Error) -> RetryClass {
    match error {
        Error::RateLimited(ms) => RetryClass::Transient {
            after: Duration::from_millis(u64::from(*ms)),
        },
        Error::Upstream(u) if u.retryable => RetryClass::Transient {
            after: Duration::ZERO,
        },
        _ => RetryClass::Permanent,
    }
}

/// One line describing a guest-visible error, for the action record.
fn describe(error: &Error) -> String {
    match error {
        Error::Denied(m) => format!("denied: {m}"),
        Error::Invalid(fields) => {
            let list: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.path, f.message))
                .collect();
            format!("invalid: {}", list.join("; "))
        }
        Error::WindowClosed(_) => "window-closed".to_owned(),
        Error::RateLimited(ms) => format!("rate-limited: retry after {ms} ms"),
        Error::NotFound(m) => format!("not-found: {m}"),
        Error::Upstream(u) => {
            json!({"status": u.status, "message": u.message, "retryable": u.retryable}).to_string()
        }
    }
}

#[cfg(test)]
mod tests;
