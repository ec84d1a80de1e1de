//! SQL for run counts per status under a history filter (the dashboard's status tabs): every
//! matching run, or only those among the newest runs (work bounded on any store size).

use super::fail::{Res, get, one, parse_status, rows, to_u64};
use super::history::{run_clauses, text_is_rare};
use crate::model::history::{RecentCounts, RunFilter, StatusCount};
use crate::shared_sql::{RUN_EDGES, window_events_sql, window_floor};
use deadpool_postgres::Transaction;

const COUNT: &str = "SELECT r.status, COUNT(*) FROM runs r JOIN events e ON e.id = r.event_id";
/// The count when no clause reads the event: the runs alone, by the `runs_status` index.
const COUNT_RUNS: &str = "SELECT r.status, COUNT(*) FROM runs r";

/// How many runs match the filter (its page ignored), per status, by status name; `None` when
/// its text needs the word indexer first.
pub(crate) async fn count_runs(
    tx: &Transaction<'_>,
    f: &RunFilter,
) -> Res<Option<Vec<StatusCount>>> {
    count(tx, f, None).await
}

/// Like [`count_runs`], among the newest `window` run ids only; a text found in few events is
/// counted in every run (its index answers that as fast).
pub(crate) async fn count_recent_runs(
    tx: &Transaction<'_>,
    f: &RunFilter,
    window: u64,
) -> Res<Option<RecentCounts>> {
    let rare = match &f.text {
        Some(text) => text_is_rare(tx, text).await?,
        None => Some(false),
    };
    let Some(rare) = rare else { return Ok(None) };
    let floor = if rare {
        None
    } else {
        floor(tx, window, f.text.is_some()).await?
    };
    let counts = count(tx, f, floor).await?;
    Ok(counts.map(|c| RecentCounts::new(c, window, floor.is_none())))
}

/// The newest run left out of a window, and the first event its runs need.
#[derive(Debug, Clone, Copy)]
struct Floor {
    run: i64,
    event: i64,
}

/// Where the newest `window` run ids begin: the highest id left out, and (for a text filter)
/// the lowest event id the runs above it start from; `None` when no run is left out.
async fn floor(tx: &Transaction<'_>, window: u64, with_event: bool) -> Res<Option<Floor>> {
    let edges = one(tx, RUN_EDGES, &[]).await?;
    let Some(run) = window_floor(get(&edges, 0)?, get(&edges, 1)?, window) else {
        return Ok(None);
    };
    let event: Option<i64> = if with_event {
        get(&one(tx, &window_events_sql("$1"), &[&run]).await?, 0)?
    } else {
        None
    };
    Ok(Some(Floor {
        run,
        event: event.unwrap_or(0),
    }))
}

async fn count(
    tx: &Transaction<'_>,
    f: &RunFilter,
    floor: Option<Floor>,
) -> Res<Option<Vec<StatusCount>>> {
    let Some(mut c) = run_clauses(tx, f, floor.map_or(0, |fl| fl.event)).await? else {
        return Ok(None);
    };
    if let Some(fl) = floor {
        c.add("r.id > ?", vec![Box::new(fl.run)]);
    }
    // One row per status: the limit only completes the statement.
    let reads_event = f.text.is_some() || f.kind.is_some() || f.chat.is_some();
    let select = if reads_event { COUNT } else { COUNT_RUNS };
    let sql = c.render(select, " GROUP BY r.status ORDER BY r.status", 100);
    let found = rows(tx, &sql, &c.params()).await?;
    found
        .iter()
        .map(|r| {
            Ok(StatusCount {
                status: parse_status("run status", get(r, 0)?)?,
                runs: to_u64(get(r, 1)?),
            })
        })
        .collect::<Res<_>>()
        .map(Some)
}
