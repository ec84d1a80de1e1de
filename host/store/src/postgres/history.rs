//! SQL for history: runs and events, listed newest first with filters, and in detail.

use super::fail::{
    Res, from_us, get, one, opt, opt_from_us, page, parse_status, rows, to_u32, to_u64,
};
use super::ledger;
use crate::error::StoreError;
use crate::ids::{EventId, RunId};
use crate::model::dispatch::{ActionRow, FinishedAttempt, LogRow};
use crate::model::history::{
    EventDetail, EventFilter, EventRecord, EventSummary, RunDetail, RunFilter, RunSummary,
};
use crate::model::intake::NewEvent;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub(super) const SUMMARY: &str = "SELECT r.id, r.event_id, r.plugin, r.lane, r.status, r.attempt, r.max_attempts, r.origin,
        r.is_replay, e.kind, e.connection_id, e.chat_id, r.created_at, r.updated_at, r.not_before, r.node, r.error
    FROM runs r JOIN events e ON e.id = r.event_id";

pub(super) const EVENT: &str =
    "SELECT id, dedupe_key, kind, connection_id, chat_id, payload, received_at FROM events";

/// An event's listed columns: everything but the payload.
const EVENT_LISTED: &str =
    "SELECT id, dedupe_key, kind, connection_id, chat_id, received_at FROM events";

