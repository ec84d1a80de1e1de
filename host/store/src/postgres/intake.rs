//! SQL for intake: events with their runs, and quarantined requests.

use std::collections::{HashMap, HashSet};

use super::fail::{Res, exec, from_us, get, one, opt, page, rows, to_u64, to_us};
use super::lanes;
use crate::error::StoreError;
use crate::ids::{EventId, QuarantineId, RunId};
use crate::model::intake::{
    Ingested, NewEvent, NewQuarantine, NewRun, QuarantineEntry, QuarantineSummary,
};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

/// Inserts the event unless its dedupe key is known; `None` for a duplicate. Its payload words
/// are indexed later, off this transaction (see `words`).
pub(crate) async fn insert_event(tx: &Transaction<'_>, e: &NewEvent) -> Res<Option<EventId>> {
    let row = opt(
        tx,
        "INSERT INTO events (dedupe_key, kind, connection_id, chat_id, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        &[
            &e.dedupe_key,
            &e.kind,
            &e.connection_id,
            &e.chat_id,
            &e.payload,
            &to_us(e.received_at),
        ],
    )
    .await?;
    row.map(|r| Ok(EventId(get(&r, 0)?))).transpose()
}

/// Queues the runs of a stored event: locks their lanes, inserts them in order and sets the
/// head of lanes that had none.
pub(crate) async fn queue_runs(
    tx: &Transaction<'_>,
    event: EventId,
    runs: &[NewRun],
    created: i64,
) -> Res<Vec<RunId>> {
    let lane_names: Vec<&str> = runs.iter().map(|r| r.lane.as_str()).collect();
    let new_lanes = lanes::lock(tx, &lane_names).await?;
    let queued: Vec<(i64, &NewRun, i64)> = runs.iter().map(|r| (event.0, r, created)).collect();
    let ids = insert_runs(tx, &queued).await?;
    // Appending never changes the head of a lane that already had one.
    lanes::refresh(tx, &new_lanes).await?;
    Ok(ids)
}

/// One event to store with its runs, in a group commit's ingests ([`store_events`],
/// [`queue_stored`]).
pub(crate) struct Ingesting<'a> {
    pub event: &'a NewEvent,
    pub runs: &'a [NewRun],
}

/// Inserts the events of `all` in one statement, in their dedupe keys' byte order (so two
/// groups that share keys wait on each other's inserts in one order, as they take lane locks),
/// and finds the duplicates' ids in a second. For each: the new event's id, or `Err` with the
/// stored event's id for a duplicate (a key named twice in the group is new only the first time).
/// A lone ingest goes the same way, so it takes the same locks in the same order: its event,
/// then its lanes.
pub(crate) async fn store_events(
    tx: &Transaction<'_>,
    all: &[Ingesting<'_>],
) -> Res<Vec<Result<EventId, EventId>>> {
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].event.dedupe_key.cmp(&all[b].event.dedupe_key));
    let column = |f: fn(&NewEvent) -> &str| -> Vec<&str> {
        order.iter().map(|&i| f(all[i].event)).collect()
    };
    let keys = column(|e| &e.dedupe_key);
    let kinds = column(|e| &e.kind);
    let payloads = column(|e| &e.payload);
    let connections: Vec<Option<i64>> = order.iter().map(|&i| all[i].event.connection_id).collect();
    let chats: Vec<Option<i64>> = order.iter().map(|&i| all[i].event.chat_id).collect();
    let received: Vec<i64> = order
        .iter()
        .map(|&i| to_us(all[i].event.received_at))
        .collect();
    let inserted = rows(
        tx,
        "INSERT INTO events (dedupe_key, kind, connection_id, chat_id, payload, received_at)
         SELECT t.key, t.kind, t.connection_id, t.chat_id, t.payload, t.received_at
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
             WITH ORDINALITY AS t(key, kind, connection_id, chat_id, payload, received_at, n)
         ORDER BY t.n
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        &[&keys, &kinds, &connections, &chats, &payloads, &received],
    )
    .await?;
    let mut new: HashMap<String, i64> = HashMap::with_capacity(inserted.len());
    for row in &inserted {
        new.insert(get(row, 1)?, get(row, 0)?);
    }
    let known: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !new.contains_key(*k))
        .collect();
    let mut stored: HashMap<String, i64> = HashMap::with_capacity(known.len());
    if !known.is_empty() {
        let found = rows(
            tx,
            "SELECT dedupe_key, id FROM events WHERE dedupe_key = ANY($1)",
            &[&known],
        )
        .await?;
        for row in &found {
            stored.insert(get(row, 0)?, get(row, 1)?);
        }
    }
    // The row a key named twice inserted is its first one's (the sort is stable).
    let mut given: HashSet<&str> = HashSet::with_capacity(new.len());
    all.iter()
        .map(|i| {
            let key = i.event.dedupe_key.as_str();
            match (new.get(key), stored.get(key)) {
                (Some(&id), _) if given.insert(key) => Ok(Ok(EventId(id))),
                (Some(&id), _) | (None, Some(&id)) => Ok(Err(EventId(id))),
                (None, None) => Err(StoreError::not_found(format!("event {key:?}")).into()),
            }
        })
        .collect()
}

/// The lanes the runs of `all`'s new events go to (`stored` as [`store_events`] answered).
pub(crate) fn lanes_of<'a>(
    all: &[Ingesting<'a>],
    stored: &[Result<EventId, EventId>],
) -> Vec<&'a str> {
    all.iter()
        .zip(stored)
        .filter(|(_, s)| s.is_ok())
        .flat_map(|(i, _)| i.runs.iter().map(|r| r.lane.as_str()))
        .collect()
}

