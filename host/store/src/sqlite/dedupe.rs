//! How an event's dedupe key is stored (schema version 7): its unique index holds a 16-byte
//! digest (the first 16 bytes of the key's SHA-256) instead of the text, and the text itself is
//! left out of the row when the payload already carries it at `event.dedupe_key` (a webhook's
//! normalized form always does); reading takes it back from the payload.
//!
//! Duplicate detection stays exact in effect: two different keys share a digest with probability
//! about n²/2¹²⁹ for n stored keys, under 10⁻²⁰ for a billion events, far below the chance of
//! a disk corrupting the row. A key whose payload does not carry it (a cron slot's, a test's) is
//! kept as text, as are the rows migrated from version 6.

use super::fail::Res;
use crate::error::StoreError;
use rusqlite::Transaction;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Bytes of the stored digest.
pub(crate) const DIGEST_LEN: usize = 16;

/// A key as the `events` row stores it.
pub(crate) struct StoredKey {
    /// The unique digest.
    pub(crate) digest: [u8; DIGEST_LEN],
    /// The text, when the payload does not carry it.
    pub(crate) text: Option<String>,
}

impl StoredKey {
    /// The stored form of `key` for an event whose (unpacked) payload is `payload`.
    pub(crate) fn new(key: &str, payload: &str) -> Self {
        let carried = in_payload(payload).is_some_and(|found| found == key);
        Self {
            digest: digest(key),
            text: (!carried).then(|| key.to_owned()),
        }
    }
}

/// The first [`DIGEST_LEN`] bytes of the SHA-256 of `key`.
pub(crate) fn digest(key: &str) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(key.as_bytes());
    let mut out = [0; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

#[derive(Deserialize)]
struct Payload {
    event: Carried,
}

#[derive(Deserialize)]
struct Carried {
    dedupe_key: String,
}

/// The key a payload carries at `event.dedupe_key`, if it is JSON with one.
fn in_payload(payload: &str) -> Option<String> {
    serde_json::from_str::<Payload>(payload)
        .ok()
        .map(|p| p.event.dedupe_key)
}

/// The event's key: its stored `text`, or the one its `payload` carries.
pub(crate) fn resolve(text: Option<String>, payload: &str) -> Res<String> {
    if let Some(text) = text {
        return Ok(text);
    }
    in_payload(payload).ok_or_else(|| {
        StoreError::Database {
            message: "an event stored without its dedupe key has none in its payload; \
                      the row is damaged: restore the file from a backup"
                .to_owned(),
        }
        .into()
    })
}

/// Before migration 7's SQL: the digest of every stored event's key, in the temporary table
/// `event_digests` that the SQL copies from (and drops).
pub(crate) fn before_migration_7(tx: &Transaction<'_>) -> Res<()> {
    tx.execute_batch(
        "CREATE TEMP TABLE event_digests (id INTEGER PRIMARY KEY, digest BLOB NOT NULL)",
    )?;
    let mut read = tx.prepare("SELECT id, dedupe_key FROM events")?;
    let mut write = tx.prepare("INSERT INTO temp.event_digests (id, digest) VALUES (?1, ?2)")?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let (id, key): (i64, String) = (row.get(0)?, row.get(1)?);
        write.execute(rusqlite::params![id, &digest(&key)[..]])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_the_payload_carries_is_not_stored_twice() {
        let payload = r#"{"source":"webhook","event":{"kind":"k","dedupe_key":"radist:1"}}"#;
        assert!(StoredKey::new("radist:1", payload).text.is_none());
        let other = StoredKey::new("radist:2", payload);
        assert_eq!(other.text.as_deref(), Some("radist:2"));
        assert_eq!(resolve(None, payload).expect("carried"), "radist:1");
        assert!(StoredKey::new("k", "not json").text.is_some());
        assert_ne!(digest("radist:1"), digest("radist:2"));
    }
}
