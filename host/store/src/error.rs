//! The store's one error type, shared by every backend.

/// Everything a store operation can fail with.
///
/// Messages are lowercase and say what to do. [`StoreError::Unavailable`] is the one callers map to
/// HTTP 503: the data is fine, the database just cannot take writes (or reads) right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The disk is full, the file is read-only, locked or gone: retry later, nothing was written.
    #[error(
        "database unavailable ({reason}); free disk space or fix the file's permissions, then retry"
    )]
    Unavailable { reason: String },
    /// The database answered with an unexpected error (a bug or a damaged file).
    #[error(
        "database error: {message}; check the file with `switchboard db stats` and report this"
    )]
    Database { message: String },
    /// A stored value could not be decoded (a damaged row or a newer writer).
    #[error("stored {what} cannot be decoded: {detail}; restore from a backup or report this")]
    Corrupt { what: &'static str, detail: String },
    /// The database was written by a newer version of switchboard.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade switchboard"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// The thing named does not exist (any more).
    #[error(
        "{what} not found; list what exists with `switchboard runs list` or `switchboard events list`"
    )]
    NotFound { what: String },
    /// The request does not fit the current state (e.g. replaying a run that is still running).
    #[error("{message}")]
    Conflict { message: String },
    /// A new kv key would exceed the namespace's `max_keys`.
    #[error(
        "kv namespace `{namespace}` already holds {max_keys} keys; delete keys or raise the limit"
    )]
    KvQuota { namespace: String, max_keys: u64 },
    /// The store's worker thread has stopped (the store was shut down or crashed).
    #[error("the store has shut down; restart switchboard")]
    Closed,
    /// Opening the database failed (path, permissions, not a database).
    #[error("cannot open database `{path}`: {reason}; check the path and its permissions")]
    Open { path: String, reason: String },
}

impl StoreError {
    /// True when the caller should answer "try again later" (HTTP 503) rather than fail for good.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::Closed)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        StoreError::Conflict {
            message: message.into(),
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;
