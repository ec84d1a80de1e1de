//! Durable per-plugin key-value storage behind the [`KvStore`] trait, and [`FileKvStore`], which
//! keeps one small file per plugin and replaces it atomically on every change.
//!
//! File format, one entry per line: `<hex key> <hex value>\n`. Hex keeps it free of escaping.
//!
//! The key-count quota is checked in the same step as the write ([`KvStore::set`]), so
//! concurrent runs of one plugin can never push it past `max_keys`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Why a key-value operation did not happen.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// `set` of a new key when the plugin already has `max_keys` keys; nothing was written.
    #[error(
        "the plugin already has {max_keys} keys, the limit in `capabilities.kv.max_keys`; delete keys or raise it"
    )]
    Quota { max_keys: u64 },
    /// The store failed; the plugin gets `upstream` and the run keeps going.
    #[error("kv store: {0}")]
    Store(String),
}

/// Durable storage, namespaced by plugin name. The service backs it with SQLite.
#[async_trait::async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Writes `value` under `key`. A new key when the plugin already has `max_keys` keys fails
    /// with [`KvError::Quota`] and writes nothing; the check and the write are one step (one
    /// transaction, one lock), so concurrent sets never overshoot.
    async fn set(
        &self,
        plugin: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<(), KvError>;
    /// Returns whether the key existed.
    async fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError>;
    /// Keys starting with `prefix`, sorted.
    async fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, KvError>;
}

type Entries = BTreeMap<String, Vec<u8>>;

/// One file per plugin under a directory (`<dir>/<plugin>.kv`), cached in memory after first use.
#[derive(Clone)]
pub struct FileKvStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    plugins: Mutex<HashMap<String, Entries>>,
}

impl FileKvStore {
    /// Uses `dir`, creating it if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, KvError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| KvError::Store(format!("cannot create {}: {e}", dir.display())))?;
        let inner = Inner {
            dir,
            plugins: Mutex::new(HashMap::new()),
        };
        Ok(FileKvStore {
            inner: Arc::new(inner),
        })
    }

    /// Runs `f` on the plugin's entries on the blocking pool; `f` returns whether it changed them.
    async fn with<R: Send + 'static>(
        &self,
        plugin: &str,
        f: impl FnOnce(&mut Entries) -> (R, bool) + Send + 'static,
    ) -> Result<R, KvError> {
        let inner = Arc::clone(&self.inner);
        let plugin = checked_name(plugin)?;
        tokio::task::spawn_blocking(move || inner.with(&plugin, f))
            .await
            .map_err(|e| KvError::Store(format!("kv task failed: {e}")))?
    }
}

impl Inner {
    fn with<R>(
        &self,
        plugin: &str,
        f: impl FnOnce(&mut Entries) -> (R, bool),
    ) -> Result<R, KvError> {
        let mut plugins = self.plugins.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.dir.join(format!("{plugin}.kv"));
        if !plugins.contains_key(plugin) {
            plugins.insert(plugin.to_owned(), read_file(&path)?);
        }
        let entries = plugins
            .get_mut(plugin)
            .ok_or_else(|| KvError::Store("lost entries".into()))?;
        let mut copy = entries.clone();
        let (result, changed) = f(&mut copy);
        if changed {
            write_file(&path, &copy)?;
            *entries = copy;
        }
        Ok(result)
    }
}

#[async_trait::async_trait]
impl KvStore for FileKvStore {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let key = key.to_owned();
        self.with(plugin, move |e| (e.get(&key).cloned(), false))
            .await
    }

    async fn set(
        &self,
        plugin: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<(), KvError> {
        let key = key.to_owned();
        self.with(plugin, move |e| {
            if !e.contains_key(&key) && e.len() as u64 >= max_keys {
                return (Err(KvError::Quota { max_keys }), false);
            }
            e.insert(key, value);
            (Ok(()), true)
        })
        .await?
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError> {
        let key = key.to_owned();
        self.with(plugin, move |e| {
            let existed = e.remove(&key).is_some();
            (existed, existed)
        })
        .await
    }

    async fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        let prefix = prefix.to_owned();
        self.with(plugin, move |e| {
            let keys = e
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            (keys, false)
        })
        .await
    }
}

