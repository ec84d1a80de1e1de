//! SQL for the plugins' key-value namespaces and the upload links cache.

use super::fail::{Res, kv_page, to_u64};
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) fn get(conn: &Connection, ns: &str, key: &str) -> Res<Option<Vec<u8>>> {
    let mut stmt = conn.prepare_cached("SELECT value FROM kv WHERE ns = ?1 AND key = ?2")?;
    Ok(stmt.query_row([ns, key], |r| r.get(0)).optional()?)
}

/// Sets a key; with a quota, a new key past it is refused in the same transaction as the write.
pub(crate) fn set(
    conn: &Connection,
    ns: &str,
    key: &str,
    value: &[u8],
    max_keys: Option<u64>,
) -> Res<()> {
    if let Some(max_keys) = max_keys
        && get(conn, ns, key)?.is_none()
        && count(conn, ns)? >= max_keys
    {
        return Err(StoreError::KvQuota {
            namespace: ns.to_owned(),
            max_keys,
        }
        .into());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO kv (ns, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (ns, key) DO UPDATE SET value = ?3",
    )?;
    stmt.execute(params![ns, key, value])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, ns: &str, key: &str) -> Res<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM kv WHERE ns = ?1 AND key = ?2")?
        .execute([ns, key])?
        > 0)
}

/// Keys with the prefix in byte order: a range scan (`key >= prefix`) stopped at the first key
/// that no longer starts with it, so LIKE's wildcards never apply.
pub(crate) fn list(conn: &Connection, ns: &str, prefix: &str, limit: usize) -> Res<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key FROM kv WHERE ns = ?1 AND key >= ?2 AND substr(key, 1, length(?2)) = ?2 ORDER BY key LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![ns, prefix, kv_page(limit)], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn count(conn: &Connection, ns: &str) -> Res<u64> {
    let mut stmt = conn.prepare_cached("SELECT count(*) FROM kv WHERE ns = ?1")?;
    Ok(to_u64(stmt.query_row([ns], |r| r.get(0))?))
}

pub(crate) fn upload_get(conn: &Connection, company: i64, sha256: &str) -> Res<Option<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT url FROM uploads WHERE company_id = ?1 AND sha256 = ?2")?;
    Ok(stmt
        .query_row(params![company, sha256], |r| r.get(0))
        .optional()?)
}

pub(crate) fn upload_put(conn: &Connection, company: i64, sha256: &str, url: &str) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO uploads (company_id, sha256, url) VALUES (?1, ?2, ?3)
         ON CONFLICT (company_id, sha256) DO UPDATE SET url = ?3",
    )?;
    stmt.execute(params![company, sha256, url])?;
    Ok(())
}
