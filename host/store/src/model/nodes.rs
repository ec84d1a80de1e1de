//! Nodes sharing one store: their leases (heartbeats) and what each is running.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most lane names one [`NodeInfo`] lists (`running` still counts them all).
pub const MAX_NODE_LANES: usize = 64;

/// The most nodes `Store::nodes` lists, by name.
pub const MAX_NODES: usize = 1024;

/// One node's lease as `Store::nodes` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node: String,
    /// When the current lease began: the node's first heartbeat, or its first one after it left
    /// or its lease expired.
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// When the node left cleanly (`Store::leave`), until it heartbeats again.
    pub left_at: Option<DateTime<Utc>>,
    /// The lease has not expired at the time asked about and the node has not left.
    pub live: bool,
    /// Runs `running` on this node; each holds its lane.
    pub running: u64,
    /// The lanes those runs hold, by name, at most [`MAX_NODE_LANES`].
    pub lanes: Vec<String>,
}

/// What `Store::take_lease` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseTaken {
    /// The lease is this process's now (a new one, `started_at` = the time asked about).
    Granted,
    /// Another process holds a live lease under this node's name; nothing changed.
    Held {
        heartbeat_at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    },
}

/// What `Store::heartbeat` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Renewal {
    /// The lease is renewed until `now + lease` (a new one if it had left or expired).
    Renewed,
    /// Another process took this node's lease (its holder token differs): this process must
    /// claim nothing more under the node's name and stop; the store refuses its claims.
    Lost,
}
