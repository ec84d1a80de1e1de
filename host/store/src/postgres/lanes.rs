//! The `lanes` table: the head of every lane with unfinished runs, and the lane's lock.
//!
//! Every transaction that changes a lane's runs first locks the lane's row ([`lock`], an upsert,
//! so it also works for a lane without a row), then recomputes the head ([`refresh`]) before it
//! commits. Claimers lock lane rows with `FOR UPDATE SKIP LOCKED`, so two nodes never claim from
//! one lane at once and a claimer never waits for a busy lane. Locks of several lanes are taken
//! in sorted order, so writers cannot deadlock on each other.

use super::fail::{Res, exec, get, one, rows};
use crate::ids::RunId;
use deadpool_postgres::Transaction;

/// State of a placeholder row [`lock`] inserts for a lane without one; never committed, since
/// [`refresh`] overwrites or deletes it.
const PLACEHOLDER: i16 = 3;

/// Locks the lanes (sorted, each once), inserting placeholder rows for lanes without one, in
/// one statement: rows are upserted in the array's order (`WITH ORDINALITY`), so every writer
/// takes lane locks in the same byte order. Returns the lanes that had no row (no unfinished
/// run): callers [`refresh`] at least those before committing; a lane that had a row keeps its
/// head when runs are only appended to it.
pub(crate) async fn lock<'a>(tx: &Transaction<'_>, lanes: &[&'a str]) -> Res<Vec<&'a str>> {
    let sorted = sorted_once(lanes);
    if sorted.is_empty() {
        return Ok(Vec::new());
    }
    let locked = rows(
        tx,
        "INSERT INTO lanes (lane, head, head_seq, state)
         SELECT t.lane, 0, 0, $2 FROM unnest($1::text[]) WITH ORDINALITY AS t(lane, n) ORDER BY t.n
         ON CONFLICT (lane) DO UPDATE SET state = lanes.state RETURNING lane, state",
        &[&sorted, &PLACEHOLDER],
    )
    .await?;
    let mut new = Vec::new();
    for row in &locked {
        if get::<i16>(row, 1)? == PLACEHOLDER {
            let lane: String = get(row, 0)?;
            if let Ok(at) = sorted.binary_search(&lane.as_str()) {
                new.push(sorted[at]);
            }
        }
    }
    Ok(new)
}

/// The lanes in byte order, each once.
fn sorted_once<'a>(lanes: &[&'a str]) -> Vec<&'a str> {
    let mut sorted: Vec<&str> = lanes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Recomputes the heads of the (locked) lanes from `runs` in one statement: a lane's head is
/// its first unfinished run; a lane with none loses its row.
pub(crate) async fn refresh(tx: &Transaction<'_>, lanes: &[&str]) -> Res<()> {
    let lanes = sorted_once(lanes);
    if lanes.is_empty() {
        return Ok(());
    }
    exec(
        tx,
        "WITH heads AS (
             SELECT w.lane, h.id, h.seq, h.status, h.not_before
             FROM unnest($1::text[]) AS w(lane)
             LEFT JOIN LATERAL (
                 SELECT id, seq, status, not_before FROM runs
                 WHERE lane = w.lane AND status IN ('queued', 'running', 'retrying')
                 ORDER BY seq LIMIT 1
             ) h ON TRUE
         ),
         emptied AS (DELETE FROM lanes WHERE lane IN (SELECT lane FROM heads WHERE id IS NULL))
         INSERT INTO lanes (lane, head, head_seq, state, wake_at)
         SELECT lane, id, seq,
             CASE status WHEN 'running' THEN 2 WHEN 'retrying' THEN 1 ELSE 0 END,
             CASE WHEN status = 'retrying' THEN COALESCE(not_before, 0) END
         FROM heads WHERE id IS NOT NULL
         ON CONFLICT (lane) DO UPDATE SET head = EXCLUDED.head, head_seq = EXCLUDED.head_seq,
             state = EXCLUDED.state, wake_at = EXCLUDED.wake_at",
        &[&lanes],
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
