//! The on-disk cache of compiled components, keyed by content digest and engine compatibility.
//!
//! `cache_dir/<sha256 of the wasm>-<engine hash>.cwasm`. Files are written via a temporary file
//! and a rename, so a reader never sees half a file. Loading one is the crate's only `unsafe`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::RuntimeError;

/// Compiles components, reusing earlier compilations from disk when it can.
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_hash: String,
}

impl ComponentCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|e| RuntimeError::Cache {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(ComponentCache {
            dir,
            engine_hash: engine_hash(engine),
        })
    }

    /// Returns the compiled component for `wasm`, from the cache or freshly compiled (and stored).
    pub(crate) fn load(
        &self,
        engine: &Engine,
        plugin: &str,
        wasm: &[u8],
    ) -> Result<Component, RuntimeError> {
        let Some(dir) = &self.dir else {
            return compile(engine, plugin, wasm);
        };
        let path = dir.join(cache_file_name(&sha256_hex(wasm), &self.engine_hash));
        if path.is_file() {
            match deserialize_own_file(engine, &path) {
                Ok(component) => return Ok(component),
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "ignoring unusable cached component");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = compile(engine, plugin, wasm)?;
        if let Err(err) = store(&component, &path) {
            tracing::warn!(path = %path.display(), error = %err, "cannot write the compiled-component cache");
        }
        Ok(component)
    }
}

fn compile(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component, RuntimeError> {
    Component::new(engine, wasm).map_err(|e| RuntimeError::Compile {
        plugin: plugin.to_owned(),
        message: format!("{e:#}"),
    })
}

/// Writes the serialized component next to its final name, then renames it into place.
fn store(component: &Component, path: &Path) -> Result<(), String> {
    let bytes = component.serialize().map_err(|e| e.to_string())?;
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), unique_suffix()));
    std::fs::write(&tmp, &bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// Loads a cached compilation.
///
/// SAFETY: `Component::deserialize_file` trusts its input to be wasmtime's own output. The only
/// files we pass are ones this cache wrote itself (via `store`, from `Component::serialize` of an
/// engine with the same compatibility hash), named by the sha256 of the wasm bytes we just read
/// and hashed, so the digest of the source is verified by the lookup itself. The file name also
/// carries the engine's `precompile_compatibility_hash`, so an engine with different settings
/// never opens another's file; wasmtime additionally checks its own header and version.
#[allow(unsafe_code)]
fn deserialize_own_file(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see the function documentation: the file is our own precompile output.
    unsafe { Component::deserialize_file(engine, path) }
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
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
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

    #[test]
    fn second_load_comes_from_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let cache = ComponentCache::new(&engine, Some(dir.path().to_owned())).expect("cache");
        let wasm = wat_component();
        cache.load(&engine, "p", &wasm).expect("compile");
        let files: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(files.len(), 1, "exactly one cache file, no temp leftovers");
        cache.load(&engine, "p", &wasm).expect("from cache");
    }

    fn wat_component() -> Vec<u8> {
        // Component::new accepts the text format too (wasmtime's `wat` feature).
        b"(component)".to_vec()
    }
}
