//! Schedules, retention and database operations.

use crate::ids::RunId;
use crate::model::intake::{NewEvent, NewRun};
use crate::status::RunStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The store's tables, the same in both backends: what `stats` counts and a backup writes.
pub(crate) const TABLES: &[&str] = &[
    "attempts",
    "events",
    "kv",
    "lanes",
    "ledger",
    "nodes",
    "quarantine",
    "runs",
    "schedule_slots",
    "schedules",
    "uploads",
];

/// One due slot handed to [`crate::Store::fire_slots`].
#[derive(Debug, Clone)]
pub struct SlotFire {
    pub schedule_key: String,
    pub slot: DateTime<Utc>,
    /// Fired late by the catch-up policy.
    pub catch_up: bool,
    /// The overlap policy's bound: when the schedule already has this many unfinished runs
    /// (queued, running or retrying) in `run.lane`, the slot is skipped: recorded as handled
    /// without a run and counted skipped. `None` fires whatever runs. Only the lane's open runs
    /// are read (`runs_open`), never the schedule's history of slots, so a fire costs the same
    /// after a year of slots as after one. Runs fired without a bound, each in a lane of its own,
    /// are not counted.
    pub max_unfinished: Option<u64>,
    pub event: NewEvent,
    pub run: NewRun,
}

/// What became of one [`SlotFire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotFired {
    /// The slot fired: its event and run are stored.
    Fired(RunId),
    /// The overlap policy skipped it (handled, counted skipped, no run).
    Skipped,
    /// The slot (or its event's dedupe key) was already handled, here or by another node.
    Taken,
}

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
/// unfinished statuses are never purged. Quarantined requests and events that queued no run
/// (unsupported or unsubscribed events) are kept for their own ages, forever when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub max_age: BTreeMap<RunStatus, Duration>,
    /// Quarantined requests received longer ago than this are deleted.
    #[serde(default)]
    pub quarantine_max_age: Option<Duration>,
    /// Events without any run received longer ago than this are deleted (events whose runs
    /// were purged go with their last run, whatever this says).
    #[serde(default)]
    pub runless_event_max_age: Option<Duration>,
}

impl RetentionPolicy {
    /// The instant before which something kept for `age` is deleted at `now`.
    pub fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
        let age = chrono::TimeDelta::from_std(age).unwrap_or(chrono::TimeDelta::MAX);
        now.checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Each finished status the policy ages out, with the stored time (µs since the epoch)
    /// before which its runs are deleted at `now`.
    pub(crate) fn finished_cutoffs_us(
        &self,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = (RunStatus, i64)> + '_ {
        let finished = self.max_age.iter().filter(|(s, _)| !s.is_unfinished());
        finished.map(move |(status, age)| {
            let age = chrono::TimeDelta::from_std(*age).unwrap_or(chrono::TimeDelta::MAX);
            let cutoff = now.checked_sub_signed(age);
            (*status, cutoff.map_or(i64::MIN, crate::convert::to_us))
        })
    }

    /// What the policy deletes by age alone (quarantined requests, then runless events), each
    /// with the instant before which its rows go at `now`.
    pub(crate) fn aged_out(
        &self,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = (AgedOut, DateTime<Utc>)> {
        let ages = [
            (AgedOut::Quarantine, self.quarantine_max_age),
            (AgedOut::RunlessEvents, self.runless_event_max_age),
        ];
        ages.into_iter()
            .filter_map(move |(what, age)| Some((what, Self::cutoff(now, age?))))
    }

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

/// Rows retention deletes by their age alone, oldest first, a batch at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgedOut {
    /// Quarantined requests, by when they were received.
    Quarantine,
    /// Events that queued no run (or whose runs are gone), by when they were received.
    RunlessEvents,
}

/// When a committed write is on disk (`[store] durability`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// A commit is on disk before it is answered: SQLite `synchronous = FULL` (the WAL is
    /// fsynced at every commit, one fsync per group commit), PostgreSQL `synchronous_commit = on`
    /// for the work transactions. An acknowledged webhook survives a power cut.
    #[default]
    Full,
    /// A commit survives a killed process but the last ones may be lost in a power cut or an OS
    /// crash: SQLite `synchronous = NORMAL`, PostgreSQL `synchronous_commit = off`.
    Normal,
}

impl Durability {
    /// The SQLite `synchronous` setting that gives this durability in WAL mode.
    pub(crate) fn sqlite_synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }

    /// The PostgreSQL `synchronous_commit` setting of the work transactions.
    pub(crate) fn postgres_synchronous_commit(self) -> &'static str {
        match self {
            Durability::Full => "on",
            Durability::Normal => "off",
        }
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
