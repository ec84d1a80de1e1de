//! The [`Journal`]: where completed effectful actions are remembered, keyed by
//! (run key, sequence number) with a fingerprint of the request, so a retried or replayed run is
//! answered from it instead of repeating a send. [`InMemoryJournal`] is the default; the service
//! plugs in its durable action ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Identifies one action of one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JournalKey {
    /// The run's stable key (its run id; the same across retries of the run).
    pub run_key: String,
    /// The action's sequence number within the run, from 1.
    pub seq: u32,
    /// sha256 of the canonical JSON of the request (secrets included, then hashed).
    pub fingerprint: String,
}

/// The journal could not be read or written; the run traps rather than risk a duplicate.
#[derive(Debug, thiserror::Error)]
#[error("action journal: {0}")]
pub struct JournalError(pub String);

/// A store of completed actions.
#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    /// The result of an earlier completion of exactly this action (same run key, seq and
    /// fingerprint), if any.
    async fn completed(&self, key: &JournalKey) -> Result<Option<Value>, JournalError>;
    /// Remembers that the action completed with `result`.
    async fn complete(
        &self,
        key: &JournalKey,
        kind: &str,
        result: &Value,
    ) -> Result<(), JournalError>;
}

/// A process-local journal: replays within one process lifetime.
#[derive(Debug, Default)]
pub struct InMemoryJournal {
    entries: Mutex<HashMap<(String, u32), (String, Value)>>,
}

#[async_trait::async_trait]
impl Journal for InMemoryJournal {
    async fn completed(&self, key: &JournalKey) -> Result<Option<Value>, JournalError> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let found = entries.get(&(key.run_key.clone(), key.seq));
        Ok(found
            .filter(|(fingerprint, _)| *fingerprint == key.fingerprint)
            .map(|(_, result)| result.clone()))
    }

    async fn complete(
        &self,
        key: &JournalKey,
        _kind: &str,
        result: &Value,
    ) -> Result<(), JournalError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            (key.run_key.clone(), key.seq),
            (key.fingerprint.clone(), result.clone()),
        );
        Ok(())
    }
}

/// sha256 of `value` serialised with object keys sorted, so equal requests hash equally.
pub(crate) fn fingerprint(kind: &str, value: &Value) -> String {
    let mut canonical = String::new();
    canonical.push_str(kind);
    canonical.push('\n');
    write_canonical(value, &mut canonical);
    crate::cache::hex(&Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order() {
        let a = fingerprint("k", &json!({"a": 1, "b": [1, {"y": 2, "x": 3}]}));
        let b = fingerprint("k", &json!({"b": [1, {"x": 3, "y": 2}], "a": 1}));
        assert_eq!(a, b);
        assert_ne!(a, fingerprint("other", &json!({"a": 1})));
    }

    #[tokio::test]
    async fn completed_needs_the_same_fingerprint() {
        let journal = InMemoryJournal::default();
        let key = JournalKey {
            run_key: "r".into(),
            seq: 1,
            fingerprint: "f".into(),
        };
        assert_eq!(journal.completed(&key).await.expect("ok"), None);
        journal.complete(&key, "k", &json!(7)).await.expect("ok");
        assert_eq!(journal.completed(&key).await.expect("ok"), Some(json!(7)));
        let other = JournalKey {
            fingerprint: "g".into(),
            ..key
        };
        assert_eq!(journal.completed(&other).await.expect("ok"), None);
    }
}
