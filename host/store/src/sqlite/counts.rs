//! SQL for run counts per status under a history filter (the dashboard's status tabs).

use super::fail::{Res, parse_status, to_u64};
use super::history::run_clauses;
use crate::model::history::{RunFilter, StatusCount};
use rusqlite::{Connection, params_from_iter};

const COUNT: &str = "SELECT r.status, COUNT(*) FROM runs r JOIN events e ON e.id = r.event_id";
/// The count when no clause reads the event: the runs alone, by the `runs_status` index.
const COUNT_RUNS: &str = "SELECT r.status, COUNT(*) FROM runs r";

/// How many runs match the filter (its page ignored), per status, by status name; `None` when
/// its text needs the word indexer first.
pub(crate) fn count_runs(conn: &Connection, f: &RunFilter) -> Res<Option<Vec<StatusCount>>> {
    let Some(c) = run_clauses(conn, f)? else {
        return Ok(None);
    };
    let reads_event = f.text.is_some() || f.kind.is_some() || f.chat.is_some();
    let select = if reads_event { COUNT } else { COUNT_RUNS };
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
