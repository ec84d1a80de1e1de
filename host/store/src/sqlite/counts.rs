//! SQL for run counts per status under a history filter (the dashboard's status tabs): every
//! matching run, or only those among the newest runs (work bounded on any store size).

use super::fail::{Res, parse_status, to_u64};
use super::history::{run_clauses, text_is_rare};
use crate::model::history::{RecentCounts, RunFilter, StatusCount};
use crate::shared_sql::{RUN_EDGES, window_events_sql, window_floor};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

const COUNT: &str = "SELECT r.status, COUNT(*) FROM runs r JOIN events e ON e.id = r.event_id";
/// The count when no clause reads the event: the runs alone, by the `runs_status_id` index.
const COUNT_RUNS: &str = "SELECT r.status, COUNT(*) FROM runs r";
/// The counts of a window read the range of run ids, never an index of every run (without
/// statistics the planner would rather scan all of `runs_status_id`, for its order).
const COUNT_WINDOW: &str =
    "SELECT r.status, COUNT(*) FROM runs r NOT INDEXED JOIN events e ON e.id = r.event_id";
const COUNT_WINDOW_RUNS: &str = "SELECT r.status, COUNT(*) FROM runs r NOT INDEXED";

/// How many runs match the filter (its page ignored), per status, by status name; `None` when
/// its text needs the word indexer first.
pub(crate) fn count_runs(conn: &Connection, f: &RunFilter) -> Res<Option<Vec<StatusCount>>> {
    count(conn, f, None)
}

/// Like [`count_runs`], among the newest `window` run ids only; a text found in few events is
/// counted in every run (its index answers that as fast).
pub(crate) fn count_recent_runs(
    conn: &Connection,
    f: &RunFilter,
    window: u64,
) -> Res<Option<RecentCounts>> {
    let rare = f
        .text
        .as_ref()
        .map_or(Ok(Some(false)), |t| text_is_rare(conn, t))?;
    let Some(rare) = rare else { return Ok(None) };
    let floor = if rare {
        None
    } else {
        floor(conn, window, f.text.is_some())?
    };
    let counts = count(conn, f, floor)?;
    Ok(counts.map(|c| RecentCounts::new(c, window, floor.is_none())))
}

/// Where the newest `window` run ids begin: the highest id left out, and (for a text filter)
/// the lowest event id the runs above it start from; `None` when no run is left out.
fn floor(conn: &Connection, window: u64, with_event: bool) -> Res<Option<Floor>> {
    let mut edges = conn.prepare_cached(RUN_EDGES)?;
    let edges = edges.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let Some(run) = window_floor(edges.0, edges.1, window) else {
        return Ok(None);
    };
    let event: Option<i64> = if with_event {
        let sql = window_events_sql("?1");
        conn.prepare_cached(&sql)?
            .query_row(params![run], |r| r.get(0))?
    } else {
        None
    };
    Ok(Some(Floor {
        run,
        event: event.unwrap_or(0),
    }))
}

/// The newest run left out of a window, and the first event its runs need.
#[derive(Debug, Clone, Copy)]
struct Floor {
    run: i64,
    event: i64,
}

fn count(conn: &Connection, f: &RunFilter, floor: Option<Floor>) -> Res<Option<Vec<StatusCount>>> {
    let Some(mut c) = run_clauses(conn, f, floor.map_or(0, |fl| fl.event))? else {
        return Ok(None);
    };
    if let Some(fl) = floor {
        c.add("r.id > ?", [Value::Integer(fl.run)]);
    }
    let reads_event = f.text.is_some() || f.kind.is_some() || f.chat.is_some();
    let select = match (floor.is_some(), reads_event) {
        (false, true) => COUNT,
        (false, false) => COUNT_RUNS,
        (true, true) => COUNT_WINDOW,
        (true, false) => COUNT_WINDOW_RUNS,
    };
    let sql = c.render(select, " GROUP BY r.status ORDER BY r.status");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(c.args.iter()), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (status, runs) = row?;
        Ok(StatusCount {
            status: parse_status("run status", &status)?,
            runs: to_u64(runs),
        })
    })
    .collect::<Res<_>>()
    .map(Some)
}
