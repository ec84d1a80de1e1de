//! Lazy linking: a plugin whose component the compiled-component cache already holds (from an
//! earlier runtime on the same cache directory) loads without being linked and is linked by its
//! first run, once, however many first runs race; the load-time grant check still refuses an
//! ungranted import; a cache entry lost after load is recompiled; code that cannot be had back
//! ends its runs with a typed trap, without trying again on every run.

use std::path::{Path, PathBuf};

use switchboard_runtime::event::{PluginEvent, RunInfo};
use switchboard_runtime::{
    FileKvStore, HostServices, Plugin, RunInput, RunStatus, Runtime, RuntimeConfig, RuntimeError,
    TrapCause,
};

#[path = "support/component.rs"]
mod support;

use support::{MANIFEST_FILE, RETURN_OK, input, manifest, services};

/// The kv `set` import: key (pointer, length), value (pointer, length), result area.
const KV_SET: &str =
    r#"(import "switchboard:plugin/kv@0.2.0" "set" (func $set (param i32 i32 i32 i32 i32)))"#;

/// Grants the kv the test component writes to.
const KV_GRANT: &str = "[capabilities]\nkv = true\n";

/// A component that sets kv key `k` to `vv` and returns ok.
fn kv_writer() -> Vec<u8> {
    let body = format!(
        "(call $set (i32.const 128) (i32.const 1) (i32.const 129) (i32.const 2) (i32.const 256)) {RETURN_OK}"
    );
    support::component(KV_SET, "kvv", &body)
}

/// A cache directory that a first runtime filled with the kv writer (compiled, linked at load,
/// and its import list kept); that runtime is gone.
struct Warm {
    root: tempfile::TempDir,
    wasm: Vec<u8>,
}

