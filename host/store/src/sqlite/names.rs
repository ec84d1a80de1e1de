//! Names repeated in every run (its plugin, its origin, the node that ran it, its event's kind,
//! its actions' kinds, its attempts' statuses) stored once in `names` and referred to by id
//! from `runs`, `events`, `attempts` and `ledger` (schema version 7): a one-byte id instead of
//! texts of 7–25 bytes, in the row and in `runs_plugin` and `runs_running_node`. Rows are never
//! deleted, so an id stays valid. The set is small: plugin and node names, and the kinds,
//! origins and statuses the host spells. SQL reads a name back with a scalar subquery
//! ([`name_of`]) and finds a name's id with `(SELECT id FROM names WHERE name = ?)`, which the
//! planner runs once per statement (so `runs_plugin` still serves a filter by plugin).

use super::fail::Res;
use rusqlite::{Connection, OptionalExtension};

/// The id of the event kind `connection.status-changed`, seeded by migration 7: the partial
/// index `events_connection_status` holds the events of that kind.
pub(crate) const STATUS_KIND: i64 = 1;

/// The id of the ledger kind `messages.send`, seeded by migration 7: the partial index
/// `ledger_pending` holds the pending sends.
pub(crate) const SEND_KIND: i64 = 2;

/// The id of `name`, added when new (by the writer, inside its transaction).
pub(crate) fn id(conn: &Connection, name: &str) -> Res<i64> {
    let mut find = conn.prepare_cached("SELECT id FROM names WHERE name = ?1")?;
    if let Some(id) = find.query_row([name], |r| r.get(0)).optional()? {
        return Ok(id);
    }
    let mut add = conn.prepare_cached("INSERT INTO names (name) VALUES (?1) RETURNING id")?;
    Ok(add.query_row([name], |r| r.get(0))?)
}

/// SQL for the name whose id is in `column`.
pub(crate) fn name_of(column: &str) -> String {
    format!("(SELECT name FROM names WHERE id = {column})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_id() {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(
            "CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        )
        .expect("table");
        let plugin = id(&conn, "auto-reply").expect("added");
        assert_eq!(id(&conn, "auto-reply").expect("found"), plugin);
        assert_ne!(id(&conn, "webhook").expect("added"), plugin);
    }
}