/// WHERE clauses (with `$n` placeholders numbered as they are added) and their parameters.
#[derive(Default)]
pub(super) struct Clauses {
    sql: Vec<String>,
    args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Clauses {
    /// Adds a clause whose `?` marks take the given parameters in order.
    pub(super) fn add(&mut self, sql: &str, args: Vec<Box<dyn ToSql + Sync + Send>>) {
        let mut n = self.args.len();
        let mut numbered = String::new();
        for (i, part) in sql.split('?').enumerate() {
            if i > 0 {
                n += 1;
                numbered.push_str(&format!("${n}"));
            }
            numbered.push_str(part);
        }
        self.sql.push(numbered);
        self.args.extend(args);
    }

    pub(super) fn render(&mut self, base: &str, order: &str, limit: i64) -> String {
        let mut sql = base.to_owned();
        if !self.sql.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.sql.join(" AND "));
        }
        self.args.push(Box::new(limit));
        sql.push_str(&format!("{order} LIMIT ${}", self.args.len()));
        sql
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Runs matching the filter, newest first; `None` when its text needs the word indexer first.
pub(crate) async fn list_runs(tx: &Transaction<'_>, f: &RunFilter) -> Res<Option<Vec<RunSummary>>> {
    let Some(mut c) = run_clauses(tx, f, 0).await? else {
        return Ok(None);
    };
    if let Some(before) = f.before {
        c.add("r.id < ?", vec![Box::new(before.0)]);
    }
    let sql = c.render(SUMMARY, " ORDER BY r.id DESC", page(f.limit));
    let found = rows(tx, &sql, &c.params()).await?;
    found.iter().map(summary).collect::<Res<_>>().map(Some)
}

/// Events matching a text filter above which its runs are counted among the newest only.
const COMMON_WORDS: i64 = 2_000;

/// Whether the text's words are in at most `COMMON_WORDS` events; `None` when the text needs
/// the word indexer first.
pub(super) async fn text_is_rare(tx: &Transaction<'_>, text: &str) -> Res<Option<bool>> {
    let words = crate::search::query_words(text);
    if words.is_empty() {
        return Ok(Some(true));
    }
    let Some(tail) = super::words::tail(tx, text).await? else {
        return Ok(None);
    };
    let sql = "SELECT count(*) FROM
                   (SELECT 1 FROM event_words WHERE words @> $1::text[] LIMIT $2) x";
    let limit = COMMON_WORDS + 1;
    let indexed: i64 = get(&one(tx, sql, &[&words, &limit]).await?, 0)?;
    let tail = i64::try_from(tail.len()).unwrap_or(i64::MAX);
    Ok(Some(indexed.saturating_add(tail) <= COMMON_WORDS))
}

/// The filter's plugin, status, kind, time, chat and text clauses (not its page), the text's
/// indexed matches read from event `events_from` on; `None` when its text needs the word
/// indexer first.
pub(super) async fn run_clauses(
    tx: &Transaction<'_>,
    f: &RunFilter,
    events_from: i64,
) -> Res<Option<Clauses>> {
    let mut c = Clauses::default();
    if let Some(kind) = &f.kind {
        c.add("e.kind = ?", vec![Box::new(kind.clone())]);
    }
    if let Some(until) = f.until {
        c.add("r.created_at < ?", vec![Box::new(until.timestamp_micros())]);
    }
    if let Some(text) = &f.text
        && !text_clause(tx, &mut c, text, events_from).await?
    {
        return Ok(None);
    }
    if let Some(plugin) = &f.plugin {
        c.add("r.plugin = ?", vec![Box::new(plugin.clone())]);
    }
    if let Some(status) = f.status {
        c.add("r.status = ?", vec![Box::new(status.as_str().to_owned())]);
    }
    if let Some(since) = f.since {
        c.add(
            "r.created_at >= ?",
            vec![Box::new(since.timestamp_micros())],
        );
    }
    if let Some((conn_id, chat)) = f.chat {
        c.add(
            "e.connection_id = ? AND e.chat_id = ?",
            vec![Box::new(conn_id), Box::new(chat)],
        );
    }
    Ok(Some(c))
}

/// Runs whose event holds every word of `text`: indexed in `event_words`, or among the events
/// the indexer has not reached yet (tokenised here). A text without words matches nothing
/// (`@>` an empty array would match all). False when too many events wait for the indexer.
async fn text_clause(
    tx: &Transaction<'_>,
    c: &mut Clauses,
    text: &str,
    events_from: i64,
) -> Res<bool> {
    let words = crate::search::query_words(text);
    if words.is_empty() {
        c.add("FALSE", Vec::new());
        return Ok(true);
    }
    let Some(tail) = super::words::tail(tx, text).await? else {
        return Ok(false);
    };
    let indexed = "SELECT x.event_id FROM event_words x WHERE x.words @> ?::text[]";
    let from = (events_from > 0).then_some(" AND x.event_id >= ?");
    let mut sql = format!("e.id IN ({indexed}{}", from.unwrap_or_default());
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(words)];
    args.extend(from.map(|_| Box::new(events_from) as Box<dyn ToSql + Sync + Send>));
    if !tail.is_empty() {
        sql.push_str(" UNION ALL SELECT unnest(?::bigint[])");
        args.push(Box::new(tail));
    }
    sql.push(')');
    c.add(&sql, args);
    Ok(true)
}

pub(super) fn summary(r: &Row) -> Res<RunSummary> {
    Ok(RunSummary {
        run_id: RunId(get(r, 0)?),
        event_id: EventId(get(r, 1)?),
        plugin: get(r, 2)?,
        lane: get(r, 3)?,
        status: parse_status("run status", get(r, 4)?)?,
        attempt: to_u32(get(r, 5)?),
        max_attempts: to_u32(get(r, 6)?),
        origin: get(r, 7)?,
        is_replay: get(r, 8)?,
        event_kind: get(r, 9)?,
        connection_id: get(r, 10)?,
        chat_id: get(r, 11)?,
        created_at: from_us(get(r, 12)?)?,
        updated_at: from_us(get(r, 13)?)?,
        not_before: opt_from_us(get(r, 14)?)?,
        node: get(r, 15)?,
        error: get(r, 16)?,
    })
}

/// Decodes an attempt's actions and logs; damaged text is reported as corrupt.
fn decode_detail(text: Option<&str>) -> Res<(Vec<ActionRow>, Vec<LogRow>)> {
    let Some(text) = text else {
        return Ok((Vec::new(), Vec::new()));
    };
    serde_json::from_str(text).map_err(|e| {
        StoreError::Corrupt {
            what: "attempt detail",
            detail: e.to_string(),
        }
        .into()
    })
}

