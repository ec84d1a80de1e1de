//! The on-disk cache of compiled components, keyed by content digest and engine compatibility.
//!
//! `cache_dir/<sha256 of the wasm>-<engine hash>.cwasm` holds a 32-byte HMAC-SHA256 tag followed
//! by wasmtime's serialized component. The tag covers the file name and the bytes and is keyed
//! with the installation's cache key, which lives outside the directory (see `digest.rs`), so a
//! file this cache did not write (or wrote for other wasm) is never deserialized: loading one
//! would run its native code. Such a file is recompiled and replaced, with a warning. The
//! directory is created 0700 and refused when group or others may write to it. Files are
//! written via a temporary file and a rename, so a reader never sees half a file. Deserializing
//! is the crate's only `unsafe`.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::RuntimeError;
use crate::digest::DigestKey;

#[path = "cache_imports.rs"]
mod imports;

/// Bytes of the authentication tag at the start of each cache file.
const TAG_BYTES: usize = 32;

/// Compiles components, reusing earlier compilations from disk when it can.
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_hash: String,
    key: DigestKey,
}

impl ComponentCache {
    /// A cache in `dir` (created 0700; refused when group or others may write to it), whose
    /// files are authenticated with `key`. `None` compiles every time.
    pub(crate) fn new(
        engine: &Engine,
        dir: Option<PathBuf>,
        key: DigestKey,
    ) -> Result<Self, RuntimeError> {
        if let Some(dir) = &dir {
            prepare_dir(dir)?;
        }
        Ok(ComponentCache {
            dir,
            engine_hash: engine_hash(engine),
            key,
        })
    }

    /// Returns the compiled component for `wasm`, whose sha256 is `digest` (see
    /// [`sha256_hex`]), from the cache or freshly compiled (and stored).
    pub(crate) fn load(
        &self,
        engine: &Engine,
        plugin: &str,
        digest: &str,
        wasm: &[u8],
    ) -> Result<Component, RuntimeError> {
        let Some(dir) = &self.dir else {
            return compile(engine, plugin, wasm);
        };
        let name = cache_file_name(digest, &self.engine_hash);
        let path = dir.join(&name);
        if let Some(component) = self.load_cached(engine, &name, &path) {
            return Ok(component);
        }
        let component = compile(engine, plugin, wasm)?;
        if let Err(err) = self.store(&component, &name, &path) {
            tracing::warn!(path = %path.display(), error = %err, "cannot write the compiled-component cache");
        }
        Ok(component)
    }

    /// The cached component, if the file exists, authenticates and deserializes.
    fn load_cached(&self, engine: &Engine, name: &str, path: &Path) -> Option<Component> {
        let bytes = std::fs::read(path).ok()?;
        let Some(compiled) = self.authenticated(name, &bytes) else {
            tracing::warn!(path = %path.display(), "cached component failed authentication; recompiling and replacing it");
            let _ = std::fs::remove_file(path);
            return None;
        };
        match deserialize_authenticated(engine, compiled) {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "ignoring unusable cached component");
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    /// The serialized component in `bytes`, if its tag is this cache's tag for `name` and it.
    fn authenticated<'a>(&self, name: &str, bytes: &'a [u8]) -> Option<&'a [u8]> {
        if bytes.len() < TAG_BYTES {
            return None;
        }
        let (tag, compiled) = bytes.split_at(TAG_BYTES);
        self.key
            .verify(&[name.as_bytes(), b"\n", compiled], tag)
            .then_some(compiled)
    }

    /// Writes tag and component next to the final name, then renames it into place.
    fn store(&self, component: &Component, name: &str, path: &Path) -> Result<(), String> {
        let compiled = component.serialize().map_err(|e| e.to_string())?;
        let tag = self.key.mac(&[name.as_bytes(), b"\n", &compiled]);
        write_atomically(path, &[&tag, &compiled])
    }

    /// The compiled component of `digest` from the cache alone (`None`: not there, or
    /// unusable and removed), for a plugin loaded lazily and now run for the first time.
    pub(crate) fn cached(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let name = cache_file_name(digest, &self.engine_hash);
        let path = self.dir.as_ref()?.join(&name);
        self.load_cached(engine, &name, &path)
    }
}

/// Writes `parts` to a temporary file beside `path`, then renames it into place, so a reader
/// never sees half a file.
fn write_atomically(path: &Path, parts: &[&[u8]]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), unique_suffix()));
    std::fs::write(&tmp, parts.concat()).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// Creates `dir` with mode 0700 when missing; refuses it when group or others may write to it.
fn prepare_dir(dir: &Path) -> Result<(), RuntimeError> {
    let cache_err = |e: std::io::Error| RuntimeError::Cache {
        path: dir.to_owned(),
        message: e.to_string(),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(cache_err)?;
    let mode = std::fs::metadata(dir)
        .map_err(cache_err)?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        return Err(RuntimeError::CacheInsecure {
            path: dir.to_owned(),
        });
    }
    Ok(())
}

