//! SQL for dispatch: claim lane heads, finish attempts, recover a dead node's runs, requeue.

use super::fail::{
    Fail, Res, exec, from_us, get, opt, parse_status, rows, to_i64, to_u32, to_u64, to_us,
};
use super::{history, lanes};
use crate::convert::{RunAfter, check_running};
use crate::error::StoreError;
use crate::ids::{EventId, RunId};
use crate::model::dispatch::{ClaimedRun, FinishedAttempt, Next, QueueDepth};
use crate::model::history::RunFilter;
use crate::model::ledger::LedgerRecord;
use crate::status::{AttemptStatus, RunStatus};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

/// The most runs one `claim` hands out.
pub(crate) const MAX_CLAIM: usize = 1024;

/// Claims up to `limit` lane heads for `node`. `fence_now` is `now` on the database's clock:
/// the node's own lease is judged by it, so a node whose clock runs fast does not fence itself.
pub(crate) async fn claim(
    tx: &Transaction<'_>,
    node: &str,
    holder: &str,
    limit: usize,
    now: DateTime<Utc>,
    fence_now: DateTime<Utc>,
) -> Res<Vec<ClaimedRun>> {
    let now_us = to_us(now);
    if super::nodes::fenced(tx, node, holder, to_us(fence_now)).await? {
        return Ok(Vec::new());
    }
    let heads = lanes::claimable(tx, to_i64(limit.min(MAX_CLAIM) as u64), now_us).await?;
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let (names, ids): (Vec<String>, Vec<i64>) = heads.into_iter().map(|(l, r)| (l, r.0)).unzip();
    exec(
        tx,
        "UPDATE lanes SET state = 2, wake_at = NULL WHERE lane = ANY($1)",
        &[&names],
    )
    .await?;
    let claimed = rows(
        tx,
        "WITH r AS (
             UPDATE runs SET status = 'running', attempt = attempt + 1, node = $2,
                 not_before = NULL, updated_at = $3
             WHERE id = ANY($1)
             RETURNING id, event_id, plugin, lane, attempt, max_attempts, is_replay, origin, seq)
         SELECT r.id, r.event_id, r.plugin, r.lane, r.attempt, r.max_attempts, r.is_replay, r.origin,
             e.kind, e.connection_id, e.chat_id, e.payload, e.received_at
         FROM r JOIN events e ON e.id = r.event_id ORDER BY r.seq",
        &[&ids, &node, &now_us],
    )
    .await?;
    let mut runs = Vec::with_capacity(claimed.len());
    for row in &claimed {
        match claimed_run(row) {
            Ok(run) => runs.push(run),
            Err(Fail::Store(unreadable @ StoreError::Corrupt { .. })) => {
                fail_unreadable(tx, row, node, now, &unreadable).await?;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(runs)
}

/// Ends a claimed run whose event cannot be read (a damaged row) as `failed` with the cause, so
/// its lane moves on and every other lane still claims.
async fn fail_unreadable(
    tx: &Transaction<'_>,
    row: &Row,
    node: &str,
    now: DateTime<Utc>,
    cause: &StoreError,
) -> Res<()> {
    let run = RunId(get(row, 0)?);
    let attempt = to_u32(get(row, 4)?);
    let attempt = crate::model::dispatch::unreadable_attempt(attempt, node, now, cause);
    tracing::error!(run = %run, error = %cause, "a run's event cannot be read; the run failed without starting");
    finish(tx, run, &attempt, &Next::Final, &[]).await
}

fn claimed_run(r: &Row) -> Res<ClaimedRun> {
    Ok(ClaimedRun {
        run_id: RunId(get(r, 0)?),
        event_id: EventId(get(r, 1)?),
        plugin: get(r, 2)?,
        lane: get(r, 3)?,
        attempt: to_u32(get(r, 4)?),
        max_attempts: to_u32(get(r, 5)?),
        is_replay: get(r, 6)?,
        origin: get(r, 7)?,
        event_kind: get(r, 8)?,
        connection_id: get(r, 9)?,
        chat_id: get(r, 10)?,
        payload: get(r, 11)?,
        received_at: from_us(get(r, 12)?)?,
    })
}

/// The lane of a run (it never changes), or `NotFound`.
async fn lane_of(tx: &Transaction<'_>, run: RunId) -> Res<String> {
    let row = opt(tx, "SELECT lane FROM runs WHERE id = $1", &[&run.0]).await?;
    match row {
        Some(r) => get(&r, 0),
        None => Err(StoreError::not_found(format!("run {run}")).into()),
    }
}

/// (status, attempt) of a run, read while holding its lane's lock.
async fn run_state(tx: &Transaction<'_>, run: RunId) -> Res<(RunStatus, i64)> {
    let row = opt(
        tx,
        "SELECT status, attempt FROM runs WHERE id = $1",
        &[&run.0],
    )
    .await?;
    let Some(row) = row else {
        return Err(StoreError::not_found(format!("run {run}")).into());
    };
    Ok((parse_status("run status", get(&row, 0)?)?, get(&row, 1)?))
}

/// Records the attempt and moves the run on.
pub(crate) async fn finish(
    tx: &Transaction<'_>,
    run: RunId,
    a: &FinishedAttempt,
    next: &Next,
    ledger: &[LedgerRecord],
) -> Res<()> {
    let lane = lane_of(tx, run).await?;
    lanes::lock(tx, &[&lane]).await?;
    let (status, attempt) = run_state(tx, run).await?;
    check_running(run, status, attempt, a)?;
    super::ledger::record(tx, ledger).await?;
    insert_attempt(tx, run, a).await?;
    let after = RunAfter::of(a, next);
    exec(
        tx,
        "UPDATE runs SET status = $2, not_before = $3, error = $4, updated_at = $5, node = $6,
             attempt = attempt - $7 WHERE id = $1",
        &[
            &run.0,
            &after.status.as_str(),
            &after.not_before,
            &after.error,
            &after.updated_at,
            &a.node,
            &after.uncounted,
        ],
    )
    .await?;
    lanes::refresh(tx, &lane).await
}

/// The attempt's actions and logs as one JSON value, `NULL` when it recorded nothing.
fn encode_detail(a: &FinishedAttempt) -> Res<Option<String>> {
    if a.actions.is_empty() && a.logs.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&(&a.actions, &a.logs))
        .map(Some)
        .map_err(|e| {
            Fail::Store(StoreError::Database {
                message: format!("cannot encode attempt detail: {e}"),
            })
        })
}

async fn insert_attempt(tx: &Transaction<'_>, run: RunId, a: &FinishedAttempt) -> Res<()> {
    let detail = encode_detail(a)?;
    exec(
        tx,
        "INSERT INTO attempts (run_id, attempt, status, error, started_at, duration_us, node, plugin_digest, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (run_id, attempt) DO UPDATE SET status = $3, error = $4, started_at = $5,
             duration_us = $6, node = $7, plugin_digest = $8, detail = $9",
        &[
            &run.0,
            &i64::from(a.attempt),
            &a.status.as_str(),
            &a.error,
            &to_us(a.started_at),
            &to_i64(a.duration_us),
            &a.node,
            &a.plugin_digest,
            &detail,
        ],
    )
    .await?;
    Ok(())
}

/// Puts the runs `node` left running back to queued, recording their attempts as interrupted.
pub(crate) async fn recover(tx: &Transaction<'_>, node: &str) -> Res<usize> {
    let found = rows(
        tx,
        "SELECT DISTINCT lane FROM runs WHERE status = 'running' AND node = $1",
        &[&node],
    )
    .await?;
    let names: Vec<String> = found.iter().map(|r| get(r, 0)).collect::<Res<_>>()?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    lanes::lock(tx, &refs).await?;
    let running = rows(
        tx,
        "SELECT id, attempt, lane, updated_at FROM runs
         WHERE status = 'running' AND node = $1 AND lane = ANY($2)",
        &[&node, &names],
    )
    .await?;
    for row in &running {
        recover_one(tx, node, get(row, 0)?, get(row, 1)?, get(row, 3)?).await?;
    }
    for lane in &refs {
        lanes::refresh(tx, lane).await?;
    }
    Ok(running.len())
}

/// Puts one running run (whose lane the caller has locked) back to queued, recording its
/// attempt (claimed at `started_us` on `node`) as interrupted.
pub(crate) async fn recover_one(
    tx: &Transaction<'_>,
    node: &str,
    id: i64,
    attempt: i64,
    started_us: i64,
) -> Res<()> {
    let id = RunId(id);
    let interrupted = FinishedAttempt {
        attempt: to_u32(attempt),
        status: AttemptStatus::Interrupted,
        error: Some("the process stopped during this attempt".into()),
        started_at: from_us(started_us)?,
        duration_us: 0,
        node: node.to_owned(),
        plugin_digest: None,
        actions: Vec::new(),
        logs: Vec::new(),
    };
    insert_attempt(tx, id, &interrupted).await?;
    exec(
        tx,
        "UPDATE runs SET status = 'queued' WHERE id = $1",
        &[&id.0],
    )
    .await?;
    Ok(())
}

/// Puts a finished run (whose lane the caller has locked) back at the end of its lane.
async fn requeue_locked(tx: &Transaction<'_>, run: RunId, lane: &str, replay: bool) -> Res<()> {
    let (status, _) = run_state(tx, run).await?;
    if status.is_unfinished() {
        return Err(Fail::Store(StoreError::conflict(format!(
            "run {run} is {status}; replay it after it finishes"
        ))));
    }
    exec(
        tx,
        "UPDATE runs SET status = 'queued', seq = nextval('lane_seq'), is_replay = (is_replay OR $2),
             not_before = NULL, max_attempts = attempt + budget, updated_at = $3 WHERE id = $1",
        &[&run.0, &replay, &to_us(Utc::now())],
    )
    .await?;
    lanes::refresh(tx, lane).await
}

/// Puts a finished run back at the end of its lane with a fresh attempt budget.
pub(crate) async fn requeue(tx: &Transaction<'_>, run: RunId, replay: bool) -> Res<()> {
    let lane = lane_of(tx, run).await?;
    lanes::lock(tx, &[&lane]).await?;
    requeue_locked(tx, run, &lane, replay).await
}

/// Requeues every finished run the filter matches, in the order listed; `None` (nothing done)
/// when its text needs the word indexer first.
pub(crate) async fn requeue_where(
    tx: &Transaction<'_>,
    filter: &RunFilter,
    replay: bool,
) -> Res<Option<Vec<RunId>>> {
    let Some(listed) = history::list_runs(tx, filter).await? else {
        return Ok(None);
    };
    let finished: Vec<(RunId, String)> = listed
        .into_iter()
        .filter(|r| !r.status.is_unfinished())
        .map(|r| (r.run_id, r.lane))
        .collect();
    let refs: Vec<&str> = finished.iter().map(|(_, l)| l.as_str()).collect();
    lanes::lock(tx, &refs).await?;
    for (run, lane) in &finished {
        requeue_locked(tx, *run, lane, replay).await?;
    }
    Ok(Some(finished.into_iter().map(|(r, _)| r).collect()))
}

/// The claimable lane head first in arrival order (the lanes index gives it without a scan):
/// when it became queued. A run queued behind its own lane's running head is not waiting for a
/// worker and does not count.
const OLDEST_READY: &str = "SELECT r.updated_at FROM lanes l JOIN runs r ON r.id = l.head
     WHERE l.state = 0 ORDER BY l.head_seq LIMIT 1";

pub(crate) async fn queue_depth(tx: &Transaction<'_>) -> Res<QueueDepth> {
    let found = rows(
        tx,
        "SELECT status, count(*) FROM runs WHERE status IN ('queued', 'running', 'retrying') GROUP BY status",
        &[],
    )
    .await?;
    let mut depth = QueueDepth::default();
    for row in &found {
        let n = to_u64(get(row, 1)?);
        match parse_status::<RunStatus>("run status", get(row, 0)?)? {
            RunStatus::Queued => depth.queued = n,
            RunStatus::Running => depth.running = n,
            _ => depth.retrying = n,
        }
    }
    let oldest = rows(tx, OLDEST_READY, &[]).await?;
    depth.oldest_ready_at = match oldest.first() {
        Some(row) => Some(from_us(get(row, 0)?)?),
        None => None,
    };
    Ok(depth)
}

/// The earliest `not_before` of a waiting lane head.
pub(crate) async fn next_retry_at(tx: &Transaction<'_>) -> Res<Option<DateTime<Utc>>> {
    Ok(super::fail::opt_from_us(lanes::next_wake(tx).await?)?)
}
