//! The typed parts of a run's outcome that callers decide on: an action error's [`RetryClass`],
//! a trap's [`TrapCause`], and how a pending action was [`Reconciliation`]-decided. Messages are
//! for people; every retry, deferral and metric label is taken from these types, never parsed
//! back out of a message.

use std::time::Duration;

/// Whether trying the run again can help a failed action, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryClass {
    /// Trying again cannot help: the request is invalid, the target is missing, the error is
    /// permanent, or the plugin did something its grants refuse.
    Permanent,
    /// Something outside the plugin failed transiently (Radist's rate limit, a retryable
    /// upstream error): a new attempt may succeed, not before `after`.
    Transient { after: Duration },
    /// The plugin's own send budget (`capabilities.messages.per_minute`) is spent for `wait`:
    /// the run should wait for it, and waiting is not an attempt.
    Budget { wait: Duration },
}

impl RetryClass {
    /// `permanent`, `transient` or `budget`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RetryClass::Permanent => "permanent",
            RetryClass::Transient { .. } => "transient",
            RetryClass::Budget { .. } => "budget",
        }
    }

    /// The wait this class asks for (zero for permanent errors).
    pub fn wait(&self) -> Duration {
        match self {
            RetryClass::Permanent => Duration::ZERO,
            RetryClass::Transient { after } => *after,
            RetryClass::Budget { wait } => *wait,
        }
    }
}

/// A failed host call: what the guest was told, for people, and its retry class, for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    pub message: String,
    pub retry: RetryClass,
}

/// Why a run trapped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapCause {
    /// The guest trapped by itself (unreachable, a panic, a bad memory access, a
    /// non-deterministic action sequence) or handed the host data it could not lift.
    Guest,
    /// A limit ended the run; `key` is the manifest or config key that sets it, e.g.
    /// `limits.memory_mib`.
    Limit { key: &'static str },
    /// The action journal could not be read or written: the run stopped rather than risk a
    /// duplicate; a new attempt may succeed.
    JournalUnavailable,
    /// The host itself failed during the run (see the host log).
    HostPanic,
    /// The plugin's code could not be linked at its first run (loaded lazily from the compiled
    /// cache, which lost it since, and recompiling failed too); every run of this loaded plugin
    /// ends so until it is reloaded, so retrying the run cannot help.
    CodeUnavailable,
}

impl TrapCause {
    /// `guest`, `limit`, `journal`, `host` or `code`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TrapCause::Guest => "guest",
            TrapCause::Limit { .. } => "limit",
            TrapCause::JournalUnavailable => "journal",
            TrapCause::HostPanic => "host",
            TrapCause::CodeUnavailable => "code",
        }
    }
}

/// A trapped run: the cause, for the host, and the message, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    pub cause: TrapCause,
    pub message: String,
}

impl Trap {
    pub(crate) fn new(cause: TrapCause, message: impl Into<String>) -> Self {
        Trap {
            cause,
            message: message.into(),
        }
    }
}

/// How an action an earlier attempt left without a result was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reconciliation {
    /// Found delivered: answered from what the earlier attempt did, not done again.
    Delivered,
    /// Looked for and not found: done again.
    NotFound,
    /// Could not be known; the decision text says what was done.
    Unknown,
}

impl Reconciliation {
    /// The metric label: `delivered`, `not found in the chat` or `outcome unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reconciliation::Delivered => "delivered",
            Reconciliation::NotFound => "not found in the chat",
            Reconciliation::Unknown => "outcome unknown",
        }
    }
}

/// A host error that ends the run because a limit was hit; the trap's cause names `key`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct LimitHit {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl LimitHit {
    pub(crate) fn error(key: &'static str, message: String) -> wasmtime::Error {
        wasmtime::Error::new(LimitHit { key, message })
    }
}
