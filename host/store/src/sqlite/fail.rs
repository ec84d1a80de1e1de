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

/// Shared conversions (see `crate::convert`), with errors as this backend's [`Fail`].
pub(crate) use crate::convert::{kv_page, page, to_i64, to_u32, to_u64, to_us};

/// A stored time back; out-of-range values are reported as corrupt, never a panic.
pub(crate) fn from_us(us: i64) -> Res<DateTime<Utc>> {
    Ok(crate::convert::from_us(us)?)
}

/// `from_us` for nullable columns.
pub(crate) fn opt_from_us(us: Option<i64>) -> Res<Option<DateTime<Utc>>> {
    Ok(crate::convert::opt_from_us(us)?)
}

/// Decodes a stored status name.
pub(crate) fn parse_status<T: std::str::FromStr>(what: &'static str, s: &str) -> Res<T> {
    Ok(crate::convert::parse_status(what, s)?)
}