impl Warm {
    fn new() -> Warm {
        let warm = Warm {
            root: tempfile::tempdir().expect("tempdir"),
            wasm: kv_writer(),
        };
        let cold = warm.runtime();
        let plugin = warm.load(&cold, KV_GRANT).expect("cold load");
        assert_eq!(cold.components_linked(), 1, "a cold load links at load");
        drop(plugin);
        warm
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// A new runtime compiling into (and loading from) this cache, its key beside it.
    fn runtime(&self) -> Runtime {
        Runtime::new(RuntimeConfig {
            cache_dir: Some(self.path().join("cache")),
            max_concurrent_runs: 8,
            guest_threads: 2,
            ..Default::default()
        })
        .expect("runtime")
    }

    /// Loads the kv writer, granted `grants`, into `runtime`.
    fn load(&self, runtime: &Runtime, grants: &str) -> Result<Plugin, RuntimeError> {
        let manifest = manifest(grants);
        runtime.load_plugin_bytes(&manifest, MANIFEST_FILE, &self.wasm, services(self.path()))
    }
}

/// The one file in the cache directory ending in `suffix`.
fn cache_file(root: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(root.join("cache"))
        .expect("cache dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "one {suffix} file: {found:?}");
    found[0].clone()
}

fn refused(loaded: Result<Plugin, RuntimeError>) -> RuntimeError {
    match loaded {
        Ok(_) => panic!("loaded a plugin that imports kv without granting it"),
        Err(err) => err,
    }
}

fn assert_wrote_kv(outcome: &switchboard_runtime::RunOutcome) {
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let kinds: Vec<&str> = outcome.actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["kv.set"]);
}

#[tokio::test]
async fn a_plugin_from_the_warm_cache_is_linked_by_its_first_run() {
    let warm = Warm::new();
    let runtime = warm.runtime();
    let plugin = warm.load(&runtime, KV_GRANT).expect("warm load");
    assert_eq!(runtime.components_loaded(), 1);
    assert_eq!(runtime.components_linked(), 0, "not linked at load");
    assert_eq!(runtime.component_links(), 0);
    assert!(plugin.imports().iter().any(|i| i.contains("kv")));
    assert_wrote_kv(&plugin.run(input()).await);
    assert_eq!(runtime.components_linked(), 1, "linked by the first run");
    assert_wrote_kv(&plugin.run(input()).await);
    assert_eq!(runtime.component_links(), 1, "later runs reuse the link");
}

#[tokio::test]
async fn concurrent_first_runs_link_once() {
    let warm = Warm::new();
    let runtime = warm.runtime();
    let first = warm.load(&runtime, KV_GRANT).expect("load");
    let second = warm.load(&runtime, KV_GRANT).expect("same component");
    let runs = (0..8).map(|i| {
        let plugin = if i % 2 == 0 { &first } else { &second };
        plugin.run(numbered(i))
    });
    let outcomes = futures::future::join_all(runs).await;
    for outcome in &outcomes {
        assert_wrote_kv(outcome);
    }
    assert_eq!(runtime.components_linked(), 1);
    assert_eq!(runtime.component_links(), 1, "eight first runs, one link");
}

/// The first attempt of run `i` (distinct ids, so their kv writes are distinct actions).
fn numbered(i: usize) -> RunInput {
    RunInput {
        event: PluginEvent::Manual("{}".into()),
        run: RunInfo {
            run_id: format!("run-{i}"),
            event_id: format!("ev-{i}"),
            attempt: 1,
            is_replay: false,
        },
        dry_run: false,
    }
}

#[tokio::test]
async fn an_ungranted_import_is_refused_at_load_from_a_warm_cache() {
    let warm = Warm::new();
    let runtime = warm.runtime();
    let err = refused(warm.load(&runtime, ""));
    assert!(matches!(err, RuntimeError::Imports { .. }), "{err}");
    assert!(err.to_string().contains("does not grant it"), "{err}");
    assert_eq!(runtime.component_links(), 0, "refused from the kept list");
}

#[tokio::test]
async fn a_forged_import_list_is_not_trusted() {
    let warm = Warm::new();
    // An empty list under the genuine tag: were it believed, kv would pass ungranted. It is
    // not, so the load goes the eager way, which finds kv and writes the true list back.
    let list = cache_file(warm.path(), ".imports");
    let genuine = std::fs::read(&list).expect("read list");
    std::fs::write(&list, [&genuine[..32], b"[]"].concat()).expect("forge");
    let runtime = warm.runtime();
    let err = refused(warm.load(&runtime, ""));
    assert!(matches!(err, RuntimeError::Imports { .. }), "{err}");
    assert_eq!(runtime.component_links(), 0, "the refused code is gone");
    let rewritten = std::fs::read(&list).expect("read list");
    assert_eq!(
        rewritten, genuine,
        "the eager load kept the true list again"
    );
    let plugin = warm.load(&runtime, KV_GRANT).expect("lazy load");
    assert_eq!(runtime.components_linked(), 0, "trusted again");
    assert_wrote_kv(&plugin.run(input()).await);
}

#[tokio::test]
async fn a_cache_entry_deleted_or_corrupted_after_load_is_recompiled_by_the_first_run() {
    for damage in [Damage::Delete, Damage::Corrupt] {
        let warm = Warm::new();
        let runtime = warm.runtime();
        let plugin = warm.load(&runtime, KV_GRANT).expect("warm load");
        let compiled = cache_file(warm.path(), ".cwasm");
        damage.apply(&compiled);
        assert_wrote_kv(&plugin.run(input()).await);
        assert_eq!(runtime.components_linked(), 1, "{damage:?}");
        assert!(compiled.is_file(), "{damage:?}: recompiled into the cache");
    }
}

#[tokio::test]
async fn code_lost_from_the_cache_traps_every_run_without_retrying_the_link() {
    let warm = Warm::new();
    let runtime = warm.runtime();
    let plugin = warm.load(&runtime, KV_GRANT).expect("warm load");
    std::fs::remove_dir_all(warm.path().join("cache")).expect("lose the cache");
    for _ in 0..2 {
        match plugin.run(input()).await.status {
            RunStatus::Trapped(trap) => {
                assert_eq!(trap.cause, TrapCause::CodeUnavailable);
                assert!(trap.message.contains("reload the plugin"), "{trap:?}");
            }
            other => panic!("expected a trap, got {other:?}"),
        }
    }
    assert_eq!(runtime.component_links(), 1, "tried once, not on every run");
    assert_eq!(runtime.components_linked(), 0);
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Delete,
    Corrupt,
}

impl Damage {
    fn apply(self, file: &Path) {
        match self {
            Damage::Delete => std::fs::remove_file(file).expect("delete"),
            Damage::Corrupt => std::fs::write(file, b"not a compiled component").expect("corrupt"),
        }
    }
}
