//! SQL for node leases: heartbeats, leaving, listing, and recovering the runs of dead nodes.
//!
//! `recover_expired` locks the expired nodes' rows first (`FOR UPDATE`, by name), then their
//! runs' lanes (sorted, as every lane writer does). Two nodes recovering at once therefore take
//! turns, and the second finds the runs already queued; a heartbeat racing a recovery waits for
//! it, so a node is either renewed before its runs are looked at or recovered in full.

use super::dispatch::recover_one;
use super::fail::{Res, exec, from_us, get, one, opt_from_us, rows, to_i64, to_u64, to_us};
use super::fence::EXPIRED;
use super::lanes;
use crate::model::nodes::{LeaseTaken, MAX_NODE_LANES, MAX_NODES, NodeInfo, Renewal};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use std::time::Duration;
use tokio_postgres::Row;

/// Renews the node's lease (a new one when it had left or let it expire) when `holder` holds it
/// (or nobody is recorded); `Lost` when another process took it.
pub(crate) async fn heartbeat(
    tx: &Transaction<'_>,
    node: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Res<Renewal> {
    let renewed = upsert_lease(
        tx,
        "INSERT INTO nodes AS n (node, started_at, heartbeat_at, lease_until, holder)
             VALUES ($2, $1, $1, $3, $4)
         ON CONFLICT (node) DO UPDATE SET
             started_at = CASE WHEN (n.left_at IS NOT NULL OR n.lease_until <= $1) THEN $1 ELSE n.started_at END,
             heartbeat_at = $1, lease_until = $3, left_at = NULL, holder = $4
         WHERE n.holder = $4 OR n.holder = ''
         RETURNING 1",
        node,
        holder,
        lease,
        now,
    )
    .await?;
    Ok(if renewed {
        Renewal::Renewed
    } else {
        Renewal::Lost
    })
}

/// Takes the node's lease for a new process unless another one holds it live at `now`.
pub(crate) async fn take(
    tx: &Transaction<'_>,
    node: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Res<LeaseTaken> {
    let taken = upsert_lease(
        tx,
        &format!(
            "INSERT INTO nodes AS n (node, started_at, heartbeat_at, lease_until, holder)
                 VALUES ($2, $1, $1, $3, $4)
             ON CONFLICT (node) DO UPDATE SET
                 started_at = $1, heartbeat_at = $1, lease_until = $3, left_at = NULL, holder = $4
             WHERE {EXPIRED}
             RETURNING 1"
        ),
        node,
        holder,
        lease,
        now,
    )
    .await?;
    if taken {
        return Ok(LeaseTaken::Granted);
    }
    let held = one(
        tx,
        "SELECT heartbeat_at, lease_until FROM nodes WHERE node = $1",
        &[&node],
    )
    .await?;
    Ok(LeaseTaken::Held {
        heartbeat_at: from_us(get(&held, 0)?)?,
        lease_until: from_us(get(&held, 1)?)?,
    })
}

/// Runs `sql`, an upsert of a lease row (`$1` now and `$3` the lease's end, in microseconds,
/// `$2` the node, `$4` the holder) that returns the row when it wrote it; true when it did.
async fn upsert_lease(
    tx: &Transaction<'_>,
    sql: &str,
    node: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Res<bool> {
    let (now_us, until) = crate::convert::lease_span(now, lease);
    let written = rows(tx, sql, &[&now_us, &node, &until, &holder]).await?;
    Ok(!written.is_empty())
}

/// The database server's clock now (`clock_timestamp()`, not the transaction's start).
pub(crate) async fn clock(tx: &Transaction<'_>) -> Res<DateTime<Utc>> {
    let row = one(
        tx,
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT",
        &[],
    )
    .await?;
    Ok(from_us(get(&row, 0)?)?)
}

/// Ends the node's lease at once (on the database's clock), when `holder` holds it (a process
/// that lost its lease never ends the new holder's).
pub(crate) async fn leave(tx: &Transaction<'_>, node: &str, holder: &str) -> Res<()> {
    let now_us = to_us(clock(tx).await?);
    exec(
        tx,
        "UPDATE nodes SET left_at = $2, lease_until = least(lease_until, $2)
         WHERE node = $1 AND (holder = $3 OR holder = '')",
        &[&node, &now_us, &holder],
    )
    .await?;
    Ok(())
}

/// Every node (by name, at most [`MAX_NODES`]) with the runs it holds.
pub(crate) async fn list(tx: &Transaction<'_>, now: DateTime<Utc>) -> Res<Vec<NodeInfo>> {
    let found = rows(
        tx,
        "SELECT n.node, n.started_at, n.heartbeat_at, n.lease_until, n.left_at,
             NOT (n.left_at IS NOT NULL OR n.lease_until <= $1),
             (SELECT count(*) FROM runs r WHERE r.status = 'running' AND r.node = n.node)
         FROM nodes n ORDER BY n.node LIMIT $2",
        &[&to_us(now), &to_i64(MAX_NODES as u64)],
    )
    .await?;
    let mut nodes = Vec::with_capacity(found.len());
    for row in &found {
        let mut info = node_info(row)?;
        info.lanes = held_lanes(tx, &info.node).await?;
        nodes.push(info);
    }
    Ok(nodes)
}

fn node_info(row: &Row) -> Res<NodeInfo> {
    Ok(NodeInfo {
        node: get(row, 0)?,
        started_at: from_us(get(row, 1)?)?,
        heartbeat_at: from_us(get(row, 2)?)?,
        lease_until: from_us(get(row, 3)?)?,
        left_at: opt_from_us(get(row, 4)?)?,
        live: get(row, 5)?,
        running: to_u64(get(row, 6)?),
        lanes: Vec::new(),
    })
}

async fn held_lanes(tx: &Transaction<'_>, node: &str) -> Res<Vec<String>> {
    let found = rows(
        tx,
        "SELECT lane FROM runs WHERE status = 'running' AND node = $1 ORDER BY lane LIMIT $2",
        &[&node, &to_i64(MAX_NODE_LANES as u64)],
    )
    .await?;
    found.iter().map(|r| get(r, 0)).collect()
}

/// Forgets nodes dead since before `before` that hold no running run; returns how many.
pub(crate) async fn prune(tx: &Transaction<'_>, before: DateTime<Utc>) -> Res<u64> {
    exec(
        tx,
        "DELETE FROM nodes n WHERE coalesce(n.left_at, n.lease_until) < $1 AND n.lease_until < $1
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.status = 'running' AND r.node = n.node)",
        &[&to_us(before)],
    )
    .await
}

/// Recovers the running runs of every node without a live lease at `now`.
pub(crate) async fn recover_expired(tx: &Transaction<'_>, now: DateTime<Utc>) -> Res<usize> {
    let now_us = to_us(now);
    let dead = rows(
        tx,
        &format!(
            "SELECT n.node FROM nodes n WHERE {EXPIRED} AND EXISTS
                 (SELECT 1 FROM runs r WHERE r.status = 'running' AND r.node = n.node)
             ORDER BY n.node FOR UPDATE OF n"
        ),
        &[&now_us],
    )
    .await?;
    let dead: Vec<String> = dead.iter().map(|r| get(r, 0)).collect::<Res<_>>()?;
    if dead.is_empty() {
        return Ok(0);
    }
    let lanes = dead_lanes(tx, &dead).await?;
    let refs: Vec<&str> = lanes.iter().map(String::as_str).collect();
    lanes::lock(tx, &refs).await?;
    let recovered = recover_runs(tx, &dead, &lanes).await?;
    lanes::refresh(tx, &refs).await?;
    Ok(recovered)
}

async fn dead_lanes(tx: &Transaction<'_>, dead: &[String]) -> Res<Vec<String>> {
    let found = rows(
        tx,
        "SELECT DISTINCT lane FROM runs WHERE status = 'running' AND node = ANY($1)",
        &[&dead],
    )
    .await?;
    found.iter().map(|r| get(r, 0)).collect()
}

/// Recovers the dead nodes' runs still running once their lanes are locked.
async fn recover_runs(tx: &Transaction<'_>, dead: &[String], lanes: &[String]) -> Res<usize> {
    let running = rows(
        tx,
        "SELECT id, attempt, node, updated_at FROM runs
         WHERE status = 'running' AND node = ANY($1) AND lane = ANY($2)",
        &[&dead, &lanes],
    )
    .await?;
    for row in &running {
        let node: String = get(row, 2)?;
        recover_one(tx, &node, get(row, 0)?, get(row, 1)?, get(row, 3)?).await?;
    }
    Ok(running.len())
}
