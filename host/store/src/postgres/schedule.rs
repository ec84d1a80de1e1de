//! SQL for schedules: a slot fires once because its (schedule, slot) row is inserted first with
//! `ON CONFLICT DO NOTHING` (concurrent fires of one slot wait for the first and then do
//! nothing); per-schedule counters are upserts that saturate instead of overflowing.

use super::fail::{Res, exec, get, opt_first, opt_from_us, rows, to_i64, to_u64, to_us};
use super::intake::{insert_event, queue_runs};
use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::ops::{ScheduleState, SlotFire, SlotFired};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;

/// Handles due slots (see [`crate::Store::fire_slots`]). Each schedule's slots go in order;
/// different schedules' statements are pipelined on the one connection ([`IN_FLIGHT`] at a
/// time), so a storm of a thousand slots costs round trips in the dozens, not thousands.
/// Schedules are taken in key order, so two nodes firing overlapping sets wait on each other's
/// rows in the same order; the answers come back in the callers' order.
pub(crate) async fn fire_all(tx: &Transaction<'_>, fires: &[SlotFire]) -> Res<Vec<SlotFired>> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, fire) in fires.iter().enumerate() {
        by_key
            .entry(fire.schedule_key.as_str())
            .or_default()
            .push(i);
    }
    let mut answers = vec![SlotFired::Taken; fires.len()];
    let mut keyed = stream::iter(by_key.into_values())
        .map(|slots| fire_in_order(tx, fires, slots))
        .buffered(IN_FLIGHT);
    while let Some(done) = keyed.next().await {
        for (i, fired) in done? {
            answers[i] = fired;
        }
    }
    Ok(answers)
}

/// Schedules whose statements are in flight at once in [`fire_all`].
const IN_FLIGHT: usize = 64;

/// One schedule's slots (indexes into `fires`), oldest first.
async fn fire_in_order(
    tx: &Transaction<'_>,
    fires: &[SlotFire],
    mut slots: Vec<usize>,
) -> Res<Vec<(usize, SlotFired)>> {
    slots.sort_by_key(|&i| fires[i].slot);
    let mut done = Vec::with_capacity(slots.len());
    for i in slots {
        done.push((i, fire_bounded(tx, &fires[i]).await?));
    }
    Ok(done)
}

/// Skips the slot when the schedule is at its overlap bound, or fires it.
async fn fire_bounded(tx: &Transaction<'_>, f: &SlotFire) -> Res<SlotFired> {
    if let Some(bound) = f.max_unfinished
        && unfinished_runs(tx, &f.schedule_key, &f.run.lane).await? >= bound
    {
        if last_slot(tx, &f.schedule_key)
            .await?
            .is_some_and(|last| last >= f.slot)
        {
            return Ok(SlotFired::Taken);
        }
        count(tx, &f.schedule_key, 1, 0).await?;
        skip(tx, &f.schedule_key, f.slot).await?;
        return Ok(SlotFired::Skipped);
    }
    let fired = fire(tx, f).await?;
    Ok(fired.map_or(SlotFired::Taken, SlotFired::Fired))
}

