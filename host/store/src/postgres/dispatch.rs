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
use std::collections::HashMap;
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
    if super::fence::fenced(tx, node, holder, to_us(fence_now)).await? {
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
    let finishing = [Finishing {
        run,
        attempt: &attempt,
        next: &Next::Final,
        ledger: &[],
    }];
    // The claim holds the lane's lock already.
    let lanes = finish_lanes(tx, &finishing).await?;
    finish_locked(tx, &finishing).await?;
    let lanes: Vec<&str> = lanes.iter().map(String::as_str).collect();
    lanes::refresh(tx, &lanes).await
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

/// One run's `finish`.
pub(crate) struct Finishing<'a> {
    pub run: RunId,
    pub attempt: &'a FinishedAttempt,
    pub next: &'a Next,
    pub ledger: &'a [LedgerRecord],
}

/// The lanes of the runs `all` finish, in their order: what the caller locks before
/// [`finish_locked`] and refreshes after it. Refused (`Conflict`) when a run is named twice.
pub(crate) async fn finish_lanes(tx: &Transaction<'_>, all: &[Finishing<'_>]) -> Res<Vec<String>> {
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = all.iter().map(|f| f.run.0).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(StoreError::conflict("a run is finished twice in one transaction").into());
    }
    // A run's lane never changes, so it is read before the lock; its state only under it.
    let mut lanes =
        by_id(rows(tx, "SELECT id, lane FROM runs WHERE id = ANY($1)", &[&ids]).await?)?;
    all.iter()
        .map(|f| match lanes.remove(&f.run.0) {
            Some(lane) => Ok(lane),
            None => Err(StoreError::not_found(format!("run {}", f.run)).into()),
        })
        .collect()
}

/// Records the attempts and moves their runs on, a statement per table for all of them (a
/// group commit's finishes cost as many round trips as one), with the runs' lanes locked by the
/// caller and left for it to refresh. Refused whole (`Conflict`) when a run is not running the
/// attempt it finishes; the group committer then writes each alone, so one stale result never
/// fails another's.
pub(crate) async fn finish_locked(tx: &Transaction<'_>, all: &[Finishing<'_>]) -> Res<()> {
    if all.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = all.iter().map(|f| f.run.0).collect();
    let state = states(tx, &ids).await?;
    for f in all {
        let Some((status, attempt)) = state.get(&f.run.0) else {
            return Err(StoreError::not_found(format!("run {}", f.run)).into());
        };
        check_running(f.run, *status, *attempt, f.attempt)?;
    }
    super::ledger::record(tx, all.iter().flat_map(|f| f.ledger)).await?;
    let attempts: Vec<(RunId, &FinishedAttempt)> = all.iter().map(|f| (f.run, f.attempt)).collect();
    insert_attempts(tx, &attempts).await?;
    update_finished(tx, all).await
}

/// `id → (status, attempt)` of the runs (read under their lanes' locks).
async fn states(tx: &Transaction<'_>, ids: &[i64]) -> Res<HashMap<i64, (RunStatus, i64)>> {
    let found = rows(
        tx,
        "SELECT id, status, attempt FROM runs WHERE id = ANY($1)",
        &[&ids],
    )
    .await?;
    let mut state = HashMap::with_capacity(found.len());
    for row in &found {
        let status: RunStatus = parse_status("run status", get(row, 1)?)?;
        state.insert(get::<i64>(row, 0)?, (status, get::<i64>(row, 2)?));
    }
    Ok(state)
}

/// `id → text` from rows of (id, text).
fn by_id(found: Vec<Row>) -> Res<HashMap<i64, String>> {
    found
        .iter()
        .map(|r| Ok((get::<i64>(r, 0)?, get::<String>(r, 1)?)))
        .collect()
}

/// Moves each finished run to where its attempt leaves it, in one statement.
async fn update_finished(tx: &Transaction<'_>, all: &[Finishing<'_>]) -> Res<()> {
    let after: Vec<RunAfter> = all
        .iter()
        .map(|f| RunAfter::of(f.attempt, f.next))
        .collect();
    let ids: Vec<i64> = all.iter().map(|f| f.run.0).collect();
    let statuses: Vec<&str> = after.iter().map(|a| a.status.as_str()).collect();
    let not_before: Vec<Option<i64>> = after.iter().map(|a| a.not_before).collect();
    let errors: Vec<Option<&str>> = after.iter().map(|a| a.error.as_deref()).collect();
    let updated: Vec<i64> = after.iter().map(|a| a.updated_at).collect();
    let nodes: Vec<&str> = all.iter().map(|f| f.attempt.node.as_str()).collect();
    let uncounted: Vec<i64> = after.iter().map(|a| a.uncounted).collect();
    exec(
        tx,
        "UPDATE runs SET status = t.status, not_before = t.not_before, error = t.error,
             updated_at = t.updated_at, node = t.node, attempt = runs.attempt - t.uncounted
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
             $7::bigint[]) AS t(id, status, not_before, error, updated_at, node, uncounted)
         WHERE runs.id = t.id",
        &[
            &ids,
            &statuses,
            &not_before,
            &errors,
            &updated,
            &nodes,
            &uncounted,
        ],
    )
    .await?;
    Ok(())
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

