//! SQL text both backends run alike, written once with each backend's placeholders passed in
//! (`?1` for SQLite, `$1` for PostgreSQL).

use crate::model::views::{FAILURE_ERROR_CHARS, FAILURE_STATUSES};

/// The condition of SQLite's `runs_done` index (finished runs only): a query repeats it word for
/// word so the planner knows the index holds every row it wants.
pub(crate) const FINISHED_RUN: &str = "status NOT IN ('queued', 'running', 'retrying')";

/// Failed runs since a time, per connection and (clipped) error: a range of `runs_status`
/// (`runs_done` in SQLite).
pub(crate) fn failures_sql(placeholder_since: &str, placeholder_limit: &str) -> String {
    format!(
        "SELECT e.connection_id, substr(coalesce(r.error, r.status), 1, {chars}),
                count(*)
         FROM runs r JOIN events e ON e.id = r.event_id
         WHERE r.status IN {statuses} AND r.updated_at >= {placeholder_since} AND r.{FINISHED_RUN}
           AND e.connection_id IS NOT NULL
         GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
         LIMIT {placeholder_limit}",
        chars = FAILURE_ERROR_CHARS,
        statuses = FAILURE_STATUSES,
    )
}

/// The highest and the lowest run id (two index edges, no scan).
pub(crate) const RUN_EDGES: &str = "SELECT (SELECT max(id) FROM runs), (SELECT min(id) FROM runs)";

/// The lowest event id the runs above a window's floor start from.
pub(crate) fn window_events_sql(placeholder_floor: &str) -> String {
    format!("SELECT min(event_id) FROM runs WHERE id > {placeholder_floor}")
}

/// The highest run id a window of the newest `window` run ids leaves out, from the run id edges
/// ([`RUN_EDGES`]); `None` when it leaves none out (or there are no runs).
pub(crate) fn window_floor(newest: Option<i64>, oldest: Option<i64>, window: u64) -> Option<i64> {
    let (newest, oldest) = (newest?, oldest?);
    let floor = newest.saturating_sub(i64::try_from(window).unwrap_or(i64::MAX));
    (floor >= oldest).then_some(floor)
}
