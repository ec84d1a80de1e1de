//! The data the [`Store`](crate::Store) trait takes and returns, one module per area.

pub mod dispatch;
pub mod history;
pub mod intake;
pub mod ledger;
pub mod nodes;
pub mod ops;
pub mod views;
