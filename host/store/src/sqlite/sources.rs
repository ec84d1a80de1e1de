//! Where an attempt ran (its node and plugin digest), stored once in `attempt_sources` and
//! referred to by id from each attempt (schema version 7): most attempts share the pair, which
//! cost 45 B per attempt as text and bytes. Rows are never deleted, so an id stays valid; no
//! plugin digest is stored as the empty BLOB (a stored digest is never empty, see `digests`).

use super::digests;
use super::fail::Res;
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OptionalExtension, params};

/// The id of the pair, added when new (by the writer, inside its transaction).
pub(crate) fn id(conn: &Connection, node: &str, plugin_digest: Option<&str>) -> Res<i64> {
    let digest = match plugin_digest {
        Some(text) => digests::pack(text),
        None => ToSqlOutput::Owned(Value::Blob(Vec::new())),
    };
    let mut find = conn
        .prepare_cached("SELECT id FROM attempt_sources WHERE node = ?1 AND plugin_digest = ?2")?;
    if let Some(id) = find
        .query_row(params![node, digest], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let mut add = conn.prepare_cached(
        "INSERT INTO attempt_sources (node, plugin_digest) VALUES (?1, ?2) RETURNING id",
    )?;
    Ok(add.query_row(params![node, digest], |r| r.get(0))?)
}

/// Joined to `attempts a`: the node and the plugin digest (`NULL` for none), as columns
/// `s.node` and `digest`.
pub(crate) const JOIN: &str = "JOIN attempt_sources s ON s.id = a.source";
/// The stored plugin digest with the empty BLOB read back as `NULL`.
pub(crate) const DIGEST: &str = "nullif(s.plugin_digest, x'')";
