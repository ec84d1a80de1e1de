//! Intake: events, the runs they queue, and quarantined requests.

use crate::ids::{EventId, QuarantineId, RunId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A normalized event to store. Callers bound every field; the store keeps them as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique per event: a second event with the same key is a duplicate delivery.
    pub dedupe_key: String,
    /// `message.received`, `schedule.fired`, `manual`, `unsupported`...
    pub kind: String,
    pub connection_id: Option<i64>,
    pub chat_id: Option<i64>,
    /// The normalized event as JSON, stored as given.
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// A run to queue for an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRun {
    pub plugin: String,
    /// Opaque lane key chosen by the caller: runs of one lane execute one at a time, in order.
    pub lane: String,
    pub max_attempts: u32,
    /// `webhook`, `schedule`, `manual`, `replay`...
    pub origin: String,
}

/// What `ingest` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingested {
    pub event_id: EventId,
    /// True when the dedupe key was already stored: nothing was created and `event_id` is the
    /// first event's id.
    pub duplicate: bool,
    /// The queued runs, in the order of the `NewRun`s given (empty for a duplicate).
    pub run_ids: Vec<RunId>,
}

/// A request intake could not decode, kept so nothing is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewQuarantine {
    pub received_at: DateTime<Utc>,
    pub reason: String,
    /// The request headers as JSON.
    pub headers: String,
    pub body: Vec<u8>,
}

/// A quarantined request as listed (without its body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineSummary {
    pub id: QuarantineId,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub body_len: u64,
}

/// A quarantined request in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub id: QuarantineId,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub headers: String,
    pub body: Vec<u8>,
}
