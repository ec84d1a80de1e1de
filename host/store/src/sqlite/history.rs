//! SQL for history: runs and events, listed newest first with filters, and in detail.

use super::fail::{Res, from_us, opt_from_us, page, parse_status, to_u32, to_u64, to_us};
use super::{dedupe, detail, ledger, packing, sources, words};
use crate::ids::{EventId, RunId};
use crate::model::dispatch::FinishedAttempt;
use crate::model::history::{
    EventDetail, EventFilter, EventRecord, EventSummary, RunDetail, RunFilter, RunSummary,
};
use crate::model::intake::NewEvent;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

/// A run's summary columns; its plugin, origin and node are ids of `names` (see `names`).
pub(super) const SUMMARY: &str = "SELECT r.id, r.event_id,
        (SELECT name FROM names WHERE id = r.plugin), r.lane, r.status, r.attempt,
        r.max_attempts, (SELECT name FROM names WHERE id = r.origin), r.is_replay,
        (SELECT name FROM names WHERE id = e.kind),
        e.connection_id, e.chat_id, r.created_at, r.updated_at, r.not_before,
        (SELECT name FROM names WHERE id = r.node), r.error
    FROM runs r JOIN events e ON e.id = r.event_id";

pub(super) const EVENT: &str =
    "SELECT id, dedupe_key, (SELECT name FROM names WHERE names.id = events.kind),
        connection_id, chat_id, payload, received_at
    FROM events";

/// An event's listed columns: everything but the payload, which is read only when the dedupe
/// key is in it (see `dedupe`).
const EVENT_LISTED: &str = "SELECT id, dedupe_key,
        (SELECT name FROM names WHERE names.id = events.kind), connection_id, chat_id, received_at,
        CASE WHEN dedupe_key IS NULL THEN payload END
    FROM events";

/// The runs of one plugin (by name; `runs.plugin` holds its id in `names`).
pub(super) const PLUGIN_IS: &str = "r.plugin = (SELECT id FROM names WHERE name = ?)";

/// WHERE clauses and their parameters, built from a filter.
#[derive(Default)]
pub(super) struct Clauses {
    sql: Vec<&'static str>,
    pub(super) args: Vec<Value>,
}

impl Clauses {
    pub(super) fn add(&mut self, sql: &'static str, args: impl IntoIterator<Item = Value>) {
        self.sql.push(sql);
        self.args.extend(args);
    }

    /// Adds a clause comparing a stored time (microseconds) with `at`.
    pub(super) fn add_time(&mut self, sql: &'static str, at: DateTime<Utc>) {
        self.add(sql, [Value::Integer(to_us(at))]);
    }

    /// Adds a clause on one chat: `sql` has a placeholder for the connection id, then the chat id.
    pub(super) fn add_chat(&mut self, sql: &'static str, (connection, chat): (i64, i64)) {
        self.add(sql, [Value::Integer(connection), Value::Integer(chat)]);
    }

    pub(super) fn render(&self, base: &str, order: &str) -> String {
        let mut sql = base.to_owned();
        if !self.sql.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.sql.join(" AND "));
        }
        sql.push_str(order);
        sql
    }
}

/// Runs matching the filter, newest first; `None` when its text needs the word indexer first
/// (see [`words::find`]).
pub(crate) fn list_runs(conn: &Connection, f: &RunFilter) -> Res<Option<Vec<RunSummary>>> {
    let Some(text) = &f.text else {
        return page_of(conn, f, None).map(Some);
    };
    let Some(found) = words::find(conn, text)? else {
        return Ok(None);
    };
    if matches(conn, &found)? <= COMMON_WORDS {
        return page_of(conn, f, Some((found, TextWay::Indexed(None)))).map(Some);
    }
    // A common word: the page is most likely among the newest runs below its start; reading the
    // word's matches among their events is cheaper than a lookup per run walked. A full page
    // there is the page (every matching run above the floor is in it); otherwise walk.
    if let Some(floor) = probe_floor(conn, f.before)? {
        let window = Some((found.clone(), TextWay::Indexed(Some(floor))));
        let runs = page_of(conn, f, window)?;
        if runs.len() >= usize::try_from(page(f.limit)).unwrap_or(usize::MAX) {
            return Ok(Some(runs));
        }
    }
    page_of(conn, f, Some((found, TextWay::Walk))).map(Some)
}

/// How a page finds the runs of a text's events.
enum TextWay {
    /// Through the word's indexed matches: all of them, or those of the runs above a floor.
    Indexed(Option<ProbeFloor>),
    /// A lookup in the index per run walked, newest first.
    Walk,
}

