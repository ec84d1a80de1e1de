//! SQL for intake: events with their runs, and quarantined requests.

use super::fail::{Res, exec, from_us, get, one, opt, page, rows, to_u64, to_us};
use super::lanes;
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

async fn event_id_by_key(tx: &Transaction<'_>, key: &str) -> Res<EventId> {
    let row = one(tx, "SELECT id FROM events WHERE dedupe_key = $1", &[&key]).await?;
    Ok(EventId(get(&row, 0)?))
}

/// Queues one run at the end of its lane. The caller holds the lane's lock (so `seq` follows
/// commit order within the lane) and refreshes the lane afterwards.
async fn insert_run(
    tx: &Transaction<'_>,
    event: EventId,
    run: &NewRun,
    created: i64,
) -> Res<RunId> {
    let budget = i64::from(run.max_attempts);
    let row = one(
        tx,
        "INSERT INTO runs (event_id, plugin, lane, seq, status, budget, max_attempts, origin,
             created_at, updated_at)
         VALUES ($1, $2, $3, nextval('lane_seq'), 'queued', $4, $4, $5, $6, $6) RETURNING id",
        &[
            &event.0,
            &run.plugin,
            &run.lane,
            &budget,
            &run.origin,
            &created,
        ],
    )
    .await?;
    Ok(RunId(get(&row, 0)?))
}

/// Queues the runs of a stored event: locks their lanes, inserts them in order, sets the head of
/// lanes that had none and notifies waiting dispatchers.
pub(crate) async fn queue_runs(
    tx: &Transaction<'_>,
    event: EventId,
    runs: &[NewRun],
    created: i64,
) -> Res<Vec<RunId>> {
    let lane_names: Vec<&str> = runs.iter().map(|r| r.lane.as_str()).collect();
    let new_lanes = lanes::lock(tx, &lane_names).await?;
    let mut ids = Vec::with_capacity(runs.len());
    for run in runs {
        ids.push(insert_run(tx, event, run, created).await?);
    }
    // Appending never changes the head of a lane that already had one.
    lanes::refresh(tx, &new_lanes).await?;
    Ok(ids)
}

/// Stores the event and its runs.
pub(crate) async fn ingest(
    tx: &Transaction<'_>,
    event: &NewEvent,
    runs: &[NewRun],
) -> Res<Ingested> {
    let Some(event_id) = insert_event(tx, event).await? else {
        return Ok(Ingested {
            event_id: event_id_by_key(tx, &event.dedupe_key).await?,
            duplicate: true,
            run_ids: Vec::new(),
        });
    };
    let run_ids = queue_runs(tx, event_id, runs, to_us(event.received_at)).await?;
    Ok(Ingested {
        event_id,
        duplicate: false,
        run_ids,
    })
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
