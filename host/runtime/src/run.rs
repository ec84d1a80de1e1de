//! What a run takes ([`RunInput`]) and gives back ([`RunOutcome`]), and how a finished call
//! becomes a [`RunStatus`].

use std::time::Duration;

use crate::event::{PluginEvent, RunInfo};
use crate::journal::{Completion, JournalError};
use crate::logs::LogLine;
use crate::outcome::{LimitHit, Trap, TrapCause};
use crate::recorder::ActionRecord;
use crate::redact::Redactor;

/// One run of one plugin.
#[derive(Debug, Clone)]
pub struct RunInput {
    pub event: PluginEvent,
    pub run: RunInfo,
    /// Answer Radist actions with synthetic results instead of calling Radist.
    pub dry_run: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    /// The plugin returned `err(message)`.
    Failed(String),
    /// The guest trapped (memory limit, stack overflow, unreachable, `limits.max_host_calls`, a
    /// host call lifting too much data), the journal was unavailable, or the host failed during
    /// the run (`host error: …`); the [`TrapCause`] says which.
    Trapped(Trap),
    /// The run exceeded `limits.timeout_ms` (epoch deadline or wall clock).
    TimedOut,
    /// The run attempted something its manifest does not grant (first refusal).
    Denied(String),
}

impl RunStatus {
    /// `succeeded`, `failed`, `trapped`, `timed-out` or `denied`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed(_) => "failed",
            RunStatus::Trapped(_) => "trapped",
            RunStatus::TimedOut => "timed-out",
            RunStatus::Denied(_) => "denied",
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// Every host call, in order.
    pub actions: Vec<ActionRecord>,
    /// The run's journal completions not yet written, when its journal
    /// [`defers`](crate::Journal::defers) them: the caller writes them with the run's end (the
    /// service, in `finish`'s transaction). Empty otherwise.
    pub ledger: Vec<Completion>,
    pub logs: Vec<LogLine>,
    /// Whether the log hit `limits.log_bytes` (the last line says how much was dropped).
    pub logs_truncated: bool,
    /// Whole run: store, instantiation, call.
    pub duration: Duration,
    /// Store creation plus instantiation, for overhead benchmarks.
    pub instantiate: Duration,
    /// The most linear memory the run's store held at once (all memories), in bytes.
    pub peak_memory_bytes: u64,
}

/// How the `handle` call ended, before denial is taken into account.
pub(crate) enum CallEnd {
    Returned(Result<(), String>),
    Error(wasmtime::Error),
    WallClockTimeout,
}

/// Maps the call's end and the run's first refusal to a status. A plugin's error message is
/// redacted and then cut to [`MAX_STATUS_MESSAGE_BYTES`], in that order, so a secret straddling
/// the cut leaves no prefix behind.
pub(crate) fn status(end: CallEnd, denied: Option<String>, redactor: &Redactor) -> RunStatus {
    let base = match end {
        CallEnd::Returned(Ok(())) => RunStatus::Succeeded,
        CallEnd::Returned(Err(message)) => {
            RunStatus::Failed(redactor.redact_then_cut(&message, MAX_STATUS_MESSAGE_BYTES))
        }
        CallEnd::WallClockTimeout => RunStatus::TimedOut,
        CallEnd::Error(err) => trap_status(&err),
    };
    match (base, denied) {
        (s @ (RunStatus::Trapped(_) | RunStatus::TimedOut), _) => s,
        (_, Some(message)) => RunStatus::Denied(message),
        (s, None) => s,
    }
}

/// The most bytes of a plugin's error message kept in the run's status; the rest is dropped, so
/// a plugin returning megabytes cannot bloat the run history.
pub(crate) const MAX_STATUS_MESSAGE_BYTES: usize = 4096;

/// wasmtime's words when a host call (or `handle`'s result) lifts more than the store's
/// hostcall fuel. Its error type is private, so this one comparison with the pinned wasmtime's
/// text is the only way to tell; `a_lift_past_the_fuel_names_memory_mib` fails if it changes.
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

fn trap_status(err: &wasmtime::Error) -> RunStatus {
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => RunStatus::TimedOut,
            wasmtime::Trap::StackOverflow => RunStatus::Trapped(Trap::new(
                TrapCause::Guest,
                "stack overflow: the plugin recursed too deeply",
            )),
            other => RunStatus::Trapped(Trap::new(TrapCause::Guest, format!("wasm trap: {other}"))),
        };
    }
    RunStatus::Trapped(host_trap(err))
}

