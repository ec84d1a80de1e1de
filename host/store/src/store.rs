//! The [`Store`] trait: everything the service persists, backend-independent, as the sum of its
//! [roles](crate::role).
//!
//! No SQL and no backend detail crosses this boundary: ids are `i64` newtypes, times are
//! `DateTime<Utc>` (stored with microsecond precision), payloads are the caller's strings.
//! Every write is durable (committed) when its future resolves.

pub use crate::error::StoreResult;
use crate::role::{
    Console, Dispatch, History, Intake, Kv, Leasing, Ledger, Nodes, Operations, Schedules, Uploads,
};

/// The persistent state of Switchboard: every role. Object safe: share it as `Arc<dyn Store>`;
/// an `Arc<dyn Store>` coerces to the `Arc<dyn role::X>` a consumer names. The combined roles
/// ([`Leasing`], [`Console`]) are listed too, so it coerces to those as well.
pub trait Store:
    Intake
    + Dispatch
    + Nodes
    + Ledger
    + Kv
    + Uploads
    + History
    + Schedules
    + Operations
    + Leasing
    + Console
    + 'static
{
}

/// Every type with every role is a store (the combinations hold the other seven roles).
impl<T> Store for T where T: Console + Leasing + Ledger + Uploads + 'static {}