fn compile(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component, RuntimeError> {
    Component::new(engine, wasm).map_err(|e| RuntimeError::Compile {
        plugin: plugin.to_owned(),
        message: format!("{e:#}"),
    })
}

/// Loads a cached compilation from bytes already read into memory and authenticated.
///
/// SAFETY: `Component::deserialize` runs native code from its input, so the input must be
/// wasmtime's own output for a compatible engine. What is guaranteed here: `compiled` is the
/// in-memory copy whose HMAC-SHA256 tag (over the file name and these exact bytes) verified under
/// the cache key, which is kept outside the cache directory in a 0600 file. So the bytes were
/// written by a holder of that key, i.e. by `ComponentCache::store` of this installation, from
/// `Component::serialize`, for the wasm whose sha256 is in the file name and an engine whose
/// `precompile_compatibility_hash` is in it too; wasmtime also checks its own header and
/// version. Because the bytes are verified and deserialized from memory, changing the file after
/// the check has no effect. Not guaranteed: anyone who can read the key file (the host's own
/// user, root) can forge a tag; the key file's permissions are the trust boundary.
#[allow(unsafe_code)]
fn deserialize_authenticated(engine: &Engine, compiled: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: see the function documentation: the bytes are authenticated precompile output.
    unsafe { Component::deserialize(engine, compiled) }
}

/// `<digest>-<enginehash>.cwasm`.
pub(crate) fn cache_file_name(digest: &str, engine_hash: &str) -> String {
    format!("{digest}-{engine_hash}.cwasm")
}

/// Lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::digest::hex(bytes)
}

/// A short, stable digest of the engine settings that decide precompiled-code compatibility.
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize()[..8])
}

/// A `Hasher` that feeds sha256, so the hash is stable across processes (unlike `DefaultHasher`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ])
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_combines_digest_and_engine() {
        let digest = sha256_hex(b"abc");
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(cache_file_name(&digest, "e1"), format!("{digest}-e1.cwasm"));
    }

    #[test]
    fn engine_hash_is_stable_and_config_sensitive() {
        let a = Engine::default();
        let b = Engine::default();
        assert_eq!(engine_hash(&a), engine_hash(&b));
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let c = Engine::new(&config).expect("engine");
        assert_ne!(engine_hash(&a), engine_hash(&c));
    }

    fn cache_in(dir: &Path) -> (Engine, ComponentCache) {
        let engine = Engine::default();
        let key = DigestKey::ephemeral();
        let cache = ComponentCache::new(&engine, Some(dir.to_owned()), key).expect("cache");
        (engine, cache)
    }

    /// A cache under `dir` that compiled and stored component `a`: its engine, the cache, `a`'s
    /// bytes and the one file it wrote.
    fn cache_holding_a(dir: &Path) -> (Engine, ComponentCache, Vec<u8>, PathBuf) {
        let (engine, cache) = cache_in(dir);
        let wasm = component_importing("a");
        cache
            .load(&engine, "p", &sha256_hex(&wasm), &wasm)
            .expect("compile");
        let file = only_file(dir);
        (engine, cache, wasm, file)
    }

    fn only_file(dir: &Path) -> PathBuf {
        let files: Vec<_> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(
            files.len(),
            1,
            "exactly one cache file, no temp leftovers: {files:?}"
        );
        files[0].clone()
    }

    fn import_names(engine: &Engine, component: &Component) -> Vec<String> {
        let ty = component.component_type();
        ty.imports(engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    #[test]
    fn second_load_comes_from_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, cache, wasm, file) = cache_holding_a(dir.path());
        let stored = std::fs::read(&file).expect("read");
        cache
            .load(&engine, "p", &sha256_hex(&wasm), &wasm)
            .expect("from cache");
        assert_eq!(std::fs::read(&file).expect("read"), stored, "not rewritten");
    }

    #[test]
    fn a_tampered_file_is_recompiled_never_deserialized() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, cache, wasm, file) = cache_holding_a(dir.path());
        let genuine = std::fs::read(&file).expect("read");
        // Valid wasmtime output for other code, under a's name: with its own tag, with a's tag,
        // and bare (the pre-authentication format). Deserializing any of them would load `b`.
        let other = Component::new(&engine, component_importing("b")).expect("b");
        let other = other.serialize().expect("serialize");
        let forged = [
            [
                cache.key.mac(&[b"other.cwasm\n", &other]).as_slice(),
                &other,
            ]
            .concat(),
            [&genuine[..TAG_BYTES], other.as_slice()].concat(),
            other.clone(),
        ];
        for bytes in forged {
            std::fs::write(&file, &bytes).expect("tamper");
            let loaded = cache
                .load(&engine, "p", &sha256_hex(&wasm), &wasm)
                .expect("recompiled");
            assert_eq!(import_names(&engine, &loaded), ["a"]);
            let replaced = std::fs::read(&file).expect("read");
            assert_eq!(
                &replaced[..TAG_BYTES],
                &genuine[..TAG_BYTES],
                "re-authenticated"
            );
        }
    }

    #[test]
    fn a_file_tagged_with_another_key_is_not_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _cache, _, file) = cache_holding_a(dir.path());
        let (_, stranger) = cache_in(dir.path());
        assert!(
            stranger
                .load_cached(&engine, &file_name(&file), &file)
                .is_none()
        );
        assert!(!file.exists(), "the unauthenticated file is removed");
    }

    #[test]
    fn the_cache_dir_is_created_private_and_a_shared_one_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("nested/cache");
        cache_in(&dir);
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        for shared in [0o770, 0o777, 0o702] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(shared)).expect("chmod");
            let engine = Engine::default();
            let refused = ComponentCache::new(&engine, Some(dir.clone()), DigestKey::ephemeral());
            assert!(
                matches!(refused, Err(RuntimeError::CacheInsecure { .. })),
                "mode {shared:o} was accepted"
            );
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        cache_in(&dir);
    }

    fn file_name(path: &Path) -> String {
        path.file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned()
    }

    /// A component importing one function `name` (the text format, via wasmtime's `wat` feature).
    fn component_importing(name: &str) -> Vec<u8> {
        format!("(component (import \"{name}\" (func)))").into_bytes()
    }
}