fn attempt(r: &Row) -> Res<FinishedAttempt> {
    let (actions, logs) = decode_detail(get(r, 7)?)?;
    Ok(FinishedAttempt {
        attempt: to_u32(get(r, 0)?),
        status: parse_status("attempt status", get(r, 1)?)?,
        error: get(r, 2)?,
        started_at: from_us(get(r, 3)?)?,
        duration_us: to_u64(get(r, 4)?),
        node: get(r, 5)?,
        plugin_digest: get(r, 6)?,
        actions,
        logs,
    })
}

pub(crate) async fn get_run(tx: &Transaction<'_>, run: RunId) -> Res<Option<RunDetail>> {
    let row = opt(tx, &format!("{SUMMARY} WHERE r.id = $1"), &[&run.0]).await?;
    let Some(row) = row else { return Ok(None) };
    let summary = summary(&row)?;
    let Some(event) = event(tx, summary.event_id).await? else {
        return Ok(None);
    };
    let found = rows(
        tx,
        "SELECT attempt, status, error, started_at, duration_us, node, plugin_digest, detail
         FROM attempts WHERE run_id = $1 ORDER BY attempt",
        &[&run.0],
    )
    .await?;
    let attempts = found.iter().map(attempt).collect::<Res<_>>()?;
    let ledger = ledger::for_run(tx, run).await?;
    Ok(Some(RunDetail {
        run: summary,
        event,
        attempts,
        ledger,
    }))
}

pub(super) fn event_record(r: &Row) -> Res<EventRecord> {
    Ok(EventRecord {
        id: EventId(get(r, 0)?),
        event: NewEvent {
            dedupe_key: get(r, 1)?,
            kind: get(r, 2)?,
            connection_id: get(r, 3)?,
            chat_id: get(r, 4)?,
            payload: get(r, 5)?,
            received_at: from_us(get(r, 6)?)?,
        },
    })
}

async fn event(tx: &Transaction<'_>, id: EventId) -> Res<Option<EventRecord>> {
    let row = opt(tx, &format!("{EVENT} WHERE id = $1"), &[&id.0]).await?;
    row.as_ref().map(event_record).transpose()
}

pub(crate) async fn list_events(tx: &Transaction<'_>, f: &EventFilter) -> Res<Vec<EventSummary>> {
    let mut c = Clauses::default();
    if let Some(kind) = &f.kind {
        c.add("kind = ?", vec![Box::new(kind.clone())]);
    }
    if let Some((conn_id, chat)) = f.chat {
        c.add(
            "connection_id = ? AND chat_id = ?",
            vec![Box::new(conn_id), Box::new(chat)],
        );
    }
    if let Some(since) = f.since {
        c.add("received_at >= ?", vec![Box::new(since.timestamp_micros())]);
    }
    if let Some(before) = f.before {
        c.add("id < ?", vec![Box::new(before.0)]);
    }
    let sql = c.render(EVENT_LISTED, " ORDER BY id DESC", page(f.limit));
    let found = rows(tx, &sql, &c.params()).await?;
    found.iter().map(event_summary).collect()
}

fn event_summary(r: &Row) -> Res<EventSummary> {
    Ok(EventSummary {
        id: EventId(get(r, 0)?),
        dedupe_key: get(r, 1)?,
        kind: get(r, 2)?,
        connection_id: get(r, 3)?,
        chat_id: get(r, 4)?,
        received_at: from_us(get(r, 5)?)?,
    })
}

pub(crate) async fn get_event(tx: &Transaction<'_>, id: EventId) -> Res<Option<EventDetail>> {
    let Some(event) = event(tx, id).await? else {
        return Ok(None);
    };
    let found = rows(
        tx,
        &format!("{SUMMARY} WHERE r.event_id = $1 ORDER BY r.id"),
        &[&id.0],
    )
    .await?;
    let runs = found.iter().map(summary).collect::<Res<_>>()?;
    Ok(Some(EventDetail { event, runs }))
}
