//! Internal error plumbing for the PostgreSQL backend: SQL functions return [`Fail`] (a
//! tokio-postgres error or a [`StoreError`]), which becomes a [`StoreError`] at the trait
//! boundary. Also the small conversions every table uses and the query helpers.

use crate::error::StoreError;
use crate::fail::DriverError;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSqlOwned, ToSql};

/// An internal failure: PostgreSQL's own error or a store-level refusal.
pub(crate) type Fail = crate::fail::Fail<tokio_postgres::Error>;

/// Result of the SQL functions.
pub(crate) type Res<T> = Result<T, Fail>;

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl DriverError for tokio_postgres::Error {
    fn to_store(&self) -> StoreError {
        pg_error(self)
    }
}

impl Fail {
    /// A deadlock or serialization failure: the whole transaction may simply be run again.
    pub(crate) fn is_retryable(&self) -> bool {
        let Fail::Sql(e) = self else { return false };
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

/// Shared conversions (see `crate::convert`); `?` turns their [`StoreError`] into a [`Fail`].
pub(crate) use crate::convert::{
    from_us, kv_page, opt_from_us, page, parse_status, to_i64, to_u32, to_u64, to_us,
};

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

/// Runs a (cached) statement that returns at most one row, and reads that row's first column.
pub(crate) async fn opt_first<T: FromSqlOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    p: Params<'_>,
) -> Res<Option<T>> {
    let row = opt(tx, sql, p).await?;
    row.map(|r| get(&r, 0)).transpose()
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
