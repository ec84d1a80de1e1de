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
use std::cell::RefCell;
use std::collections::HashMap;

/// The id of the event kind `connection.status-changed`, seeded by migration 7: the partial
/// index `events_connection_status` holds the events of that kind.
pub(crate) const STATUS_KIND: i64 = 1;

/// The id of the ledger kind `messages.send`, seeded by migration 7: the partial index
/// `ledger_pending` holds the pending sends.
pub(crate) const SEND_KIND: i64 = 2;

/// The id of `name`, added when new (inside the writer's transaction on `conn`). A name the
/// writer has seen committed is answered from its [`Cache`] without a statement.
pub(crate) fn id(conn: &Connection, cache: &RefCell<Cache>, name: &str) -> Res<i64> {
    if let Some(id) = cache.borrow().get(name) {
        return Ok(id);
    }
    let id = find_or_add(conn, name)?;
    cache.borrow_mut().note(name, id);
    Ok(id)
}

/// The most names the cache holds: the set is small (see the module doc), and past this many
/// the rest are looked up each time.
const MAX_CACHED: usize = 4096;

/// The writer's ids of names. A name's row is never deleted and its id never changes, so an id
/// once committed stays right for good, whatever other connections commit. An id looked up in
/// the open batch transaction is held apart until the batch commits: the job that added it may
/// still roll back (its savepoint) or the whole batch may (a failed COMMIT, or the writer
/// undoing a pass to run it again with savepoints), and then the id could go to another name.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    committed: HashMap<Box<str>, i64>,
    /// Ids looked up in the open batch.
    batch: HashMap<Box<str>, i64>,
    /// The names the running job put in `batch`.
    job: Vec<Box<str>>,
}

impl Cache {
    fn get(&self, name: &str) -> Option<i64> {
        let known = self.committed.get(name).or_else(|| self.batch.get(name));
        known.copied()
    }

    fn note(&mut self, name: &str, id: i64) {
        if self.committed.len() + self.batch.len() < MAX_CACHED {
            self.batch.insert(name.into(), id);
            self.job.push(name.into());
        }
    }

    /// A job begins (its savepoint is open).
    pub(crate) fn job_began(&mut self) {
        self.job.clear();
    }

    /// The running job's savepoint rolled back: forget what it looked up.
    pub(crate) fn job_rolled_back(&mut self) {
        for name in self.job.drain(..) {
            self.batch.remove(&name);
        }
    }

    /// The batch's transaction ended: what it looked up is committed, or forgotten.
    pub(crate) fn batch_ended(&mut self, committed: bool) {
        if committed {
            self.committed.extend(self.batch.drain());
        }
        self.batch.clear();
        self.job.clear();
    }
}

/// The id of `name` from the table, added when new.
fn find_or_add(conn: &Connection, name: &str) -> Res<i64> {
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
        let plugin = find_or_add(&conn, "auto-reply").expect("added");
        assert_eq!(find_or_add(&conn, "auto-reply").expect("found"), plugin);
        assert_ne!(find_or_add(&conn, "webhook").expect("added"), plugin);
    }

    #[test]
    fn the_cache_keeps_only_what_committed() {
        let mut cache = Cache::default();
        cache.job_began();
        cache.note("kept", 1);
        cache.job_began();
        cache.note("rolled back", 2);
        assert_eq!(cache.get("rolled back"), Some(2), "seen within its batch");
        cache.job_rolled_back();
        assert_eq!(cache.get("rolled back"), None, "its job rolled back");
        assert_eq!(cache.get("kept"), Some(1));
        cache.batch_ended(true);
        cache.job_began();
        cache.note("lost", 3);
        cache.batch_ended(false);
        assert_eq!(cache.get("lost"), None, "its batch did not commit");
        cache.job_began();
        cache.job_rolled_back();
        assert_eq!(cache.get("kept"), Some(1), "a committed id stays");
    }
}
