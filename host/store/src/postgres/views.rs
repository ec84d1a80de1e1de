//! SQL for the dashboard's read models: the oldest kept run, connections by index, and a chat's
//! timeline in one transaction.

use super::fail::{Res, get, opt, rows};
use super::history::{EVENT, SUMMARY, event_record, summary};
use super::ledger;
use crate::convert::page;
use crate::model::history::{EventRecord, RunSummary};
use crate::model::views::{
    CONNECTION_STATUS_KIND, ChatTimeline, ConnectionActivity, ConnectionFailures,
};
use crate::shared_sql::failures_sql;
use deadpool_postgres::Transaction;

pub(crate) async fn oldest_run(tx: &Transaction<'_>) -> Res<Option<RunSummary>> {
    let row = opt(tx, &format!("{SUMMARY} ORDER BY r.id LIMIT 1"), &[]).await?;
    row.as_ref().map(summary).transpose()
}

/// Distinct connection ids in order, hopping along `events_connection` (one index seek each).
const CONNECTION_IDS: &str = "WITH RECURSIVE c(id) AS (
        SELECT MIN(connection_id) FROM events WHERE connection_id IS NOT NULL
        UNION ALL
        SELECT (SELECT MIN(connection_id) FROM events WHERE connection_id > c.id)
        FROM c WHERE c.id IS NOT NULL
    )
    SELECT id FROM c WHERE id IS NOT NULL LIMIT $1";

pub(crate) async fn connections(
    tx: &Transaction<'_>,
    limit: usize,
) -> Res<Vec<ConnectionActivity>> {
    let ids = rows(tx, CONNECTION_IDS, &[&page(limit)]).await?;
    let newest = format!("{EVENT} WHERE connection_id = $1 ORDER BY id DESC LIMIT 1");
    let status = format!(
        "{EVENT} WHERE connection_id = $1 AND kind = '{CONNECTION_STATUS_KIND}'
         ORDER BY id DESC LIMIT 1"
    );
    let mut found = Vec::with_capacity(ids.len());
    for row in &ids {
        let id: i64 = get(row, 0)?;
        let Some(last_event) = newest_event(tx, &newest, id).await? else {
            continue;
        };
        found.push(ConnectionActivity {
            connection_id: id,
            last_event,
            last_status: newest_event(tx, &status, id).await?,
        });
    }
    Ok(found)
}

async fn newest_event(tx: &Transaction<'_>, sql: &str, id: i64) -> Res<Option<EventRecord>> {
    let row = opt(tx, sql, &[&id]).await?;
    row.as_ref().map(event_record).transpose()
}

pub(crate) async fn chat_timeline(
    tx: &Transaction<'_>,
    connection: i64,
    chat: i64,
    limit: usize,
) -> Res<ChatTimeline> {
    let limit = page(limit);
    let found = rows(
        tx,
        &format!("{EVENT} WHERE connection_id = $1 AND chat_id = $2 ORDER BY id DESC LIMIT $3"),
        &[&connection, &chat, &limit],
    )
    .await?;
    let events = found.iter().map(event_record).collect::<Res<Vec<_>>>()?;
    let found = rows(
        tx,
        &format!(
            "{SUMMARY} WHERE e.connection_id = $1 AND e.chat_id = $2 ORDER BY r.id DESC LIMIT $3"
        ),
        &[&connection, &chat, &limit],
    )
    .await?;
    let runs = found.iter().map(summary).collect::<Res<Vec<_>>>()?;
    let ids: Vec<i64> = runs.iter().map(|r| r.run_id.0).collect();
    let ledger = ledger::for_runs(tx, &ids).await?;
    Ok(ChatTimeline {
        events,
        runs,
        ledger,
    })
}

pub(crate) async fn failures_by_connection(
    tx: &Transaction<'_>,
    since_us: i64,
    limit: usize,
) -> Res<Vec<ConnectionFailures>> {
    let limit = page(limit).saturating_mul(10);
    let found = rows(tx, &failures_sql("$1", "$2"), &[&since_us, &limit]).await?;
    found
        .iter()
        .map(|r| {
            Ok(ConnectionFailures {
                connection_id: get(r, 0)?,
                error: get(r, 1)?,
                runs: crate::convert::to_u64(get(r, 2)?),
            })
        })
        .collect()
}