/// A trap raised by the host (a limit, the journal) or by wasmtime while copying data.
fn host_trap(err: &wasmtime::Error) -> Trap {
    if let Some(limit) = err.downcast_ref::<LimitHit>() {
        return Trap::new(TrapCause::Limit { key: limit.key }, limit.message.clone());
    }
    if err.downcast_ref::<JournalError>().is_some() {
        return Trap::new(TrapCause::JournalUnavailable, err.root_cause().to_string());
    }
    let message = err.root_cause().to_string();
    if message.contains(HOSTCALL_FUEL_EXHAUSTED) {
        return Trap::new(
            TrapCause::Limit {
                key: "limits.memory_mib",
            },
            format!(
                "the plugin passed more data in one host call (or its result) than the host copies per call, which follows `limits.memory_mib`; pass less at once or raise `limits.memory_mib` ({message})"
            ),
        );
    }
    Trap::new(TrapCause::Guest, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(end: CallEnd, denied: Option<String>) -> RunStatus {
        super::status(end, denied, &Redactor::default())
    }

    #[test]
    fn a_secret_across_the_cut_leaves_no_prefix_behind() {
        let secret = "tok-abcdefghijklmnop";
        let mut secrets = std::collections::BTreeMap::new();
        secrets.insert("t".to_owned(), secret.to_owned());
        let redactor = Redactor::new(&secrets);
        let message = format!(
            "{}{secret} and more",
            "x".repeat(MAX_STATUS_MESSAGE_BYTES - 5)
        );
        let cut = super::status(CallEnd::Returned(Err(message)), None, &redactor);
        let RunStatus::Failed(text) = cut else {
            panic!("failed")
        };
        assert!(!text.contains("tok-a"), "{}", &text[text.len() - 80..]);
    }

    #[test]
    fn long_failure_messages_are_cut_on_a_char_boundary() {
        let long = "я".repeat(MAX_STATUS_MESSAGE_BYTES);
        let RunStatus::Failed(message) = status(CallEnd::Returned(Err(long)), None) else {
            panic!("expected failed");
        };
        assert!(
            message.len() < MAX_STATUS_MESSAGE_BYTES + 64,
            "{}",
            message.len()
        );
        assert!(message.ends_with(" bytes cut)"), "{message}");
        let short = status(CallEnd::Returned(Err("bad config".into())), None);
        assert_eq!(short, RunStatus::Failed("bad config".into()));
    }

    #[test]
    fn denial_wins_over_success_and_failure_but_not_traps() {
        let denied = || Some("no".to_owned());
        let ok = status(CallEnd::Returned(Ok(())), denied());
        assert_eq!(ok, RunStatus::Denied("no".into()));
        let failed = status(CallEnd::Returned(Err("x".into())), denied());
        assert_eq!(failed, RunStatus::Denied("no".into()));
        assert_eq!(
            status(CallEnd::WallClockTimeout, denied()),
            RunStatus::TimedOut
        );
        let trap = wasmtime::Error::new(wasmtime::Trap::UnreachableCodeReached);
        assert!(matches!(
            status(CallEnd::Error(trap), denied()),
            RunStatus::Trapped(Trap {
                cause: TrapCause::Guest,
                ..
            })
        ));
        assert_eq!(
            status(CallEnd::Returned(Ok(())), None),
            RunStatus::Succeeded
        );
    }

    #[test]
    fn trap_causes_come_from_the_error_types_not_their_words() {
        let cause = |err: wasmtime::Error| match status(CallEnd::Error(err), None) {
            RunStatus::Trapped(trap) => trap.cause,
            other => panic!("expected a trap, got {other:?}"),
        };
        let journal = wasmtime::Error::from(JournalError("anything at all".to_owned()));
        assert_eq!(cause(journal), TrapCause::JournalUnavailable);
        let limit = LimitHit::error("limits.max_host_calls", "worded any way".to_owned());
        assert_eq!(
            cause(limit),
            TrapCause::Limit {
                key: "limits.max_host_calls"
            }
        );
        let other = wasmtime::Error::msg("action journal: looks like the journal, is not");
        assert_eq!(cause(other), TrapCause::Guest);
    }

    #[test]
    fn interrupts_are_timeouts() {
        let trap = wasmtime::Error::new(wasmtime::Trap::Interrupt);
        assert_eq!(status(CallEnd::Error(trap), None), RunStatus::TimedOut);
    }
}
