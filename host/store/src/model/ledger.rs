//! The action ledger: two-phase records of effectful host calls, keyed by (run, seq).

use crate::ids::RunId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The intent of an effectful call, made durable before the request leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerIntent {
    pub run_id: RunId,
    pub seq: u32,
    /// `messages.send`, `chats.create`, `files.upload`, `http.send`...
    pub kind: String,
    /// Keyed fingerprint of the request: a retry that asks for something else is a mismatch.
    pub fingerprint: String,
    /// Request summary as JSON.
    pub request: String,
    /// (connection id, chat id) the call targets, for echo detection.
    pub chat: Option<(i64, i64)>,
    /// `intent_at` in JSON, as in the ledger's table and the admin API's run view.
    #[serde(rename = "intent_at")]
    pub at: DateTime<Utc>,
}

/// The result of an intent's call, recorded by `ledger_complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerResult {
    pub run_id: RunId,
    pub seq: u32,
    /// The call's answer as JSON, given back to a retry instead of repeating the call.
    pub result: String,
    /// The id of what the call made (e.g. a Radist message id), for echo detection.
    pub effect_id: Option<String>,
}

/// A ledger write that rides in a later transaction of its run instead of one of its own: the
/// run's next durable intent (`ledger_begin_after`) or its `finish` (`finish_recorded`). Only what
/// may be lost in a crash is deferred: a lost result leaves its intent pending, which a retry
/// reconciles; a lost whole record is an action a retry simply does again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// The intent, for an action whose intent was not recorded before it ran (one that is local,
    /// or safe to repeat): written together with its result unless (run, seq) is already known,
    /// in which case the record is dropped and the earlier one kept. `None` for the result of an
    /// intent `ledger_begin` recorded, which must exist (`NotFound` otherwise).
    pub intent: Option<LedgerIntent>,
    pub done: LedgerResult,
}

impl LedgerRecord {
    /// The records that complete an intent already recorded: what a refused `finish` still
    /// writes, since they say what happened outside (an attempt that lost its run to recovery
    /// still sent its message). Whole records are dropped: the newer attempt's own stand.
    pub fn results_only(records: &[LedgerRecord]) -> Vec<LedgerRecord> {
        records
            .iter()
            .filter(|r| r.intent.is_none())
            .cloned()
            .collect()
    }
}

/// What `ledger_begin` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerBegin {
    /// No earlier record: the intent is now durable; perform the call.
    Fresh,
    /// Done before: answer with this result instead of repeating the call.
    Completed {
        result: String,
        effect_id: Option<String>,
    },
    /// An earlier intent has no result (crash, timeout, ambiguous error): reconcile first.
    Pending { intent_at: DateTime<Utc> },
    /// The earlier record asked for something else: the plugin is not deterministic.
    Mismatch {
        recorded_fingerprint: String,
        kind: String,
    },
}

/// A ledger row as stored: the intent, and what became of it (one JSON object, the intent's
/// fields beside the result's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    #[serde(flatten)]
    pub intent: LedgerIntent,
    /// `None` while the intent is pending.
    pub result: Option<String>,
    pub effect_id: Option<String>,
    pub decision: Option<String>,
}
