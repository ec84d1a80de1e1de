//! SQL for the dashboard's read models: the oldest kept run, connections by index, and a chat's
//! timeline in one read.

use super::fail::Res;
use super::history::{EVENT, RawSummary, SUMMARY, event_row, summary_row, with_time};
use super::ledger;
use super::names::STATUS_KIND;
use crate::convert::page;
use crate::model::history::{EventRecord, RunSummary};
use crate::model::views::{ChatTimeline, ConnectionActivity, ConnectionFailures};
use crate::shared_sql::failures_sql;
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) fn oldest_run(conn: &Connection) -> Res<Option<RunSummary>> {
    let mut stmt = conn.prepare_cached(&format!("{SUMMARY} ORDER BY r.id LIMIT 1"))?;
    stmt.query_row([], summary_row)
        .optional()?
        .map(RawSummary::finish)
        .transpose()
}

/// Distinct connection ids in order, hopping along `events_connection` (one index seek each).
const CONNECTION_IDS: &str = "WITH RECURSIVE c(id) AS (
        SELECT MIN(connection_id) FROM events WHERE connection_id IS NOT NULL
        UNION ALL
        SELECT (SELECT MIN(connection_id) FROM events WHERE connection_id > c.id)
        FROM c WHERE c.id IS NOT NULL
    )
    SELECT id FROM c WHERE id IS NOT NULL LIMIT ?1";

/// A connection's newest status event, from `events_connection_status` (its condition repeated
/// word for word: the kind's id, a constant).
pub(super) fn newest_status_sql() -> String {
    format!("{EVENT} WHERE connection_id = ?1 AND kind = {STATUS_KIND} ORDER BY id DESC LIMIT 1")
}

pub(crate) fn connections(conn: &Connection, limit: usize) -> Res<Vec<ConnectionActivity>> {
    let mut stmt = conn.prepare_cached(CONNECTION_IDS)?;
    let ids = stmt
        .query_map([page(limit)], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let newest = format!("{EVENT} WHERE connection_id = ?1 ORDER BY id DESC LIMIT 1");
        let Some(last_event) = newest_event(conn, &newest, id)? else {
            continue;
        };
        let status = newest_status_sql();
        found.push(ConnectionActivity {
            connection_id: id,
            last_event,
            last_status: newest_event(conn, &status, id)?,
        });
    }
    Ok(found)
}

fn newest_event(conn: &Connection, sql: &str, connection: i64) -> Res<Option<EventRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    stmt.query_row([connection], event_row)
        .optional()?
        .map(with_time)
        .transpose()
}

pub(crate) fn chat_timeline(
    conn: &Connection,
    connection: i64,
    chat: i64,
    limit: usize,
) -> Res<ChatTimeline> {
    // One snapshot for the three reads (the reader connection is read-only).
    let tx = conn.unchecked_transaction()?;
    let timeline = timeline_reads(&tx, connection, chat, limit)?;
    tx.finish()?;
    Ok(timeline)
}

fn timeline_reads(
    conn: &Connection,
    connection: i64,
    chat: i64,
    limit: usize,
) -> Res<ChatTimeline> {
    let mut stmt = conn.prepare_cached(&format!(
        "{EVENT} WHERE connection_id = ?1 AND chat_id = ?2 ORDER BY id DESC LIMIT ?3"
    ))?;
    let events = stmt
        .query_map(params![connection, chat, page(limit)], event_row)?
        .map(|r| with_time(r?))
        .collect::<Res<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SUMMARY} WHERE e.connection_id = ?1 AND e.chat_id = ?2 ORDER BY r.id DESC LIMIT ?3"
    ))?;
    let runs = stmt
        .query_map(params![connection, chat, page(limit)], summary_row)?
        .map(|r| r?.finish())
        .collect::<Res<Vec<_>>>()?;
    let mut entries = Vec::new();
    for run in &runs {
        entries.extend(ledger::for_run(conn, run.run_id)?);
    }
    Ok(ChatTimeline {
        events,
        runs,
        ledger: entries,
    })
}

pub(crate) fn failures_by_connection(
    conn: &Connection,
    since_us: i64,
    limit: usize,
) -> Res<Vec<ConnectionFailures>> {
    let mut stmt = conn.prepare_cached(&failures_sql("?1", "?2"))?;
    let limit = page(limit).saturating_mul(10);
    let rows = stmt.query_map(params![since_us, limit], |r| {
        Ok(ConnectionFailures {
            connection_id: r.get(0)?,
            error: r.get(1)?,
            runs: crate::convert::to_u64(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
