//! A component the cache's import list vouches for but that no longer links against this host
//! (as after a host upgrade that changed the linker): its first run traps with
//! [`TrapCause::CodeUnavailable`], and the list is dropped, so the next load goes the eager way
//! and refuses the plugin there, with the link error.

use std::path::Path;

use crate::cache::{ComponentCache, sha256_hex};
use crate::digest::{InstallationKey, default_key_file};
use crate::engine::build_engine;
use crate::plugin::tests::component::{MANIFEST_FILE, input, manifest, services};
use crate::{RunStatus, Runtime, RuntimeConfig, RuntimeError, TrapCause};

/// A component with no `handle` export: it compiles, but does not link to the plugin world.
const UNLINKABLE: &[u8] = b"(component)";

fn config(root: &Path) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(root.join("cache")),
        ..RuntimeConfig::default()
    }
}

/// Compiles [`UNLINKABLE`] into the cache under `root` and keeps an import list for it, as if
/// it had linked when the list was written.
fn vouch_for_unlinkable(root: &Path) {
    let config = config(root);
    let cache_dir = root.join("cache");
    let key = InstallationKey::load_or_create(&default_key_file(&cache_dir)).expect("key");
    let (engine, _) = build_engine(&config).expect("engine");
    let cache = ComponentCache::new(&engine, Some(cache_dir), key.cache()).expect("cache");
    let digest = sha256_hex(UNLINKABLE);
    cache
        .load(&engine, "t", &digest, UNLINKABLE)
        .expect("compiles");
    cache.store_imports(&digest, UNLINKABLE, &[]);
}

fn load(runtime: &Runtime, root: &Path) -> Result<crate::Plugin, RuntimeError> {
    let services = services(&root.join("kv"));
    runtime.load_plugin_bytes(&manifest(""), MANIFEST_FILE, UNLINKABLE, services)
}

#[tokio::test]
async fn code_that_no_longer_links_traps_its_run_and_is_refused_at_the_next_load() {
    let root = tempfile::tempdir().expect("tempdir");
    drop(Runtime::new(config(root.path())).expect("creates the key"));
    vouch_for_unlinkable(root.path());
    let runtime = Runtime::new(config(root.path())).expect("runtime");
    let plugin = load(&runtime, root.path()).expect("lazily loaded");
    match plugin.run(input()).await.status {
        RunStatus::Trapped(trap) => {
            assert_eq!(trap.cause, TrapCause::CodeUnavailable);
            assert!(trap.message.contains("switchboard:plugin"), "{trap:?}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    drop(plugin);
    match load(&runtime, root.path()) {
        Err(RuntimeError::Link { .. }) => {}
        Err(other) => panic!("expected a link error, got {other}"),
        Ok(_) => panic!("the unlinkable component loaded again"),
    }
}