/// Fires a slot with its event and run; `None` when the slot (or the event's dedupe key) exists.
async fn fire(tx: &Transaction<'_>, f: &SlotFire) -> Res<Option<RunId>> {
    let (key, slot_us, event) = (f.schedule_key.as_str(), to_us(f.slot), &f.event);
    let claimed = exec(
        tx,
        "INSERT INTO schedule_slots (schedule_key, slot, run_id) VALUES ($1, $2, 0)
         ON CONFLICT (schedule_key, slot) DO NOTHING",
        &[&key, &slot_us],
    )
    .await?;
    if claimed == 0 {
        return Ok(None);
    }
    let Some(event_id) = insert_event(tx, event).await? else {
        exec(
            tx,
            "DELETE FROM schedule_slots WHERE schedule_key = $1 AND slot = $2",
            &[&key, &slot_us],
        )
        .await?;
        return Ok(None);
    };
    let ids = queue_runs(
        tx,
        event_id,
        std::slice::from_ref(&f.run),
        to_us(event.received_at),
    )
    .await?;
    let Some(&run_id) = ids.first() else {
        let message = "the slot's run was not queued".to_owned();
        return Err(StoreError::Database { message }.into());
    };
    exec(
        tx,
        "UPDATE schedule_slots SET run_id = $3 WHERE schedule_key = $1 AND slot = $2",
        &[&key, &slot_us, &run_id.0],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO schedules (schedule_key, last_slot, fired, caught_up) VALUES ($1, $2, 1, $3)
         ON CONFLICT (schedule_key) DO UPDATE SET last_slot = greatest(schedules.last_slot, $2),
             fired = schedules.fired + 1, caught_up = schedules.caught_up + $3",
        &[&key, &slot_us, &i64::from(f.catch_up)],
    )
    .await?;
    Ok(Some(run_id))
}

/// Moves the schedule's `last_slot` past `slot` without a run.
pub(crate) async fn skip(tx: &Transaction<'_>, key: &str, slot: DateTime<Utc>) -> Res<()> {
    exec(
        tx,
        "INSERT INTO schedules (schedule_key, last_slot) VALUES ($1, $2)
         ON CONFLICT (schedule_key) DO UPDATE SET last_slot = greatest(schedules.last_slot, $2)",
        &[&key, &to_us(slot)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn last_slot(tx: &Transaction<'_>, key: &str) -> Res<Option<DateTime<Utc>>> {
    let sql = "SELECT last_slot FROM schedules WHERE schedule_key = $1";
    let last: Option<Option<i64>> = opt_first(tx, sql, &[&key]).await?;
    Ok(opt_from_us(last.flatten())?)
}

/// The schedule's open runs in `lane`, read through `runs_open` (never the schedule's slots).
pub(crate) async fn unfinished_runs(tx: &Transaction<'_>, key: &str, lane: &str) -> Res<u64> {
    let row = super::fail::one(
        tx,
        "SELECT count(*) FROM runs r
         WHERE r.lane = $2 AND r.status IN ('queued', 'running', 'retrying')
             AND EXISTS (SELECT 1 FROM schedule_slots s WHERE s.run_id = r.id AND s.schedule_key = $1)",
        &[&key, &lane],
    )
    .await?;
    Ok(to_u64(get(&row, 0)?))
}

/// Adds to the counters, saturating at the BIGINT maximum.
pub(crate) async fn count(tx: &Transaction<'_>, key: &str, skipped: u64, missed: u64) -> Res<()> {
    exec(
        tx,
        "INSERT INTO schedules (schedule_key, skipped, missed) VALUES ($1, $2, $3)
         ON CONFLICT (schedule_key) DO UPDATE SET
             skipped = CASE WHEN schedules.skipped > 9223372036854775807 - $2
                 THEN 9223372036854775807 ELSE schedules.skipped + $2 END,
             missed = CASE WHEN schedules.missed > 9223372036854775807 - $3
                 THEN 9223372036854775807 ELSE schedules.missed + $3 END",
        &[&key, &to_i64(skipped), &to_i64(missed)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn states(tx: &Transaction<'_>) -> Res<Vec<ScheduleState>> {
    let found = rows(
        tx,
        "SELECT schedule_key, last_slot, fired, caught_up, skipped, missed FROM schedules ORDER BY schedule_key",
        &[],
    )
    .await?;
    found
        .iter()
        .map(|r| {
            Ok(ScheduleState {
                schedule_key: get(r, 0)?,
                last_slot: opt_from_us(get(r, 1)?)?,
                fired: to_u64(get(r, 2)?),
                caught_up: to_u64(get(r, 3)?),
                skipped: to_u64(get(r, 4)?),
                missed: to_u64(get(r, 5)?),
            })
        })
        .collect()
}
