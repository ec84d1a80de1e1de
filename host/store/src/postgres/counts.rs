//! SQL for run counts per status under a history filter (the dashboard's status tabs).

use super::fail::{Res, get, parse_status, rows, to_u64};
use super::history::run_clauses;
use crate::model::history::{RunFilter, StatusCount};
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
    let Some(mut c) = run_clauses(tx, f).await? else {
        return Ok(None);
    };
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
