//! Conversions every backend shares between the trait's types and stored columns: times as
//! microseconds since the Unix epoch, unsigned counts as signed 64-bit integers, status names,
//! page sizes. Reading never panics: a value out of range is `StoreError::Corrupt`.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::dispatch::{FinishedAttempt, Next};
use crate::status::RunStatus;

/// A time as stored: microseconds since the Unix epoch.
pub(crate) fn to_us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time back; out-of-range values are reported as corrupt, never a panic.
pub(crate) fn from_us(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt {
        what: "timestamp",
        detail: format!("{us} µs is out of range"),
    })
}

/// `from_us` for nullable columns.
pub(crate) fn opt_from_us(us: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    us.map(from_us).transpose()
}

/// A caller's unsigned number as a signed 64-bit integer (saturating, never wrapping).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored integer as an unsigned one (negative values, which are never written, read as 0).
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A stored integer as a `u32` (saturating).
pub(crate) fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// `now` and the end of a lease of `lease` from it, as stored (µs; the end saturates).
pub(crate) fn lease_span(now: DateTime<Utc>, lease: std::time::Duration) -> (i64, i64) {
    let now_us = to_us(now);
    let lease_us = to_i64(u64::try_from(lease.as_micros()).unwrap_or(u64::MAX));
    (now_us, now_us.saturating_add(lease_us))
}

/// Decodes a stored status name.
pub(crate) fn parse_status<T: std::str::FromStr>(
    what: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("unknown value `{s}`"),
    })
}

/// A caller's page size as a SQL `LIMIT`, cut to [`MAX_PAGE`](crate::MAX_PAGE).
pub(crate) fn page(limit: usize) -> i64 {
    to_i64(limit.min(crate::MAX_PAGE) as u64)
}

/// The most keys one `kv_list` returns (plugins page through larger namespaces by prefix).
pub(crate) const MAX_KV_LIST: usize = 10_000;

/// A `kv_list` limit as a SQL `LIMIT`, cut to [`MAX_KV_LIST`].
pub(crate) fn kv_page(limit: usize) -> i64 {
    to_i64(limit.min(MAX_KV_LIST) as u64)
}

/// A run's columns after one of its attempts ended: what `finish` writes in either backend.
pub(crate) struct RunAfter {
    pub status: RunStatus,
    /// When a waiting run becomes claimable again, µs.
    pub not_before: Option<i64>,
    pub error: Option<String>,
    /// When the attempt ended (its start plus its duration), µs.
    pub updated_at: i64,
    /// 1 when the attempt does not count (a deferral hands the same number out again).
    pub uncounted: i64,
}

impl RunAfter {
    /// Where the attempt `a` leaves its run when `next` follows.
    pub(crate) fn of(a: &FinishedAttempt, next: &Next) -> Self {
        let took = chrono::TimeDelta::microseconds(to_i64(a.duration_us));
        let ended = a
            .started_at
            .checked_add_signed(took)
            .unwrap_or(a.started_at);
        let (status, not_before, error) = match next {
            Next::Final => (a.status.final_run_status(), None, a.error.clone()),
            Next::Retry { not_before } | Next::Defer { not_before } => (
                RunStatus::Retrying,
                Some(to_us(*not_before)),
                a.error.clone(),
            ),
            Next::Dead { reason } => (RunStatus::Dead, None, Some(reason.clone())),
        };
        let uncounted = i64::from(matches!(next, Next::Defer { .. }));
        Self {
            status,
            not_before,
            error,
            updated_at: to_us(ended),
            uncounted,
        }
    }
}

/// Refuses the result of an attempt its run is not running now (`status` at `attempt`): a
/// stale or repeated finish is dropped, never recorded twice.
pub(crate) fn check_running(
    run: RunId,
    status: RunStatus,
    attempt: i64,
    a: &FinishedAttempt,
) -> Result<(), StoreError> {
    if status == RunStatus::Running && attempt == i64::from(a.attempt) {
        return Ok(());
    }
    let msg = format!(
        "run {run} is {status} at attempt {attempt}, not running attempt {}; drop this result",
        a.attempt
    );
    Err(StoreError::conflict(msg))
}
