//! Events and runs that tests and benches write straight into a store (`Store::ingest`), for
//! history without a webhook: a manual event, and a run with one attempt.

use chrono::Utc;
use switchboard_store::{NewEvent, NewRun};

/// A manual event received now, its payload stored as a manual run's is:
/// `{"source": "manual", "payload": <payload>}`.
pub fn manual_event(dedupe_key: String, payload: &str) -> NewEvent {
    let payload = serde_json::json!({ "source": "manual", "payload": payload });
    NewEvent {
        dedupe_key,
        kind: "manual".to_owned(),
        connection_id: None,
        chat_id: None,
        payload: payload.to_string(),
        received_at: Utc::now(),
    }
}

/// A run of `plugin` in `lane` that gets one attempt, started by `origin` (`manual`, `webhook`).
pub fn one_attempt(plugin: &str, lane: String, origin: &str) -> NewRun {
    NewRun {
        plugin: plugin.to_owned(),
        lane,
        max_attempts: 1,
        origin: origin.to_owned(),
    }
}