/// Queues the runs of `all`'s new events in one statement, in the group's order. The caller
/// holds their lanes' locks ([`lanes_of`]) and refreshes the lanes that were new afterwards.
pub(crate) async fn queue_stored(
    tx: &Transaction<'_>,
    all: &[Ingesting<'_>],
    stored: &[Result<EventId, EventId>],
) -> Res<Vec<Ingested>> {
    let mut queued: Vec<(i64, &NewRun, i64)> = Vec::new();
    for (i, s) in all.iter().zip(stored) {
        if let Ok(event) = s {
            let created = to_us(i.event.received_at);
            queued.extend(i.runs.iter().map(|r| (event.0, r, created)));
        }
    }
    let mut ids = insert_runs(tx, &queued).await?.into_iter();
    all.iter()
        .zip(stored)
        .map(|(i, s)| match *s {
            Ok(event_id) => Ok(Ingested {
                event_id,
                duplicate: false,
                run_ids: ids.by_ref().take(i.runs.len()).collect(),
            }),
            Err(event_id) => Ok(Ingested {
                event_id,
                duplicate: true,
                run_ids: Vec::new(),
            }),
        })
        .collect()
}

/// Inserts (event, run, created) rows in one statement, their lane positions (`seq`) taken in
/// the slice's order; the ids in that order. Each returned row is checked against the one it
/// answers, so a surprise in the server's order fails the write rather than mixing ids up.
async fn insert_runs(tx: &Transaction<'_>, queued: &[(i64, &NewRun, i64)]) -> Res<Vec<RunId>> {
    if queued.is_empty() {
        return Ok(Vec::new());
    }
    let events: Vec<i64> = queued.iter().map(|q| q.0).collect();
    let plugins: Vec<&str> = queued.iter().map(|q| q.1.plugin.as_str()).collect();
    let lanes: Vec<&str> = queued.iter().map(|q| q.1.lane.as_str()).collect();
    let budgets: Vec<i64> = queued.iter().map(|q| i64::from(q.1.max_attempts)).collect();
    let origins: Vec<&str> = queued.iter().map(|q| q.1.origin.as_str()).collect();
    let created: Vec<i64> = queued.iter().map(|q| q.2).collect();
    let inserted = rows(
        tx,
        "INSERT INTO runs (event_id, plugin, lane, seq, status, budget, max_attempts, origin,
             created_at, updated_at)
         SELECT t.event_id, t.plugin, t.lane, nextval('lane_seq'), 'queued', t.budget, t.budget,
             t.origin, t.created, t.created
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
             WITH ORDINALITY AS t(event_id, plugin, lane, budget, origin, created, n)
         ORDER BY t.n
         RETURNING id, event_id, plugin, lane",
        &[&events, &plugins, &lanes, &budgets, &origins, &created],
    )
    .await?;
    if inserted.len() != queued.len() {
        let message = "the runs inserted do not match the runs queued".to_owned();
        return Err(StoreError::Database { message }.into());
    }
    inserted
        .iter()
        .zip(queued)
        .map(|(row, q)| {
            let same = get::<i64>(row, 1)? == q.0
                && get::<String>(row, 2)? == q.1.plugin
                && get::<String>(row, 3)? == q.1.lane;
            if !same {
                let message = "the runs were inserted out of the order queued".to_owned();
                return Err(StoreError::Database { message }.into());
            }
            Ok(RunId(get(row, 0)?))
        })
        .collect()
}

pub(crate) async fn quarantine(tx: &Transaction<'_>, q: &NewQuarantine) -> Res<QuarantineId> {
    let row = one(
        tx,
        "INSERT INTO quarantine (received_at, reason, headers, body) VALUES ($1, $2, $3, $4)
         RETURNING id",
        &[&to_us(q.received_at), &q.reason, &q.headers, &q.body],
    )
    .await?;
    Ok(QuarantineId(get(&row, 0)?))
}

fn summary(r: &Row) -> Res<QuarantineSummary> {
    Ok(QuarantineSummary {
        id: QuarantineId(get(r, 0)?),
        received_at: from_us(get(r, 1)?)?,
        reason: get(r, 2)?,
        body_len: to_u64(get(r, 3)?),
    })
}

pub(crate) async fn quarantine_list(
    tx: &Transaction<'_>,
    limit: usize,
    before: Option<QuarantineId>,
) -> Res<Vec<QuarantineSummary>> {
    let before = before.map_or(i64::MAX, |b| b.0);
    let found = rows(
        tx,
        "SELECT id, received_at, reason, octet_length(body)::BIGINT FROM quarantine
         WHERE id < $1 ORDER BY id DESC LIMIT $2",
        &[&before, &page(limit)],
    )
    .await?;
    found.iter().map(summary).collect()
}

pub(crate) async fn quarantine_get(
    tx: &Transaction<'_>,
    id: QuarantineId,
) -> Res<Option<QuarantineEntry>> {
    let row = opt(
        tx,
        "SELECT id, received_at, reason, headers, body FROM quarantine WHERE id = $1",
        &[&id.0],
    )
    .await?;
    row.map(|r| {
        Ok(QuarantineEntry {
            id: QuarantineId(get(&r, 0)?),
            received_at: from_us(get(&r, 1)?)?,
            reason: get(&r, 2)?,
            headers: get(&r, 3)?,
            body: get(&r, 4)?,
        })
    })
    .transpose()
}

pub(crate) async fn quarantine_delete(tx: &Transaction<'_>, id: QuarantineId) -> Res<bool> {
    Ok(exec(tx, "DELETE FROM quarantine WHERE id = $1", &[&id.0]).await? > 0)
}
