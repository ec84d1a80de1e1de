//! What the compiled-component cache keeps beside a compiled component so that a later start can
//! load a plugin without deserializing it: the component's import list and a copy of its wasm.
//!
//! `<digest>-<engine hash>.imports` holds a 32-byte HMAC-SHA256 tag followed by the import names
//! as a JSON array. The tag covers a label, the file name, the host API (this crate's version and
//! `plugin.wit`, so a host that links differently never trusts it) and the list, under the cache
//! key, like the compiled file's tag. It is written only after the component compiled and linked
//! against this host, so its presence also says "this component links". A missing, oversized or
//! unauthenticated list makes the caller take the eager path (deserialize, list, link).
//!
//! `<digest>.wasm` is the component's own bytes, from which a first run recompiles when the
//! compiled file is gone or unusable by then. It needs no tag: it is compiled, never
//! deserialized, and only after its sha256 matches its name.

use std::io::Read;
use std::path::PathBuf;

use super::{ComponentCache, TAG_BYTES, cache_file_name, sha256_hex};

/// Bytes the import list may take on disk; a longer file is not read.
const MAX_LIST_BYTES: u64 = 64 * 1024;

/// Bytes a component's wasm copy may take on disk; a longer file is not read.
const MAX_WASM_BYTES: u64 = 256 * 1024 * 1024;

/// What a host must share with the host that wrote a list to trust it: same crate, same WIT.
const HOST_API: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\n",
    include_str!("../../wit/plugin.wit")
);

impl ComponentCache {
    /// The authenticated import list of `digest`'s component, when the cache also still holds
    /// its compiled file and its wasm; `None` sends the caller down the eager path.
    pub(crate) fn cached_imports(&self, digest: &str) -> Option<Vec<String>> {
        let dir = self.dir.as_ref()?;
        let compiled = dir.join(cache_file_name(digest, &self.engine_hash));
        if !compiled.is_file() || !self.wasm_path(digest)?.is_file() {
            return None;
        }
        let name = self.list_name(digest);
        let bytes = read_bounded(&dir.join(&name), MAX_LIST_BYTES)?;
        if bytes.len() < TAG_BYTES {
            return None;
        }
        let (tag, list) = bytes.split_at(TAG_BYTES);
        if !self.key.verify(&list_mac_parts(&name, list), tag) {
            tracing::warn!(file = %name, "cached import list failed authentication; loading eagerly");
            return None;
        }
        serde_json::from_slice(list).ok()
    }

    /// Keeps `wasm` and its linked component's `imports` for the next start (best effort: a
    /// failure only costs that start an eager load, and is logged).
    pub(crate) fn store_imports(&self, digest: &str, wasm: &[u8], imports: &[String]) {
        let Some(dir) = &self.dir else { return };
        let name = self.list_name(digest);
        let written = self.write_wasm(digest, wasm).and_then(|()| {
            let list = serde_json::to_vec(imports).map_err(|e| e.to_string())?;
            let tag = self.key.mac(&list_mac_parts(&name, &list));
            super::write_atomically(&dir.join(&name), &[&tag, &list])
        });
        if let Err(err) = written {
            tracing::warn!(file = %name, error = %err, "cannot keep the import list; the next start loads this component eagerly");
        }
    }

    /// Drops `digest`'s import list, so the next load takes the eager path and reports there
    /// what went wrong (its component no longer links against this host).
    pub(crate) fn forget_imports(&self, digest: &str) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join(self.list_name(digest)));
        }
    }

    /// The component's wasm as kept by [`ComponentCache::store_imports`], if it is still there
    /// and still hashes to `digest`.
    pub(crate) fn kept_wasm(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = read_bounded(&self.wasm_path(digest)?, MAX_WASM_BYTES)?;
        (sha256_hex(&bytes) == digest).then_some(bytes)
    }

    fn write_wasm(&self, digest: &str, wasm: &[u8]) -> Result<(), String> {
        let Some(path) = self.wasm_path(digest) else {
            return Ok(());
        };
        // Its name is its hash: a file there is this wasm, or is found out (and not compiled)
        // by `kept_wasm` when needed.
        if path.is_file() {
            return Ok(());
        }
        super::write_atomically(&path, &[wasm])
    }

    fn wasm_path(&self, digest: &str) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("{digest}.wasm")))
    }

    fn list_name(&self, digest: &str) -> String {
        format!("{digest}-{}.imports", self.engine_hash)
    }
}

fn list_mac_parts<'a>(name: &'a str, list: &'a [u8]) -> [&'a [u8]; 6] {
    [
        b"switchboard import list v1\n",
        name.as_bytes(),
        b"\n",
        HOST_API.as_bytes(),
        b"\n",
        list,
    ]
}

/// The file's bytes, or `None` when it is missing, unreadable or longer than `max`.
fn read_bounded(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() > max {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wasmtime::Engine;

    use super::*;
    use crate::digest::DigestKey;

    const WASM: &[u8] = b"(component (import \"a\" (func)))";

    /// A cache under `dir` with the key `key` that compiled [`WASM`] and kept its import list.
    fn cache_keeping(dir: &Path, key: DigestKey) -> (ComponentCache, String) {
        let engine = Engine::default();
        let cache = ComponentCache::new(&engine, Some(dir.to_owned()), key).expect("cache");
        let digest = sha256_hex(WASM);
        cache.load(&engine, "p", &digest, WASM).expect("compile");
        cache.store_imports(&digest, WASM, &["a".to_owned()]);
        (cache, digest)
    }

    #[test]
    fn a_kept_list_is_read_back_only_under_its_key_and_beside_its_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = DigestKey::ephemeral();
        let (cache, digest) = cache_keeping(dir.path(), key.clone());
        assert_eq!(cache.cached_imports(&digest), Some(vec!["a".to_owned()]));
        assert_eq!(cache.kept_wasm(&digest).as_deref(), Some(WASM));
        let engine = Engine::default();
        let stranger =
            ComponentCache::new(&engine, Some(dir.path().to_owned()), DigestKey::ephemeral());
        assert_eq!(stranger.expect("cache").cached_imports(&digest), None);
        let compiled = dir
            .path()
            .join(cache_file_name(&digest, &cache.engine_hash));
        std::fs::remove_file(compiled).expect("remove");
        assert_eq!(cache.cached_imports(&digest), None, "no code, no lazy load");
    }

    #[test]
    fn an_oversized_list_or_a_changed_wasm_copy_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cache, digest) = cache_keeping(dir.path(), DigestKey::ephemeral());
        let list = dir.path().join(cache.list_name(&digest));
        let big = vec![b' '; usize::try_from(MAX_LIST_BYTES).expect("small") + 1];
        std::fs::write(&list, big).expect("write");
        assert_eq!(cache.cached_imports(&digest), None);
        let copy = cache.wasm_path(&digest).expect("dir");
        std::fs::write(copy, b"(component)").expect("write");
        assert_eq!(cache.kept_wasm(&digest), None, "its hash no longer matches");
    }
}
