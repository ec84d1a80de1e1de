//! Schedules, retention and database operations.

use crate::status::RunStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A schedule's persisted state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    pub schedule_key: String,
    /// The newest slot that fired.
    pub last_slot: Option<DateTime<Utc>>,
    /// Slots that fired (caught-up ones included).
    pub fired: u64,
    /// Of those, the ones fired late by catch-up.
    pub caught_up: u64,
    /// Slots skipped by the overlap policy.
    pub skipped: u64,
    /// Slots missed while down and not caught up.
    pub missed: u64,
}

/// How long finished runs are kept, per final status. Statuses not listed are kept forever;
/// unfinished statuses are never purged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub max_age: BTreeMap<RunStatus, Duration>,
}

impl RetentionPolicy {
    /// The instant before which a node that left (or whose lease ran out) is forgotten: the
    /// longest age the policy keeps runs. `None` (keep every node) when the policy keeps nothing
    /// for a limited time.
    pub fn forget_nodes_before(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let longest = self.max_age.values().max()?;
        let age = chrono::TimeDelta::from_std(*longest).ok()?;
        now.checked_sub_signed(age)
    }
}

/// Size figures of the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbStats {
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub page_size: u64,
    pub page_count: u64,
    pub free_pages: u64,
    /// (table, rows), sorted by table name.
    pub rows: Vec<(String, u64)>,
}
