//! Read models the dashboard needs in one bounded query each: what is known of every
//! connection, and everything that happened in one chat.

use crate::model::history::{EventRecord, RunSummary};
use crate::model::ledger::LedgerEntry;
use serde::{Deserialize, Serialize};

/// The event kind a connection's status change is stored as.
pub const CONNECTION_STATUS_KIND: &str = "connection.status-changed";

/// A connection as its stored events show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionActivity {
    pub connection_id: i64,
    /// Its newest event, with the payload (which names the messenger when intake knew it).
    pub last_event: EventRecord,
    /// Its newest [`CONNECTION_STATUS_KIND`] event, if one is kept.
    pub last_status: Option<EventRecord>,
}

/// Failed runs of one connection that ended with one error (the error's first
/// [`FAILURE_ERROR_CHARS`] characters; a run without an error counts under its status name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionFailures {
    pub connection_id: i64,
    pub error: String,
    pub runs: u64,
}

/// Characters of an error that group failed runs: one more than the dashboard shows, so a
/// clipped error is still shown as clipped.
pub const FAILURE_ERROR_CHARS: usize = 201;

/// The run statuses that count as failures: `failed`, `trapped`, `timed-out`, `denied`, `dead`.
pub const FAILURE_STATUSES: &str = "('failed', 'trapped', 'timed-out', 'denied', 'dead')";

/// One chat's newest events (with payloads), its newest runs and their ledger entries, each
/// newest first and bounded by the query's limit (the ledger by the runs it covers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTimeline {
    pub events: Vec<EventRecord>,
    pub runs: Vec<RunSummary>,
    /// By run (newest first), then by seq.
    pub ledger: Vec<LedgerEntry>,
}
