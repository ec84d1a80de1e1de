//! Internal error plumbing: SQL functions return [`Fail`], which `?` builds from either a
//! rusqlite error or a [`StoreError`], and which becomes a [`StoreError`] at the trait boundary
//! (so rusqlite never appears in the public API). Also the time conversions every table uses.

use crate::error::StoreError;
use crate::fail::DriverError;
use rusqlite::ErrorCode;

/// An internal failure: SQLite's own error or a store-level refusal.
pub(crate) type Fail = crate::fail::Fail<rusqlite::Error>;

/// Result of the SQL functions.
pub(crate) type Res<T> = Result<T, Fail>;

impl DriverError for rusqlite::Error {
    fn to_store(&self) -> StoreError {
        sql_error(self)
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

/// Shared conversions (see `crate::convert`); `?` turns their [`StoreError`] into a [`Fail`].
pub(crate) use crate::convert::{
    from_us, kv_page, opt_from_us, page, parse_status, to_i64, to_u32, to_u64, to_us,
};
