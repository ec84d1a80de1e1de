//! The `lanes` table: the head of every lane with unfinished runs, and the lane's lock.
//!
//! Every transaction that changes a lane's runs first locks the lane's row ([`lock`], an upsert,
//! so it also works for a lane without a row), then recomputes the head ([`refresh`]) before it
//! commits. Claimers lock lane rows with `FOR UPDATE SKIP LOCKED`, so two nodes never claim from
//! one lane at once and a claimer never waits for a busy lane. Locks of several lanes are taken
//! in sorted order, so writers cannot deadlock on each other.

use super::fail::{Res, exec, get, one, opt, parse_status, rows};
use crate::ids::RunId;
use crate::status::RunStatus;
use deadpool_postgres::Transaction;

/// State of a placeholder row [`lock`] inserts for a lane without one; never committed, since
/// [`refresh`] overwrites or deletes it.
const PLACEHOLDER: i16 = 3;

/// Locks the lanes (sorted, each once), inserting placeholder rows for lanes without one.
/// Returns the lanes that had no row (no unfinished run): callers [`refresh`] at least those
/// before committing; a lane that had a row keeps its head when runs are only appended to it.
pub(crate) async fn lock<'a>(tx: &Transaction<'_>, lanes: &[&'a str]) -> Res<Vec<&'a str>> {
    let mut sorted: Vec<&str> = lanes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut new = Vec::new();
    for lane in sorted {
        let row = one(
            tx,
            "INSERT INTO lanes (lane, head, head_seq, state) VALUES ($1, 0, 0, $2)
             ON CONFLICT (lane) DO UPDATE SET state = lanes.state RETURNING state",
            &[&lane, &PLACEHOLDER],
        )
        .await?;
        if get::<i16>(&row, 0)? == PLACEHOLDER {
            new.push(lane);
        }
    }
    Ok(new)
}

/// Recomputes the (locked) lane's head from `runs`; deletes the row when nothing is unfinished.
pub(crate) async fn refresh(tx: &Transaction<'_>, lane: &str) -> Res<()> {
    let head = opt(
        tx,
        "SELECT id, seq, status, not_before FROM runs
         WHERE lane = $1 AND status IN ('queued', 'running', 'retrying') ORDER BY seq LIMIT 1",
        &[&lane],
    )
    .await?;
    let Some(head) = head else {
        exec(tx, "DELETE FROM lanes WHERE lane = $1", &[&lane]).await?;
        return Ok(());
    };
    let (id, seq): (i64, i64) = (get(&head, 0)?, get(&head, 1)?);
    let status: RunStatus = parse_status("run status", get(&head, 2)?)?;
    let (state, wake_at): (i16, Option<i64>) = match status {
        RunStatus::Running => (2, None),
        RunStatus::Retrying => (1, Some(get::<Option<i64>>(&head, 3)?.unwrap_or(0))),
        _ => (0, None),
    };
    exec(
        tx,
        "INSERT INTO lanes (lane, head, head_seq, state, wake_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (lane) DO UPDATE SET head = $2, head_seq = $3, state = $4, wake_at = $5",
        &[&lane, &id, &seq, &state, &wake_at],
    )
    .await?;
    Ok(())
}

/// Locks up to `limit` claimable lanes (queued heads, and retrying heads whose `wake_at` has
/// passed), oldest lane position first, skipping lanes another transaction holds.
pub(crate) async fn claimable(
    tx: &Transaction<'_>,
    limit: i64,
    now_us: i64,
) -> Res<Vec<(String, RunId)>> {
    let found = rows(
        tx,
        "SELECT lane, head FROM lanes WHERE state = 0 OR (state = 1 AND wake_at <= $1)
         ORDER BY head_seq LIMIT $2 FOR UPDATE SKIP LOCKED",
        &[&now_us, &limit],
    )
    .await?;
    found
        .iter()
        .map(|r| Ok((get(r, 0)?, RunId(get(r, 1)?))))
        .collect()
}

/// The earliest `wake_at` of a waiting head.
pub(crate) async fn next_wake(tx: &Transaction<'_>) -> Res<Option<i64>> {
    let row = one(tx, "SELECT min(wake_at) FROM lanes WHERE state = 1", &[]).await?;
    get(&row, 0)
}