/// The run ids a first try of a common word's page reads above, and their lowest event.
#[derive(Debug, Clone, Copy)]
struct ProbeFloor {
    run: i64,
    event: i64,
}

/// Run ids a common word's page first looks among.
const PROBE_RUNS: i64 = 10_000;

/// The floor of the newest [`PROBE_RUNS`] run ids below `before`; `None` when there is no run.
fn probe_floor(conn: &Connection, before: Option<RunId>) -> Res<Option<ProbeFloor>> {
    let top: Option<i64> = match before {
        Some(b) => Some(b.0.saturating_sub(1)),
        None => conn
            .prepare_cached("SELECT max(id) FROM runs")?
            .query_row([], |r| r.get(0))?,
    };
    let Some(top) = top else { return Ok(None) };
    let run = top.saturating_sub(PROBE_RUNS);
    let event: Option<i64> = conn
        .prepare_cached("SELECT min(event_id) FROM runs WHERE id > ?1 AND id <= ?2")?
        .query_row([run, top], |r| r.get(0))?;
    Ok(event.map(|event| ProbeFloor { run, event }))
}

/// One page of the filter's runs, its text (if any) found the given way.
fn page_of(
    conn: &Connection,
    f: &RunFilter,
    text: Option<(words::Found, TextWay)>,
) -> Res<Vec<RunSummary>> {
    let mut c = Clauses::default();
    match text {
        Some((found, TextWay::Walk)) => text_clause(&mut c, found, true, 0),
        Some((found, TextWay::Indexed(floor))) => {
            text_clause(&mut c, found, false, floor.map_or(0, |fl| fl.event));
            if let Some(fl) = floor {
                c.add("r.id > ?", [Value::Integer(fl.run)]);
            }
        }
        None => {}
    }
    filter_clauses(&mut c, f);
    if let Some(before) = f.before {
        c.add("r.id < ?", [Value::Integer(before.0)]);
    }
    c.args.push(Value::Integer(page(f.limit)));
    let sql = c.render(SUMMARY, " ORDER BY r.id DESC LIMIT ?");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(c.args.iter()), summary_row)?;
    rows.map(|r| r?.finish()).collect()
}

/// Events matching a text filter above which a page of runs is found by walking the runs newest
/// first (stopping at the page's end) rather than by sorting every match.
const COMMON_WORDS: i64 = 2_000;

/// How many events hold every word of the text: the indexed ones counted up to
/// `COMMON_WORDS + 1`, and those the indexer has not reached, so whether a word is common does
/// not depend on how far behind the indexer is.
fn matches(conn: &Connection, found: &words::Found) -> Res<i64> {
    let Some(query) = &found.fts else {
        return Ok(0);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM
             (SELECT 1 FROM words.event_words WHERE event_words MATCH ?1 LIMIT ?2)",
    )?;
    let indexed: i64 = stmt.query_row(
        params_from_iter([Value::Text(query.clone()), Value::Integer(COMMON_WORDS + 1)]),
        |r| r.get(0),
    )?;
    Ok(indexed.saturating_add(found.tail_len))
}

/// Whether the text's words are in at most `COMMON_WORDS` events; `None` when the text needs
/// the word indexer first.
pub(super) fn text_is_rare(conn: &Connection, text: &str) -> Res<Option<bool>> {
    let Some(found) = words::find(conn, text)? else {
        return Ok(None);
    };
    Ok(Some(matches(conn, &found)? <= COMMON_WORDS))
}

/// The filter's plugin, status, kind, time, chat and text clauses (not its page), the text's
/// indexed matches read from event `events_from` on; `None` when its text needs the word
/// indexer first.
pub(super) fn run_clauses(
    conn: &Connection,
    f: &RunFilter,
    events_from: i64,
) -> Res<Option<Clauses>> {
    let mut c = Clauses::default();
    if let Some(text) = &f.text {
        let Some(found) = words::find(conn, text)? else {
            return Ok(None);
        };
        text_clause(&mut c, found, false, events_from);
    }
    filter_clauses(&mut c, f);
    Ok(Some(c))
}

/// The filter's clauses but its text.
fn filter_clauses(c: &mut Clauses, f: &RunFilter) {
    if let Some(kind) = &f.kind {
        c.add(
            "e.kind = (SELECT id FROM names WHERE name = ?)",
            [Value::Text(kind.clone())],
        );
    }
    if let Some(until) = f.until {
        c.add_time("r.created_at < ?", until);
    }
    if let Some(plugin) = &f.plugin {
        c.add(PLUGIN_IS, [Value::Text(plugin.clone())]);
    }
    if let Some(status) = f.status {
        c.add("r.status = ?", [Value::Text(status.as_str().to_owned())]);
    }
    if let Some(since) = f.since {
        c.add_time("r.created_at >= ?", since);
    }
    if let Some(chat) = f.chat {
        c.add_chat("e.connection_id = ? AND e.chat_id = ?", chat);
    }
}

