//! Dispatch: claiming runs lane by lane and recording how their attempts ended.

use crate::ids::{EventId, RunId};
use crate::status::AttemptStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A run handed to a dispatcher by `claim`: it is now `running` on that node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedRun {
    pub run_id: RunId,
    pub event_id: EventId,
    pub plugin: String,
    pub lane: String,
    /// The number of this attempt, from 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub is_replay: bool,
    pub origin: String,
    pub event_kind: String,
    pub connection_id: Option<i64>,
    pub chat_id: Option<i64>,
    /// The event's JSON payload as stored.
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// How one attempt ended, with what it did: what `finish` records, and what `get_run` reads back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedAttempt {
    /// For `finish`, the attempt number `claim` handed out (a stale attempt is refused).
    pub attempt: u32,
    pub status: AttemptStatus,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_us: u64,
    pub node: String,
    pub plugin_digest: Option<String>,
    pub actions: Vec<ActionRow>,
    pub logs: Vec<LogRow>,
}

/// One host call an attempt made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRow {
    pub seq: u32,
    pub kind: String,
    /// Request summary as JSON.
    pub request: String,
    /// Outcome as JSON.
    pub outcome: String,
    pub latency_us: u64,
    /// Answered from the ledger instead of being performed again.
    pub replayed: bool,
    /// The reconciliation decision, when there was one.
    pub decision: Option<String>,
}

/// One log line a plugin (or the host on its behalf) wrote during an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRow {
    pub level: String,
    /// `plugin` or `host`.
    pub source: String,
    pub message: String,
}

/// What happens to the run after this attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Next {
    /// The run ends with the attempt's status.
    Final,
    /// The run waits (`retrying`) and becomes claimable again at `not_before`, still at the head
    /// of its lane.
    Retry { not_before: DateTime<Utc> },
    /// Like `Retry`, but the attempt does not count: the run waited for something that is not
    /// a failure (the plugin's own send budget). The attempt is recorded under its number, and
    /// the next claim hands out the same number again (overwriting that record).
    Defer { not_before: DateTime<Utc> },
    /// The run ends `dead` (attempts exhausted, or a permanent error).
    Dead { reason: String },
}

/// How many runs are unfinished, and since when the longest-waiting claimable one waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    pub queued: u64,
    pub running: u64,
    pub retrying: u64,
    /// When the claimable lane head first in arrival order became queued: the run that has
    /// waited longest for a worker (runs queued behind their own lane's head do not count);
    /// `None` when no lane head is claimable. Intake's backpressure bounds `now` minus this.
    pub oldest_ready_at: Option<DateTime<Utc>>,
}

/// The attempt recorded for a claimed run whose stored event cannot be read: `failed` with the
/// cause, never started. The backends record it instead of handing the run out.
pub(crate) fn unreadable_attempt(
    attempt: u32,
    node: &str,
    now: DateTime<Utc>,
    cause: &crate::StoreError,
) -> FinishedAttempt {
    FinishedAttempt {
        attempt,
        status: AttemptStatus::Failed,
        error: Some(format!(
            "the run's event cannot be read, so the run never started: {cause}"
        )),
        started_at: now,
        duration_us: 0,
        node: node.to_owned(),
        plugin_digest: None,
        actions: Vec::new(),
        logs: Vec::new(),
    }
}