/// Records attempts (a repeated (run, attempt) overwrites), in one statement.
async fn insert_attempts(tx: &Transaction<'_>, attempts: &[(RunId, &FinishedAttempt)]) -> Res<()> {
    let runs: Vec<i64> = attempts.iter().map(|(r, _)| r.0).collect();
    let numbers: Vec<i64> = attempts.iter().map(|(_, a)| i64::from(a.attempt)).collect();
    let statuses: Vec<&str> = attempts.iter().map(|(_, a)| a.status.as_str()).collect();
    let errors: Vec<Option<&str>> = attempts.iter().map(|(_, a)| a.error.as_deref()).collect();
    let started: Vec<i64> = attempts.iter().map(|(_, a)| to_us(a.started_at)).collect();
    let took: Vec<i64> = attempts
        .iter()
        .map(|(_, a)| to_i64(a.duration_us))
        .collect();
    let nodes: Vec<&str> = attempts.iter().map(|(_, a)| a.node.as_str()).collect();
    let digests: Vec<Option<&str>> = attempts
        .iter()
        .map(|(_, a)| a.plugin_digest.as_deref())
        .collect();
    let details: Vec<Option<String>> = attempts
        .iter()
        .map(|(_, a)| encode_detail(a))
        .collect::<Res<_>>()?;
    exec(
        tx,
        "INSERT INTO attempts (run_id, attempt, status, error, started_at, duration_us, node, plugin_digest, detail)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],
             $6::bigint[], $7::text[], $8::text[], $9::text[])
         ON CONFLICT (run_id, attempt) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error,
             started_at = EXCLUDED.started_at, duration_us = EXCLUDED.duration_us,
             node = EXCLUDED.node, plugin_digest = EXCLUDED.plugin_digest, detail = EXCLUDED.detail",
        &[
            &runs, &numbers, &statuses, &errors, &started, &took, &nodes, &digests, &details,
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
    lanes::refresh(tx, &refs).await?;
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
    insert_attempts(tx, &[(id, &interrupted)]).await?;
    exec(
        tx,
        "UPDATE runs SET status = 'queued' WHERE id = $1",
        &[&id.0],
    )
    .await?;
    Ok(())
}

/// Puts finished runs (whose lanes the caller has locked) back at the end of their lanes, in
/// the slice's order, in three statements however many there are: a replay by filter holds its
/// lanes' locks (which intake's groups may wait for) for a moment, not a statement per run.
async fn requeue_locked(tx: &Transaction<'_>, runs: &[(RunId, String)], replay: bool) -> Res<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = runs.iter().map(|(run, _)| run.0).collect();
    let state = states(tx, &ids).await?;
    for (run, _) in runs {
        match state.get(&run.0) {
            None => return Err(StoreError::not_found(format!("run {run}")).into()),
            Some((s, _)) if s.is_unfinished() => {
                return Err(Fail::Store(StoreError::conflict(format!(
                    "run {run} is {s}; replay it after it finishes"
                ))));
            }
            Some(_) => {}
        }
    }
    // Lane positions are taken in the slice's order (`ORDER BY n` before `nextval`).
    exec(
        tx,
        "WITH t AS (
             SELECT u.id, nextval('lane_seq') AS seq
             FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n
         )
         UPDATE runs SET status = 'queued', seq = t.seq, is_replay = (is_replay OR $2),
             not_before = NULL, max_attempts = attempt + budget, updated_at = $3
         FROM t WHERE runs.id = t.id",
        &[&ids, &replay, &to_us(Utc::now())],
    )
    .await?;
    let lane_refs: Vec<&str> = runs.iter().map(|(_, lane)| lane.as_str()).collect();
    lanes::refresh(tx, &lane_refs).await
}

/// Puts a finished run back at the end of its lane with a fresh attempt budget.
pub(crate) async fn requeue(tx: &Transaction<'_>, run: RunId, replay: bool) -> Res<()> {
    let lane = lane_of(tx, run).await?;
    lanes::lock(tx, &[&lane]).await?;
    requeue_locked(tx, &[(run, lane)], replay).await
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
    requeue_locked(tx, &finished, replay).await?;
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