/// Runs whose event holds every word of the text: found through the `event_words` index, or
/// among the events the indexer has not reached yet (`found.tail`). With `common`, each run's
/// event is looked up in the index instead (one seek per run), so a page walks the runs newest
/// first and stops when it is full, never reading every match. Otherwise only the matches from
/// event `events_from` on are read (a count over the newest runs needs no older ones).
fn text_clause(c: &mut Clauses, found: words::Found, common: bool, events_from: i64) {
    let Some(query) = found.fts else {
        c.add("0", std::iter::empty());
        return;
    };
    let tail = found.tail.map(Value::Text);
    let query = Value::Text(query);
    if common {
        let sql = if tail.is_some() {
            "(EXISTS (SELECT 1 FROM words.event_words WHERE event_words MATCH ? AND rowid = e.id)
              OR e.id IN (SELECT value FROM json_each(?)))"
        } else {
            "EXISTS (SELECT 1 FROM words.event_words WHERE event_words MATCH ? AND rowid = e.id)"
        };
        c.add(sql, std::iter::once(query).chain(tail));
        return;
    }
    let sql = if tail.is_some() {
        "e.id IN (SELECT rowid FROM words.event_words WHERE event_words MATCH ? AND rowid >= ?
                  UNION ALL SELECT value FROM json_each(?))"
    } else {
        "e.id IN (SELECT rowid FROM words.event_words WHERE event_words MATCH ? AND rowid >= ?)"
    };
    let from = Value::Integer(events_from);
    c.add(sql, [query, from].into_iter().chain(tail));
}

/// The raw columns of a summary row; `finish` decodes statuses and times.
pub(super) struct RawSummary {
    id: i64,
    event_id: i64,
    plugin: String,
    lane: String,
    status: String,
    attempt: i64,
    max_attempts: i64,
    origin: String,
    is_replay: bool,
    kind: String,
    chat: (Option<i64>, Option<i64>),
    times: (i64, i64, Option<i64>),
    node: Option<String>,
    error: Option<String>,
}

pub(super) fn summary_row(r: &Row<'_>) -> rusqlite::Result<RawSummary> {
    Ok(RawSummary {
        id: r.get(0)?,
        event_id: r.get(1)?,
        plugin: r.get(2)?,
        lane: r.get(3)?,
        status: r.get(4)?,
        attempt: r.get(5)?,
        max_attempts: r.get(6)?,
        origin: r.get(7)?,
        is_replay: r.get(8)?,
        kind: r.get(9)?,
        chat: (r.get(10)?, r.get(11)?),
        times: (r.get(12)?, r.get(13)?, r.get(14)?),
        node: r.get(15)?,
        error: r.get(16)?,
    })
}

impl RawSummary {
    pub(super) fn finish(self) -> Res<RunSummary> {
        Ok(RunSummary {
            run_id: RunId(self.id),
            event_id: EventId(self.event_id),
            plugin: self.plugin,
            lane: self.lane,
            status: parse_status("run status", &self.status)?,
            attempt: to_u32(self.attempt),
            max_attempts: to_u32(self.max_attempts),
            origin: self.origin,
            is_replay: self.is_replay,
            event_kind: self.kind,
            connection_id: self.chat.0,
            chat_id: self.chat.1,
            created_at: from_us(self.times.0)?,
            updated_at: from_us(self.times.1)?,
            not_before: opt_from_us(self.times.2)?,
            node: self.node,
            error: self.error,
        })
    }
}

fn run_summary(conn: &Connection, run: RunId) -> Res<Option<RunSummary>> {
    let mut stmt = conn.prepare_cached(&format!("{SUMMARY} WHERE r.id = ?1"))?;
    stmt.query_row([run.0], summary_row)
        .optional()?
        .map(RawSummary::finish)
        .transpose()
}

fn attempts(conn: &Connection, run: RunId) -> Res<Vec<FinishedAttempt>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.attempt, (SELECT name FROM names WHERE names.id = a.status), a.error,
             a.started_at, a.duration_us, s.node, {}, a.detail
         FROM attempts a {} WHERE a.run_id = ?1 ORDER BY a.attempt",
        sources::DIGEST,
        sources::JOIN
    ))?;
    let rows = stmt.query_map([run.0], |r| {
        Ok((
            (
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
            ),
            (
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, rusqlite::types::Value>(6)?,
            ),
            r.get::<_, rusqlite::types::Value>(7)?,
        ))
    })?;
    let ledger = detail::ledger_texts(conn, run)?;
    rows.map(|row| {
        let ((attempt, status, error, started), (duration, node, plugin_digest), text) = row?;
        let text = packing::unpack_value("attempt detail", text)?;
        let plugin_digest = super::digests::unpack("plugin digest", plugin_digest)?;
        let (actions, logs) = detail::decode(text.as_deref(), &ledger)?;
        Ok(FinishedAttempt {
            attempt: to_u32(attempt),
            status: parse_status("attempt status", &status)?,
            error,
            started_at: from_us(started)?,
            duration_us: to_u64(duration),
            node,
            plugin_digest,
            actions,
            logs,
        })
    })
    .collect()
}

