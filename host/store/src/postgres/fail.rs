//! Internal error plumbing for the PostgreSQL backend: SQL functions return [`Fail`] (a
//! tokio-postgres error or a [`StoreError`]), which becomes a [`StoreError`] at the trait
//! boundary. Also the small conversions every table uses and the query helpers.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// An internal failure: PostgreSQL's own error or a store-level refusal.
#[derive(Debug)]
pub(crate) enum Fail {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

/// Result of the SQL functions.
pub(crate) type Res<T> = Result<T, Fail>;

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
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
            Fail::Pg(e) => pg_error(&e),
        }
    }
}

impl Fail {
    /// A deadlock or serialization failure: the whole transaction may simply be run again.
    pub(crate) fn is_retryable(&self) -> bool {
        let Fail::Pg(e) = self else { return false };
        matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        )
    }
}

/// Maps PostgreSQL errors: lost connections, resource shortages, shutdowns, read-only servers
/// and lock conflicts become `Unavailable`; anything else is a `Database` error.
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        if e.is_closed() || io {
            return StoreError::Unavailable {
                reason: format!("postgresql connection: {e}"),
            };
        }
        return StoreError::Database {
            message: format!("postgresql client: {e}"),
        };
    };
    let code = db.code().code();
    let unavailable = ["08", "53", "57", "40", "55"]
        .iter()
        .any(|class| code.starts_with(class))
        || code == SqlState::READ_ONLY_SQL_TRANSACTION.code();
    let text = format!("{} ({code})", db.message());
    if unavailable {
        StoreError::Unavailable { reason: text }
    } else {
        StoreError::Database { message: text }
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

/// Runs a (cached) statement and returns its rows.
pub(crate) async fn rows(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Res<Vec<Row>> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, p).await?)
}

/// Runs a (cached) statement that returns at most one row.
pub(crate) async fn opt(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Res<Option<Row>> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, p).await?)
}

/// Runs a (cached) statement that returns exactly one row.
pub(crate) async fn one(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Res<Row> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_one(&stmt, p).await?)
}

/// Runs a (cached) statement and returns how many rows it changed.
pub(crate) async fn exec(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Res<u64> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, p).await?)
}

/// Reads a column, mapping a type mismatch to a store error instead of a panic.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Res<T> {
    Ok(row.try_get(i)?)
}
