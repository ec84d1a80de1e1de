//! History: what happened to events and runs, for the CLI and the admin API.

use crate::ids::{EventId, RunId};
use crate::model::dispatch::FinishedAttempt;
use crate::model::intake::NewEvent;
use crate::model::ledger::LedgerEntry;
use crate::status::RunStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The largest page any history list (runs, events, quarantine) returns; larger limits are cut
/// to it. List rows carry no payloads, so a page stays small (detail views carry them).
pub const MAX_PAGE: usize = 500;

/// Which runs to list (newest first). Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFilter {
    pub plugin: Option<String>,
    pub status: Option<RunStatus>,
    /// Runs created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// (connection id, chat id) of the run's event.
    pub chat: Option<(i64, i64)>,
    /// The kind of the run's event (its trigger), e.g. `message.received`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Runs created before this time.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    /// Words the run's event payload holds, all of them (see [`crate::search`]); a text without
    /// a letter or digit matches nothing.
    #[serde(default)]
    pub text: Option<String>,
    /// At most this many (cut to [`MAX_PAGE`]; 0 returns nothing).
    pub limit: usize,
    /// Only runs older than this one (paging).
    pub before: Option<RunId>,
}

/// Which events to list (newest first). Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    pub kind: Option<String>,
    pub chat: Option<(i64, i64)>,
    /// Events received at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
    pub before: Option<EventId>,
}

/// A run as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: RunId,
    pub event_id: EventId,
    pub plugin: String,
    pub lane: String,
    pub status: RunStatus,
    /// Attempts started so far.
    pub attempt: u32,
    pub max_attempts: u32,
    pub origin: String,
    pub is_replay: bool,
    pub event_kind: String,
    pub connection_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a `retrying` run becomes claimable again.
    pub not_before: Option<DateTime<Utc>>,
    /// The node running it, or that ran its last attempt.
    pub node: Option<String>,
    /// The last attempt's error, or the reason it went `dead`.
    pub error: Option<String>,
}

/// An event as listed: everything but its payload (`get_event` has it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: EventId,
    pub dedupe_key: String,
    pub kind: String,
    pub connection_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub received_at: DateTime<Utc>,
}

/// A stored event: its id and the event as ingested (one JSON object, the event's fields beside
/// `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    #[serde(flatten)]
    pub event: NewEvent,
}

/// A run with its event, every attempt and its ledger entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunSummary,
    pub event: EventRecord,
    pub attempts: Vec<FinishedAttempt>,
    pub ledger: Vec<LedgerEntry>,
}

/// An event with its runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    pub event: EventRecord,
    pub runs: Vec<RunSummary>,
}

/// How many runs one status holds under a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: RunStatus,
    pub runs: u64,
}

/// Run counts per status among the newest runs only (see `History::count_recent_runs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentCounts {
    pub counts: Vec<StatusCount>,
    /// How many of the newest runs were looked at.
    pub window: u64,
    /// No older run exists: the counts are those of every stored run.
    pub complete: bool,
}

impl RecentCounts {
    pub(crate) fn new(counts: Vec<StatusCount>, window: u64, complete: bool) -> Self {
        Self {
            counts,
            window,
            complete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ledger::LedgerIntent;
    use serde_json::json;

    /// The admin API serves these views as JSON: nesting the event and the intent in the types
    /// leaves each one a single flat object, with the keys it always had.
    #[test]
    fn stored_events_and_ledger_rows_read_as_flat_json() {
        let at = DateTime::UNIX_EPOCH;
        let event = EventRecord {
            id: EventId(7),
            event: NewEvent {
                dedupe_key: "k".into(),
                kind: "message.received".into(),
                connection_id: Some(70001),
                chat_id: None,
                payload: "{}".into(),
                received_at: at,
            },
        };
        let entry = LedgerEntry {
            intent: LedgerIntent {
                run_id: RunId(3),
                seq: 2,
                kind: "messages.send".into(),
                fingerprint: "f".into(),
                request: "{}".into(),
                chat: Some((70001, 5)),
                at,
            },
            result: None,
            effect_id: Some("m1".into()),
            decision: None,
        };
        let event_json = serde_json::to_value(&event).expect("serializes");
        let entry_json = serde_json::to_value(&entry).expect("serializes");
        for (value, want) in [
            (
                &event_json,
                "chat_id connection_id dedupe_key id kind payload received_at",
            ),
            (
                &entry_json,
                "chat decision effect_id fingerprint intent_at kind request result run_id seq",
            ),
        ] {
            let mut keys: Vec<&str> = value
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.as_str())
                .collect();
            keys.sort_unstable();
            assert_eq!(keys.join(" "), want);
        }
        assert_eq!(event_json["id"], json!(7));
        let event_back: Option<EventRecord> = serde_json::from_value(event_json).ok();
        assert_eq!(event_back, Some(event));
        let entry_back: Option<LedgerEntry> = serde_json::from_value(entry_json).ok();
        assert_eq!(entry_back, Some(entry));
    }
}
