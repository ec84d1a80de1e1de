//! The fence: whether a node's lease lets it claim runs, asked by every claim.

use super::fail::Res;
use rusqlite::{Connection, params};

/// True when `node` holds a lease that has expired (or that it left): such a node claims nothing
/// until it heartbeats again. A node that never heartbeat (a single node, a tool) is not fenced.
pub(crate) fn fenced(conn: &Connection, node: &str, now_us: i64) -> Res<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM nodes WHERE node = ?1 AND (left_at IS NOT NULL OR lease_until <= ?2)",
    )?;
    let n: i64 = stmt.query_row(params![node, now_us], |r| r.get(0))?;
    Ok(n > 0)
}
