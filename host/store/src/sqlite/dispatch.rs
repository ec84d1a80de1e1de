//! SQL for dispatch: claim lane heads, finish attempts, recover after a crash, requeue.

use super::counters::Counter;
use super::fail::{Fail, Res, from_us, opt_from_us, parse_status, to_i64, to_u32, to_us};
use super::ledger::PackedRecord;
use super::worker::Writer;
use super::{detail, lanes, names, packing, sources};
use crate::convert::{RunAfter, check_running};
use crate::error::StoreError;
use crate::ids::{EventId, RunId};
use crate::model::dispatch::{ClaimedRun, FinishedAttempt, Next, QueueDepth};
use crate::status::{AttemptStatus, RunStatus};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// The most runs one `claim` hands out.
pub(crate) const MAX_CLAIM: usize = 1024;

/// Claims up to `limit` lane heads for `node`.
pub(crate) fn claim(
    w: &mut Writer,
    node: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Res<Vec<ClaimedRun>> {
    let now_us = to_us(now);
    if super::fence::fenced(&w.conn, node, now_us)? {
        return Ok(Vec::new());
    }
    let heads = lanes::claimable(&w.conn, to_i64(limit.min(MAX_CLAIM) as u64), now_us)?;
    let mut claimed = Vec::with_capacity(heads.len());
    for (lane, run) in heads {
        match claim_one(w, node, &lane, run, now_us) {
            Ok(c) => claimed.push(c),
            Err(Fail::Store(unreadable @ StoreError::Corrupt { .. })) => {
                fail_unreadable(w, run, node, now, &unreadable)?;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(claimed)
}

/// Ends a claimed run whose event cannot be read (a damaged row, a payload over the unpack
/// cap) as `failed` with the cause, so its lane moves on and every other lane still claims.
fn fail_unreadable(
    w: &mut Writer,
    run: RunId,
    node: &str,
    now: DateTime<Utc>,
    cause: &StoreError,
) -> Res<()> {
    let Some((_, attempt, _)) = run_state(&w.conn, run)? else {
        return Ok(());
    };
    let attempt = crate::model::dispatch::unreadable_attempt(to_u32(attempt), node, now, cause);
    tracing::error!(run = %run, error = %cause, "a run's event cannot be read; the run failed without starting");
    finish(w, run, &attempt, &Next::Final, &[])
}

fn claim_one(w: &Writer, node: &str, lane: &str, run: RunId, now_us: i64) -> Res<ClaimedRun> {
    let mut stmt = w.conn.prepare_cached(
        "UPDATE runs SET status = 'running', attempt = attempt + 1, node = ?2, not_before = NULL, updated_at = ?3
         WHERE id = ?1",
    )?;
    stmt.execute(params![run.0, w.name_id(node)?, now_us])?;
    lanes::set_running(&w.conn, lane)?;
    load_claimed(&w.conn, run)
}

fn load_claimed(conn: &Connection, run: RunId) -> Res<ClaimedRun> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.event_id, {}, r.lane, r.attempt, r.max_attempts, r.is_replay, {},
                {}, e.connection_id, e.chat_id, e.payload, e.received_at
         FROM runs r JOIN events e ON e.id = r.event_id WHERE r.id = ?1",
        names::name_of("r.plugin"),
        names::name_of("r.origin"),
        names::name_of("e.kind")
    ))?;
    let row = stmt.query_row([run.0], |r| {
        Ok((
            (
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ),
            (
                r.get::<_, i64>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ),
            (
                r.get::<_, Option<i64>>(8)?,
                r.get::<_, Option<i64>>(9)?,
                r.get::<_, rusqlite::types::Value>(10)?,
                r.get::<_, i64>(11)?,
            ),
        ))
    })?;
    let ((event_id, plugin, lane, attempt), (max_attempts, is_replay, origin, event_kind), rest) =
        row;
    let (connection_id, chat_id, payload, received_at) = rest;
    Ok(ClaimedRun {
        run_id: run,
        event_id: EventId(event_id),
        plugin,
        lane,
        attempt: to_u32(attempt),
        max_attempts: to_u32(max_attempts),
        is_replay,
        origin,
        event_kind,
        connection_id,
        chat_id,
        payload: packing::unpack_required("event payload", payload)?,
        received_at: from_us(received_at)?,
    })
}

/// (status, attempt, lane) of a run.
fn run_state(conn: &Connection, run: RunId) -> Res<Option<(RunStatus, i64, String)>> {
    let mut stmt = conn.prepare_cached("SELECT status, attempt, lane FROM runs WHERE id = ?1")?;
    let row = stmt
        .query_row([run.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    row.map(|(status, attempt, lane)| Ok((parse_status("run status", &status)?, attempt, lane)))
        .transpose()
}

/// Records the attempt and moves the run on.
pub(crate) fn finish(
    w: &mut Writer,
    run: RunId,
    a: &FinishedAttempt,
    next: &Next,
    ledger: &[PackedRecord],
) -> Res<()> {
    let Some((status, attempt, lane)) = run_state(&w.conn, run)? else {
        return Err(StoreError::not_found(format!("run {run}")).into());
    };
    check_running(run, status, attempt, a)?;
    super::ledger::record(w, ledger)?;
    insert_attempt(w, run, a)?;
    let after = RunAfter::of(a, next);
    let node = w.name_id(&a.node)?;
    let mut stmt = w.conn.prepare_cached(
        "UPDATE runs SET status = ?2, not_before = ?3, error = ?4, updated_at = ?5, node = ?6,
             attempt = attempt - ?7 WHERE id = ?1",
    )?;
    stmt.execute(params![
        run.0,
        after.status.as_str(),
        after.not_before,
        after.error,
        after.updated_at,
        node,
        after.uncounted
    ])?;
    lanes::refresh(&w.conn, &lane)?;
    w.woke = true;
    Ok(())
}

fn insert_attempt(w: &Writer, run: RunId, a: &FinishedAttempt) -> Res<()> {
    let conn = &w.conn;
    // Only action texts are kept once in the ledger: an attempt without actions (a cron run that
    // did nothing, an interrupted attempt) needs no read of the run's ledger rows.
    let ledger = if a.actions.is_empty() {
        detail::LedgerTexts::new()
    } else {
        detail::ledger_texts(conn, run)?
    };
    let detail = packing::pack_opt(detail::encode(&a.actions, &a.logs, &ledger)?);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO attempts (run_id, attempt, status, error, started_at, duration_us, source, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (run_id, attempt) DO UPDATE SET status = ?3, error = ?4, started_at = ?5,
             duration_us = ?6, source = ?7, detail = ?8",
    )?;
    let source = sources::id(conn, &a.node, a.plugin_digest.as_deref())?;
    let status = w.name_id(a.status.as_str())?;
    let args = params![
        run.0,
        a.attempt,
        status,
        a.error,
        to_us(a.started_at),
        to_i64(a.duration_us),
        source,
        detail
    ];
    stmt.execute(args)?;
    Ok(())
}

/// Puts every running run back to queued, recording its attempt as interrupted.
pub(crate) fn recover(w: &mut Writer) -> Res<usize> {
    recover_where(w, "", [])
}

/// Puts the running runs matching `filter` (an `AND ..` clause on `runs`, with `params`) back to
/// queued at their lanes' heads, recording their attempts as interrupted.
pub(crate) fn recover_where(
    w: &mut Writer,
    filter: &str,
    params: impl rusqlite::Params,
) -> Res<usize> {
    let mut stmt = w.conn.prepare_cached(&format!(
        "SELECT id, attempt, lane, coalesce({}, ''), updated_at FROM runs
         WHERE status = 'running' {filter}",
        names::name_of("runs.node")
    ))?;
    let running: Vec<(i64, u32, String, String, i64)> = stmt
        .query_map(params, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    for (id, attempt, lane, node, started) in &running {
        let interrupted = FinishedAttempt {
            attempt: *attempt,
            status: AttemptStatus::Interrupted,
            error: Some("the process stopped during this attempt".into()),
            started_at: from_us(*started)?,
            duration_us: 0,
            node: node.clone(),
            plugin_digest: None,
            actions: Vec::new(),
            logs: Vec::new(),
        };
        insert_attempt(w, RunId(*id), &interrupted)?;
        w.conn
            .prepare_cached("UPDATE runs SET status = 'queued' WHERE id = ?1")?
            .execute([id])?;
        lanes::refresh(&w.conn, lane)?;
    }
    w.woke |= !running.is_empty();
    Ok(running.len())
}

/// Puts a finished run back at the end of its lane with a fresh attempt budget.
pub(crate) fn requeue(w: &mut Writer, run: RunId, replay: bool) -> Res<()> {
    let Some((status, _, lane)) = run_state(&w.conn, run)? else {
        return Err(StoreError::not_found(format!("run {run}")).into());
    };
    if status.is_unfinished() {
        return Err(Fail::Store(StoreError::conflict(format!(
            "run {run} is {status}; replay it after it finishes"
        ))));
    }
    let seq = w.counters.next(Counter::LaneSeq);
    let mut stmt = w.conn.prepare_cached(
        "UPDATE runs SET status = 'queued', seq = ?2, is_replay = (is_replay OR ?3), not_before = NULL,
             max_attempts = attempt + budget, updated_at = ?4 WHERE id = ?1",
    )?;
    stmt.execute(params![run.0, seq, replay, to_us(Utc::now())])?;
    lanes::refresh(&w.conn, &lane)?;
    w.woke = true;
    Ok(())
}

/// Requeues the listed runs (a filter's finished runs, listed by a read just before); one that
/// is unfinished by now (replayed meanwhile) or gone (retention) is left as it is. Returns the
/// runs requeued.
pub(crate) fn requeue_finished(w: &mut Writer, runs: &[RunId], replay: bool) -> Res<Vec<RunId>> {
    let mut requeued = Vec::with_capacity(runs.len());
    for run in runs {
        match run_state(&w.conn, *run)? {
            Some((status, _, _)) if !status.is_unfinished() => {
                requeue(w, *run, replay)?;
                requeued.push(*run);
            }
            _ => {}
        }
    }
    Ok(requeued)
}

/// The claimable lane head first in arrival order (the lanes index gives it without a scan):
/// when it became queued. A run queued behind its own lane's running head is not waiting for a
/// worker and does not count.
pub(crate) const OLDEST_READY: &str =
    "SELECT r.updated_at FROM lanes l JOIN runs r ON r.id = l.head
     WHERE l.state = 0 ORDER BY l.head_seq LIMIT 1";

/// Unfinished runs per status: three ranges of the `runs_status_id` index.
pub(crate) const QUEUE_COUNTS: &str = "SELECT status, count(*) FROM runs
     WHERE status IN ('queued', 'running', 'retrying') GROUP BY status";

pub(crate) fn queue_depth(conn: &Connection) -> Res<QueueDepth> {
    let mut stmt = conn.prepare_cached(QUEUE_COUNTS)?;
    let mut depth = QueueDepth::default();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (status, n) = row?;
        let n = super::fail::to_u64(n);
        match parse_status::<RunStatus>("run status", &status)? {
            RunStatus::Queued => depth.queued = n,
            RunStatus::Running => depth.running = n,
            _ => depth.retrying = n,
        }
    }
    let mut oldest = conn.prepare_cached(OLDEST_READY)?;
    let at: Option<i64> = oldest.query_row([], |r| r.get(0)).optional()?;
    depth.oldest_ready_at = opt_from_us(at)?;
    Ok(depth)
}
