//! SQL text both backends run alike, written once with each backend's placeholders passed in
//! (`?1` for SQLite, `$1` for PostgreSQL).

use crate::model::views::{FAILURE_ERROR_CHARS, FAILURE_STATUSES};

/// Failed runs since a time, per connection and (clipped) error: a range of `runs_status`.
pub(crate) fn failures_sql(placeholder_since: &str, placeholder_limit: &str) -> String {
    format!(
        "SELECT e.connection_id, substr(coalesce(r.error, r.status), 1, {chars}),
                count(*)
         FROM runs r JOIN events e ON e.id = r.event_id
         WHERE r.status IN {statuses} AND r.updated_at >= {placeholder_since}
           AND e.connection_id IS NOT NULL
         GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
         LIMIT {placeholder_limit}",
        chars = FAILURE_ERROR_CHARS,
        statuses = FAILURE_STATUSES,
    )
}
