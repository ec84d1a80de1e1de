//! SQL for schedules: unique (schedule, slot) fires, and per-schedule counters.

use super::dedupe::StoredKey;
use super::fail::{Res, opt_from_us, to_i64, to_u64, to_us};
use super::intake::{insert_event, insert_run};
use super::packing;
use super::worker::Writer;
use crate::ids::RunId;
use crate::model::ops::{ScheduleState, SlotFire, SlotFired};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Handles due slots in order (see [`crate::Store::fire_slots`]).
pub(crate) fn fire_all(w: &mut Writer, fires: &[SlotFire]) -> Res<Vec<SlotFired>> {
    fires.iter().map(|f| fire_bounded(w, f)).collect()
}

/// Skips the slot when the schedule is at its overlap bound, or fires it.
fn fire_bounded(w: &mut Writer, f: &SlotFire) -> Res<SlotFired> {
    if let Some(bound) = f.max_unfinished
        && unfinished_runs(&w.conn, &f.schedule_key, &f.run.lane)? >= bound
    {
        if handled(&w.conn, &f.schedule_key, f.slot)? {
            return Ok(SlotFired::Taken);
        }
        count(&w.conn, &f.schedule_key, 1, 0)?;
        skip(w, &f.schedule_key, f.slot)?;
        return Ok(SlotFired::Skipped);
    }
    let fired = fire(w, f)?;
    Ok(fired.map_or(SlotFired::Taken, SlotFired::Fired))
}

/// Whether the slot fired already, or a later one of its schedule was handled.
fn handled(conn: &Connection, key: &str, slot: DateTime<Utc>) -> Res<bool> {
    let last = last_slot(conn, key)?;
    Ok(last.is_some_and(|last| last >= slot))
}

/// Fires a slot with its event and run; `None` when the slot (or the event's dedupe key) exists.
fn fire(w: &mut Writer, f: &SlotFire) -> Res<Option<RunId>> {
    let (key, slot, event) = (f.schedule_key.as_str(), f.slot, &f.event);
    let mut exists = w
        .conn
        .prepare_cached("SELECT 1 FROM schedule_slots WHERE schedule_key = ?1 AND slot = ?2")?;
    if exists
        .query_row(params![key, to_us(slot)], |_| Ok(()))
        .optional()?
        .is_some()
    {
        return Ok(None);
    }
    drop(exists);
    let stored = StoredKey::new(&event.dedupe_key, &event.payload);
    let payload = packing::pack(event.payload.clone());
    let Some(event_id) = insert_event(w, event, &payload, &stored)? else {
        return Ok(None);
    };
    let run_id = insert_run(w, event_id, &f.run, to_us(event.received_at))?;
    let mut stmt = w.conn.prepare_cached(
        "INSERT INTO schedule_slots (schedule_key, slot, run_id) VALUES (?1, ?2, ?3)",
    )?;
    stmt.execute(params![key, to_us(slot), run_id.0])?;
    let mut state = w.conn.prepare_cached(
        "INSERT INTO schedules (schedule_key, last_slot, fired, caught_up) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT (schedule_key) DO UPDATE SET last_slot = max(coalesce(last_slot, ?2), ?2),
             fired = fired + 1, caught_up = caught_up + ?3",
    )?;
    state.execute(params![key, to_us(slot), i64::from(f.catch_up)])?;
    Ok(Some(run_id))
}

/// Moves the schedule's `last_slot` past `slot` without a run.
pub(crate) fn skip(w: &mut Writer, key: &str, slot: DateTime<Utc>) -> Res<()> {
    let mut state = w.conn.prepare_cached(
        "INSERT INTO schedules (schedule_key, last_slot) VALUES (?1, ?2)
         ON CONFLICT (schedule_key) DO UPDATE SET last_slot = max(coalesce(last_slot, ?2), ?2)",
    )?;
    state.execute(params![key, to_us(slot)])?;
    Ok(())
}

pub(crate) fn last_slot(conn: &Connection, key: &str) -> Res<Option<DateTime<Utc>>> {
    let mut stmt =
        conn.prepare_cached("SELECT last_slot FROM schedules WHERE schedule_key = ?1")?;
    Ok(opt_from_us(
        stmt.query_row([key], |r| r.get(0)).optional()?.flatten(),
    )?)
}

/// The schedule's open runs in `lane`, read from `runs_open` (never the schedule's slots).
pub(crate) fn unfinished_runs(conn: &Connection, key: &str, lane: &str) -> Res<u64> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM runs r INDEXED BY runs_open
         WHERE r.lane = ?2 AND r.status IN ('queued', 'running', 'retrying')
             AND EXISTS (SELECT 1 FROM schedule_slots s WHERE s.run_id = r.id AND s.schedule_key = ?1)",
    )?;
    Ok(to_u64(stmt.query_row([key, lane], |r| r.get(0))?))
}

pub(crate) fn count(conn: &Connection, key: &str, skipped: u64, missed: u64) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO schedules (schedule_key, skipped, missed) VALUES (?1, ?2, ?3)
         ON CONFLICT (schedule_key) DO UPDATE SET skipped = skipped + ?2, missed = missed + ?3",
    )?;
    stmt.execute(params![key, to_i64(skipped), to_i64(missed)])?;
    Ok(())
}

pub(crate) fn states(conn: &Connection) -> Res<Vec<ScheduleState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT schedule_key, last_slot, fired, caught_up, skipped, missed FROM schedules ORDER BY schedule_key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            [r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
        ))
    })?;
    rows.map(|row| {
        let (schedule_key, last, [fired, caught_up, skipped, missed]) = row?;
        Ok(ScheduleState {
            schedule_key,
            last_slot: opt_from_us(last)?,
            fired: to_u64(fired),
            caught_up: to_u64(caught_up),
            skipped: to_u64(skipped),
            missed: to_u64(missed),
        })
    })
    .collect()
}
