//! Internal error plumbing: SQL functions return [`Fail`], which `?` builds from either a
//! rusqlite error or a [`StoreError`], and which becomes a [`StoreError`] at the trait boundary
//! (so rusqlite never appears in the public API). Also the time conversions every table uses.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::ErrorCode;

/// An internal failure: SQLite's own error or a store-level refusal.
#[derive(Debug)]
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Store(StoreError),
}

/// Result of the SQL functions.
pub(crate) type Res<T> = Result<T, Fail>;

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Store(e) => e,
            Fail::Sql(e) => sql_error(&e),
        }
    }
}

/// Maps SQLite's error codes: the ones that mean "cannot write now" become `Unavailable`.
pub(crate) fn sql_error(e: &rusqlite::Error) -> StoreError {
    let unavailable = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::PermissionDenied
                | ErrorCode::OutOfMemory
        )
    );
    if unavailable {
        StoreError::Unavailable {
            reason: e.to_string(),
        }
    } else {
        StoreError::Database {
            message: e.to_string(),
        }
    }
}

/// A time as stored: microseconds since the Unix epoch.
pub(crate) fn to_us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time back; out-of-range values are reported as corrupt, never a panic.
pub(crate) fn from_us(us: i64) -> Res<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| {
        Fail::Store(StoreError::Corrupt {
            what: "timestamp",
            detail: format!("{us} µs is out of range"),
        })
    })
}

/// `from_us` for nullable columns.
pub(crate) fn opt_from_us(us: Option<i64>) -> Res<Option<DateTime<Utc>>> {
    us.map(from_us).transpose()
}

/// A caller's unsigned number as SQLite's signed integer (saturating, never wrapping).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored integer as an unsigned one (negative values, which we never write, read as 0).
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A stored integer as a `u32` (saturating).
pub(crate) fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Decodes a stored status name.
pub(crate) fn parse_status<T: std::str::FromStr>(what: &'static str, s: &str) -> Res<T> {
    s.parse().map_err(|_| {
        Fail::Store(StoreError::Corrupt {
            what,
            detail: format!("unknown value `{s}`"),
        })
    })
}

/// A caller's page size as a SQL `LIMIT`, cut to [`MAX_PAGE`](crate::MAX_PAGE).
pub(crate) fn page(limit: usize) -> i64 {
    to_i64(limit.min(crate::MAX_PAGE) as u64)
}