/// Plugin names become file names: allow only `[A-Za-z0-9_-]`.
fn checked_name(plugin: &str) -> Result<String, KvError> {
    let ok = !plugin.is_empty()
        && plugin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(plugin.to_owned())
    } else {
        Err(KvError::Store(format!(
            "plugin name `{plugin}` cannot name a kv file"
        )))
    }
}

fn read_file(path: &Path) -> Result<Entries, KvError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entries::new()),
        Err(e) => {
            return Err(KvError::Store(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut entries = Entries::new();
    for (n, line) in text.lines().enumerate() {
        let parsed = line.split_once(' ').and_then(|(k, v)| {
            let key = String::from_utf8(unhex(k)?).ok()?;
            Some((key, unhex(v)?))
        });
        let (key, value) = parsed.ok_or_else(|| {
            KvError::Store(format!("{}:{}: corrupt entry", path.display(), n + 1))
        })?;
        entries.insert(key, value);
    }
    Ok(entries)
}

fn write_file(path: &Path, entries: &Entries) -> Result<(), KvError> {
    use std::io::Write;
    let mut text = String::new();
    for (key, value) in entries {
        text.push_str(&crate::cache::hex(key.as_bytes()));
        text.push(' ');
        text.push_str(&crate::cache::hex(value));
        text.push('\n');
    }
    let tmp = path.with_extension("kv.tmp");
    let io = |e: std::io::Error| KvError::Store(format!("cannot write {}: {e}", path.display()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileKvStore::open(dir.path()).expect("open");
        store
            .set("p1", "a key", b"v\n1".to_vec(), 10)
            .await
            .expect("set");
        store.set("p1", "b", vec![0, 255], 10).await.expect("set");
        store
            .set("p2", "a key", b"other".to_vec(), 10)
            .await
            .expect("set");
        assert!(store.delete("p1", "b").await.expect("delete"));
        assert!(!store.delete("p1", "b").await.expect("delete"));
        let reopened = FileKvStore::open(dir.path()).expect("open");
        assert_eq!(
            reopened.get("p1", "a key").await.expect("get"),
            Some(b"v\n1".to_vec())
        );
        assert_eq!(reopened.get("p1", "b").await.expect("get"), None);
        assert_eq!(
            reopened.get("p2", "a key").await.expect("get"),
            Some(b"other".to_vec())
        );
        assert_eq!(reopened.list_keys("p1", "").await.expect("list"), ["a key"]);
    }

    #[tokio::test]
    async fn list_keys_filters_by_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileKvStore::open(dir.path()).expect("open");
        for key in ["user:1", "user:2", "order:1"] {
            store.set("p", key, vec![1], 10).await.expect("set");
        }
        let keys = store.list_keys("p", "user:").await.expect("list");
        assert_eq!(keys, ["user:1", "user:2"]);
    }

    #[tokio::test]
    async fn plugin_names_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileKvStore::open(dir.path()).expect("open");
        assert!(store.get("../etc", "k").await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sets_never_overshoot_max_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileKvStore::open(dir.path()).expect("open");
        let sets = (0..40).map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.set("p", &format!("k{n}"), vec![1], 8).await })
        });
        let mut written = 0;
        for set in sets {
            match set.await.expect("joined") {
                Ok(()) => written += 1,
                Err(KvError::Quota { max_keys: 8 }) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(written, 8);
        let reopened = FileKvStore::open(dir.path()).expect("open");
        assert_eq!(reopened.list_keys("p", "").await.expect("list").len(), 8);
        store.set("p", "k-new", vec![2], 8).await.expect_err("full");
        let existing = store.list_keys("p", "").await.expect("list")[0].clone();
        store
            .set("p", &existing, vec![3], 8)
            .await
            .expect("overwriting an existing key fits");
    }
}
