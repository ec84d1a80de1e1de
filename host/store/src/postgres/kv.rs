//! SQL for the plugins' key-value namespaces and the upload links cache. A write under a quota
//! takes a transaction-scoped advisory lock on its namespace, so concurrent new keys (from any
//! node) are counted one after another and the quota never overshoots.

use super::fail::{Res, exec, get, kv_page, one, opt_first, rows, to_u64};
use crate::error::StoreError;
use deadpool_postgres::Transaction;

pub(crate) async fn get_value(tx: &Transaction<'_>, ns: &str, key: &str) -> Res<Option<Vec<u8>>> {
    let sql = "SELECT value FROM kv WHERE ns = $1 AND key = $2";
    opt_first(tx, sql, &[&ns, &key]).await
}

/// Sets a key; with a quota, a new key past it is refused in the same transaction as the write.
pub(crate) async fn set(
    tx: &Transaction<'_>,
    ns: &str,
    key: &str,
    value: &[u8],
    max_keys: Option<u64>,
) -> Res<()> {
    if let Some(max_keys) = max_keys {
        exec(
            tx,
            "SELECT pg_advisory_xact_lock(hashtextextended('switchboard-kv:' || $1, 0))",
            &[&ns],
        )
        .await?;
        if get_value(tx, ns, key).await?.is_none() && count(tx, ns).await? >= max_keys {
            return Err(StoreError::KvQuota {
                namespace: ns.to_owned(),
                max_keys,
            }
            .into());
        }
    }
    exec(
        tx,
        "INSERT INTO kv (ns, key, value) VALUES ($1, $2, $3) ON CONFLICT (ns, key) DO UPDATE SET value = $3",
        &[&ns, &key, &value],
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete(tx: &Transaction<'_>, ns: &str, key: &str) -> Res<bool> {
    Ok(exec(
        tx,
        "DELETE FROM kv WHERE ns = $1 AND key = $2",
        &[&ns, &key],
    )
    .await?
        > 0)
}

/// Keys with the prefix in byte order (the columns use the "C" collation): a range scan from
/// the prefix, kept while `starts_with` holds, so LIKE's wildcards never apply.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    ns: &str,
    prefix: &str,
    limit: usize,
) -> Res<Vec<String>> {
    let found = rows(
        tx,
        "SELECT key FROM kv WHERE ns = $1 AND key >= $2 AND starts_with(key, $2) ORDER BY key LIMIT $3",
        &[&ns, &prefix, &kv_page(limit)],
    )
    .await?;
    found.iter().map(|r| get(r, 0)).collect()
}

pub(crate) async fn count(tx: &Transaction<'_>, ns: &str) -> Res<u64> {
    let row = one(tx, "SELECT count(*) FROM kv WHERE ns = $1", &[&ns]).await?;
    Ok(to_u64(get(&row, 0)?))
}

pub(crate) async fn upload_get(
    tx: &Transaction<'_>,
    company: i64,
    sha256: &str,
) -> Res<Option<String>> {
    let sql = "SELECT url FROM uploads WHERE company_id = $1 AND sha256 = $2";
    opt_first(tx, sql, &[&company, &sha256]).await
}

pub(crate) async fn upload_put(
    tx: &Transaction<'_>,
    company: i64,
    sha256: &str,
    url: &str,
) -> Res<()> {
    exec(
        tx,
        "INSERT INTO uploads (company_id, sha256, url) VALUES ($1, $2, $3)
         ON CONFLICT (company_id, sha256) DO UPDATE SET url = $3",
        &[&company, &sha256, &url],
    )
    .await?;
    Ok(())
}