pub(crate) fn get_run(conn: &Connection, run: RunId) -> Res<Option<RunDetail>> {
    let Some(summary) = run_summary(conn, run)? else {
        return Ok(None);
    };
    let Some(event) = event(conn, summary.event_id)? else {
        return Ok(None);
    };
    let attempts = attempts(conn, run)?;
    let ledger = ledger::for_run(conn, run)?;
    Ok(Some(RunDetail {
        run: summary,
        event,
        attempts,
        ledger,
    }))
}

/// An event row as read: the record without its dedupe key, payload and time, which
/// [`with_time`] decodes.
pub(super) type EventRow = (EventRecord, Option<String>, i64, rusqlite::types::Value);

pub(super) fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    let record = EventRecord {
        id: EventId(r.get(0)?),
        event: NewEvent {
            dedupe_key: String::new(),
            kind: r.get(2)?,
            connection_id: r.get(3)?,
            chat_id: r.get(4)?,
            payload: String::new(),
            received_at: chrono::DateTime::UNIX_EPOCH,
        },
    };
    Ok((record, r.get(1)?, r.get(6)?, r.get(5)?))
}

pub(super) fn with_time((mut record, key, at, payload): EventRow) -> Res<EventRecord> {
    let event = &mut record.event;
    event.received_at = from_us(at)?;
    event.payload = packing::unpack_required("event payload", payload)?;
    event.dedupe_key = dedupe::resolve(key, &event.payload)?;
    Ok(record)
}

fn event(conn: &Connection, id: EventId) -> Res<Option<EventRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{EVENT} WHERE id = ?1"))?;
    stmt.query_row([id.0], event_row)
        .optional()?
        .map(with_time)
        .transpose()
}

pub(crate) fn list_events(conn: &Connection, f: &EventFilter) -> Res<Vec<EventSummary>> {
    let mut c = Clauses::default();
    if let Some(kind) = &f.kind {
        c.add(
            "kind = (SELECT id FROM names WHERE name = ?)",
            [Value::Text(kind.clone())],
        );
    }
    if let Some(chat) = f.chat {
        c.add_chat("connection_id = ? AND chat_id = ?", chat);
    }
    if let Some(since) = f.since {
        c.add_time("received_at >= ?", since);
    }
    if let Some(before) = f.before {
        c.add("id < ?", [Value::Integer(before.0)]);
    }
    c.args.push(Value::Integer(page(f.limit)));
    let sql = c.render(EVENT_LISTED, " ORDER BY id DESC LIMIT ?");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(c.args.iter()), |r| {
        Ok((
            EventSummary {
                id: EventId(r.get(0)?),
                dedupe_key: String::new(),
                kind: r.get(2)?,
                connection_id: r.get(3)?,
                chat_id: r.get(4)?,
                received_at: chrono::DateTime::UNIX_EPOCH,
            },
            (r.get::<_, i64>(5)?, r.get(1)?, r.get(6)?),
        ))
    })?;
    rows.map(|r| {
        let (mut summary, (at, key, payload)) = r?;
        summary.received_at = from_us(at)?;
        summary.dedupe_key = listed_key(key, payload)?;
        Ok(summary)
    })
    .collect()
}

/// A listed event's dedupe key: its text, or the one its payload (read only then) carries.
fn listed_key(key: Option<String>, payload: rusqlite::types::Value) -> Res<String> {
    if key.is_some() {
        return dedupe::resolve(key, "");
    }
    let payload = packing::unpack_required("event payload", payload)?;
    dedupe::resolve(None, &payload)
}

pub(crate) fn get_event(conn: &Connection, id: EventId) -> Res<Option<EventDetail>> {
    let Some(event) = event(conn, id)? else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached(&format!("{SUMMARY} WHERE r.event_id = ?1 ORDER BY r.id"))?;
    let runs = stmt
        .query_map([id.0], summary_row)?
        .map(|r| r?.finish())
        .collect::<Res<_>>()?;
    Ok(Some(EventDetail { event, runs }))
}
