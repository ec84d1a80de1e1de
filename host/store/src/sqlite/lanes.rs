//! The `lanes` table: the head of every lane that has unfinished runs, kept in step with `runs`
//! so that claiming reads a handful of lane rows instead of scanning queued runs.
//!
//! Invariant (checked by the conformance suite through `claim`): a lane row exists iff the lane
//! has an unfinished run; `head` is its unfinished run with the lowest `seq`; `state` says whether
//! that run is queued (0), retrying until `wake_at` (1) or running (2). Only the head ever runs.

use super::fail::{Res, parse_status};
use crate::ids::RunId;
use crate::status::RunStatus;
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) const READY: i64 = 0;
pub(crate) const WAITING: i64 = 1;
pub(crate) const RUNNING: i64 = 2;

/// A new run at the end of `lane`: it becomes the head only when the lane had none.
pub(crate) fn append(conn: &Connection, lane: &str, run: RunId, seq: i64) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO lanes (lane, head, head_seq, state) VALUES (?1, ?2, ?3, 0) ON CONFLICT (lane) DO NOTHING",
    )?;
    stmt.execute(params![lane, run.0, seq])?;
    Ok(())
}

/// Marks the lane's head as running (after claiming it).
pub(crate) fn set_running(conn: &Connection, lane: &str) -> Res<()> {
    let mut stmt =
        conn.prepare_cached("UPDATE lanes SET state = 2, wake_at = NULL WHERE lane = ?1")?;
    stmt.execute([lane])?;
    Ok(())
}

/// Recomputes the lane's head from `runs` after a run of it changed status.
pub(crate) fn refresh(conn: &Connection, lane: &str) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, seq, status, not_before FROM runs
         WHERE lane = ?1 AND status IN ('queued', 'running', 'retrying') ORDER BY seq LIMIT 1",
    )?;
    let head = stmt
        .query_row([lane], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let Some((id, seq, status, not_before)) = head else {
        conn.prepare_cached("DELETE FROM lanes WHERE lane = ?1")?
            .execute([lane])?;
        return Ok(());
    };
    let (state, wake_at): (i64, Option<i64>) =
        match parse_status::<RunStatus>("run status", &status)? {
            RunStatus::Running => (RUNNING, None),
            RunStatus::Retrying => (WAITING, Some(not_before.unwrap_or(0))),
            _ => (READY, None),
        };
    let mut up = conn.prepare_cached(
        "INSERT INTO lanes (lane, head, head_seq, state, wake_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (lane) DO UPDATE SET head = ?2, head_seq = ?3, state = ?4, wake_at = ?5",
    )?;
    up.execute(params![lane, id, seq, state, wake_at])?;
    Ok(())
}

/// The queued heads, oldest lane position first: the partial `lanes_ready` index in order.
pub(crate) const READY_HEADS: &str =
    "SELECT lane, head, head_seq FROM lanes WHERE state = 0 ORDER BY head_seq LIMIT ?1";

/// Up to `limit` claimable heads, oldest lane position first: queued heads and retrying heads
/// whose `wake_at` has passed.
pub(crate) fn claimable(conn: &Connection, limit: i64, now_us: i64) -> Res<Vec<(String, RunId)>> {
    let mut ready = conn.prepare_cached(READY_HEADS)?;
    let mut heads: Vec<(String, i64, i64)> = ready
        .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut due = conn.prepare_cached(
        "SELECT lane, head, head_seq FROM lanes WHERE state = 1 AND wake_at <= ?1 ORDER BY wake_at LIMIT ?2",
    )?;
    for row in due.query_map(params![now_us, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })? {
        heads.push(row?);
    }
    heads.sort_by_key(|h| h.2);
    heads.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(heads
        .into_iter()
        .map(|(lane, head, _)| (lane, RunId(head)))
        .collect())
}

/// The earliest `wake_at` of a waiting head.
pub(crate) fn next_wake(conn: &Connection) -> Res<Option<i64>> {
    let mut stmt = conn.prepare_cached("SELECT min(wake_at) FROM lanes WHERE state = 1")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}
