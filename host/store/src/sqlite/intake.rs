//! SQL for intake: events with their runs, and quarantined requests.

use super::counters::Counter;
use super::dedupe::StoredKey;
use super::fail::{Res, from_us, page, to_u64, to_us};
use super::lanes;
use super::packing::Packed;
use super::worker::Writer;
use crate::ids::{EventId, QuarantineId, RunId};
use crate::model::intake::{
    Ingested, NewEvent, NewQuarantine, NewRun, QuarantineEntry, QuarantineSummary,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Inserts the event with its `payload` (`e.payload` packed) and its stored `key` unless its
/// dedupe key is known; `None` for a duplicate.
pub(crate) fn insert_event(
    w: &mut Writer,
    e: &NewEvent,
    payload: &Packed,
    key: &StoredKey,
) -> Res<Option<EventId>> {
    let id = w.counters.next(Counter::EventId);
    let mut stmt = w.conn.prepare_cached(
        "INSERT INTO events (id, dedupe, dedupe_key, kind, connection_id, chat_id, payload,
             received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (dedupe) DO NOTHING",
    )?;
    let kind = w.name_id(&e.kind)?;
    let args = params![
        id,
        &key.digest[..],
        key.text,
        kind,
        e.connection_id,
        e.chat_id,
        payload,
        to_us(e.received_at)
    ];
    if stmt.execute(args)? != 1 {
        return Ok(None);
    }
    // Its payload words are indexed later, off this transaction (see `words`).
    Ok(Some(EventId(id)))
}

/// The event stored under a key's digest (a duplicate's first delivery).
pub(crate) const EVENT_BY_KEY: &str = "SELECT id FROM events WHERE dedupe = ?1";

fn event_id_by_key(conn: &Connection, key: &StoredKey) -> Res<EventId> {
    let mut stmt = conn.prepare_cached(EVENT_BY_KEY)?;
    Ok(EventId(stmt.query_row([&key.digest[..]], |r| r.get(0))?))
}

/// Queues one run of an event at the end of its lane.
pub(crate) fn insert_run(
    w: &mut Writer,
    event: EventId,
    run: &NewRun,
    created_us: i64,
) -> Res<RunId> {
    let seq = w.counters.next(Counter::LaneSeq);
    let id = RunId(w.counters.next(Counter::RunId));
    let budget = i64::from(run.max_attempts);
    let mut stmt = w.conn.prepare_cached(
        "INSERT INTO runs (id, event_id, plugin, lane, seq, status, budget, max_attempts, origin,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?7, ?8, ?8)",
    )?;
    let plugin = w.name_id(&run.plugin)?;
    let origin = w.name_id(&run.origin)?;
    let args = params![
        id.0, event.0, plugin, run.lane, seq, budget, origin, created_us
    ];
    stmt.execute(args)?;
    lanes::append(&w.conn, &run.lane, id, seq)?;
    w.woke = true;
    Ok(id)
}

/// Stores the event with its packed `payload` and stored `key`, and its runs (one job of the
/// batch transaction).
pub(crate) fn ingest(
    w: &mut Writer,
    event: &NewEvent,
    (payload, key): (&Packed, &StoredKey),
    runs: &[NewRun],
) -> Res<Ingested> {
    let Some(event_id) = insert_event(w, event, payload, key)? else {
        let event_id = event_id_by_key(&w.conn, key)?;
        return Ok(Ingested {
            event_id,
            duplicate: true,
            run_ids: Vec::new(),
        });
    };
    let created = to_us(event.received_at);
    let run_ids = runs
        .iter()
        .map(|run| insert_run(w, event_id, run, created))
        .collect::<Res<_>>()?;
    Ok(Ingested {
        event_id,
        duplicate: false,
        run_ids,
    })
}

pub(crate) fn quarantine(conn: &Connection, q: &NewQuarantine) -> Res<QuarantineId> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO quarantine (received_at, reason, headers, body) VALUES (?1, ?2, ?3, ?4) RETURNING id",
    )?;
    let args = params![to_us(q.received_at), q.reason, q.headers, q.body];
    Ok(QuarantineId(stmt.query_row(args, |r| r.get(0))?))
}

pub(crate) fn quarantine_list(
    conn: &Connection,
    limit: usize,
    before: Option<QuarantineId>,
) -> Res<Vec<QuarantineSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, reason, length(body) FROM quarantine
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let before = before.map_or(i64::MAX, |b| b.0);
    let rows = stmt.query_map(params![before, page(limit)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, at, reason, len) = row?;
        Ok(QuarantineSummary {
            id: QuarantineId(id),
            received_at: from_us(at)?,
            reason,
            body_len: to_u64(len),
        })
    })
    .collect()
}

pub(crate) fn quarantine_get(conn: &Connection, id: QuarantineId) -> Res<Option<QuarantineEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, reason, headers, body FROM quarantine WHERE id = ?1",
    )?;
    let row = stmt.query_row([id.0], quarantine_row).optional()?;
    row.map(|(id, at, reason, headers, body)| {
        Ok(QuarantineEntry {
            id: QuarantineId(id),
            received_at: from_us(at)?,
            reason,
            headers,
            body,
        })
    })
    .transpose()
}

type QuarantineRow = (i64, i64, String, String, Vec<u8>);

fn quarantine_row(r: &Row<'_>) -> rusqlite::Result<QuarantineRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

pub(crate) fn quarantine_delete(conn: &Connection, id: QuarantineId) -> Res<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM quarantine WHERE id = ?1")?
        .execute([id.0])?
        > 0)
}
