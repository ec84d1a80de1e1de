//! Switchboard's persistent state: the [`Store`] trait (the sum of its [`role`]s), its SQLite backend ([`SqliteStore`]) and,
//! behind the `conformance` feature, the test suite every backend must pass unchanged.
//!
//! This is the only crate that writes SQL. The trait is backend-independent (no rowids, no SQL,
//! `i64` ids, `DateTime<Utc>` times) so a PostgreSQL backend can implement it as well.
//!
//! The SQLite backend runs SQLite on dedicated threads fed by channels, never on the async
//! executor: one writer thread applies every queued write in one transaction (group commit) and
//! answers each caller once the transaction is committed; a reader thread serves reads.
//!
//! The PostgreSQL backend ([`PostgresStore`]) serves the same trait from a connection pool, one
//! transaction per call, so several nodes can share one database (see `postgres/mod.rs`).

mod convert;
mod error;
mod fail;
mod files;
mod ids;
pub mod indexer;
pub mod model;
mod postgres;
pub mod role;
pub mod search;
mod shared_sql;
mod sqlite;
mod status;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod pg_test_server;

pub use error::StoreError;
pub use ids::{EventId, QuarantineId, RunId};
pub use indexer::WordIndexPass;
pub use model::dispatch::{ActionRow, ClaimedRun, FinishedAttempt, LogRow, Next, QueueDepth};
pub use model::history::{
    EventDetail, EventFilter, EventRecord, EventSummary, MAX_PAGE, RecentCounts, RunDetail,
    RunFilter, RunSummary, StatusCount,
};
pub use model::intake::{
    Ingested, NewEvent, NewQuarantine, NewRun, QuarantineEntry, QuarantineSummary,
};
pub use model::ledger::{LedgerBegin, LedgerEntry, LedgerIntent, LedgerRecord, LedgerResult};
pub use model::nodes::{LeaseTaken, MAX_NODE_LANES, MAX_NODES, NodeInfo, Renewal};
pub use model::ops::{DbStats, Durability, RetentionPolicy, ScheduleState, SlotFire, SlotFired};
pub use model::views::{ChatTimeline, ConnectionActivity, ConnectionFailures};
pub use postgres::{PostgresConfig, PostgresStore};
pub use sqlite::{SqliteConfig, SqliteStore};
pub use status::{AttemptStatus, RunStatus, UnknownStatus};
pub use store::{Store, StoreResult};

/// The role traits brought into scope without their names, so their methods can be called on an
/// `Arc<dyn Store>` or any `dyn role::X`: `use switchboard_store::prelude::*`.
pub mod prelude {
    pub use crate::role::{
        Dispatch as _, History as _, Intake as _, Kv as _, Ledger as _, Nodes as _,
        Operations as _, Schedules as _, Uploads as _,
    };
}
