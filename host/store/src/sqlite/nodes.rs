//! SQL for node leases: heartbeats, leaving, listing, and recovering the runs of dead nodes.
//! The one writer thread applies these in turn, so a recovery never races another one.

use super::dispatch;
use super::fail::{Res, from_us, opt_from_us, to_i64, to_u64, to_us};
use super::worker::Writer;
use crate::model::nodes::{MAX_NODE_LANES, MAX_NODES, NodeInfo};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};
use std::time::Duration;

/// Renews the node's lease (a new one when it had left or let it expire).
pub(crate) fn heartbeat(
    w: &mut Writer,
    node: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Res<()> {
    let (now_us, until) = crate::convert::lease_span(now, lease);
    let mut stmt = w.conn.prepare_cached(
        "INSERT INTO nodes (node, started_at, heartbeat_at, lease_until) VALUES (?2, ?1, ?1, ?3)
         ON CONFLICT (node) DO UPDATE SET
             started_at = CASE WHEN (left_at IS NOT NULL OR lease_until <= ?1) THEN ?1 ELSE started_at END,
             heartbeat_at = ?1, lease_until = ?3, left_at = NULL",
    )?;
    stmt.execute(params![now_us, node, until])?;
    Ok(())
}

/// Starts a new lease for the node whatever the old one said: the process lock proved that
/// the process that held it is gone.
pub(crate) fn take_over(
    w: &mut Writer,
    node: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Res<()> {
    w.conn
        .prepare_cached("UPDATE nodes SET left_at = ?2, lease_until = ?2 WHERE node = ?1")?
        .execute(params![node, to_us(now)])?;
    heartbeat(w, node, lease, now)
}

/// Ends the node's lease at once.
pub(crate) fn leave(w: &mut Writer, node: &str, now: DateTime<Utc>) -> Res<()> {
    let mut stmt = w.conn.prepare_cached(
        "UPDATE nodes SET left_at = ?2, lease_until = min(lease_until, ?2) WHERE node = ?1",
    )?;
    stmt.execute(params![node, to_us(now)])?;
    Ok(())
}

/// Every node (by name, at most [`MAX_NODES`]) with the runs it holds.
pub(crate) fn list(conn: &Connection, now: DateTime<Utc>) -> Res<Vec<NodeInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.node, n.started_at, n.heartbeat_at, n.lease_until, n.left_at,
             NOT (n.left_at IS NOT NULL OR n.lease_until <= ?1),
             (SELECT count(*) FROM runs r WHERE r.status = 'running'
                 AND r.node = (SELECT id FROM names WHERE name = n.node))
         FROM nodes n ORDER BY n.node LIMIT ?2",
    )?;
    let found: Vec<Res<NodeInfo>> = stmt
        .query_map(params![to_us(now), to_i64(MAX_NODES as u64)], |r| {
            Ok(node_info(r))
        })?
        .collect::<Result<_, _>>()?;
    let mut nodes = Vec::with_capacity(found.len());
    for info in found {
        let mut info = info?;
        info.lanes = held_lanes(conn, &info.node)?;
        nodes.push(info);
    }
    Ok(nodes)
}

fn node_info(r: &Row<'_>) -> Res<NodeInfo> {
    Ok(NodeInfo {
        node: r.get(0)?,
        started_at: from_us(r.get(1)?)?,
        heartbeat_at: from_us(r.get(2)?)?,
        lease_until: from_us(r.get(3)?)?,
        left_at: opt_from_us(r.get(4)?)?,
        live: r.get(5)?,
        running: to_u64(r.get(6)?),
        lanes: Vec::new(),
    })
}

fn held_lanes(conn: &Connection, node: &str) -> Res<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT lane FROM runs
         WHERE status = 'running' AND node = (SELECT id FROM names WHERE name = ?1)
         ORDER BY lane LIMIT ?2",
    )?;
    let lanes = stmt
        .query_map(params![node, to_i64(MAX_NODE_LANES as u64)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(lanes)
}

/// Forgets nodes dead since before `before` that hold no running run; returns how many.
pub(crate) fn prune(conn: &Connection, before: DateTime<Utc>) -> Res<usize> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM nodes WHERE coalesce(left_at, lease_until) < ?1 AND lease_until < ?1
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.status = 'running'
             AND r.node = (SELECT id FROM names WHERE name = nodes.node))",
    )?;
    Ok(stmt.execute([to_us(before)])?)
}

/// Recovers the running runs of every node without a live lease at `now`.
pub(crate) fn recover_expired(w: &mut Writer, now: DateTime<Utc>) -> Res<usize> {
    dispatch::recover_where(
        w,
        "AND node IN (SELECT n.id FROM names n JOIN nodes ON nodes.node = n.name
             WHERE nodes.left_at IS NOT NULL OR nodes.lease_until <= ?1)",
        [to_us(now)],
    )
}
