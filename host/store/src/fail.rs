//! The internal error both backends' SQL functions return: [`Fail`], which `?` builds from the
//! backend's driver error or from a [`StoreError`], and which becomes a [`StoreError`] at the
//! trait boundary (so no driver type appears in the public API). Each backend names its own
//! `Fail` (this enum over its driver's error) and says how that error maps ([`DriverError`]).

use crate::error::StoreError;

/// An internal failure: the database driver's own error or a store-level refusal.
#[derive(Debug)]
pub(crate) enum Fail<E> {
    Sql(E),
    Store(StoreError),
}

/// A database driver's error, as the store reports it at the trait boundary.
pub(crate) trait DriverError {
    /// The error as a [`StoreError`]: the ones that mean "cannot serve now" are `Unavailable`.
    fn to_store(&self) -> StoreError;
}

impl<E: DriverError> From<E> for Fail<E> {
    fn from(e: E) -> Self {
        Fail::Sql(e)
    }
}

impl<E> From<StoreError> for Fail<E> {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl<E: DriverError> From<Fail<E>> for StoreError {
    fn from(f: Fail<E>) -> Self {
        match f {
            Fail::Store(e) => e,
            Fail::Sql(e) => e.to_store(),
        }
    }
}
