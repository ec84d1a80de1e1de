//! `Plugin::run` end to end on tiny components (core WAT + the real WIT, encoded with
//! wit-component): what only a unit test can reach, such as a host function forced to panic
//! through the log capability's test-only hook, and what the call hook counts.

use crate::capabilities::TEST_PANIC;
use crate::event::{PluginEvent, RunInfo};
use crate::kv_store::FileKvStore;
use crate::{HostServices, RunInput, RunStatus, Runtime, RuntimeConfig};

#[path = "../tests/support/component.rs"]
pub(crate) mod component;

use component::{MANIFEST_FILE, RETURN_OK, component, input, manifest, services};

const LOG_IMPORT: &str =
    r#"(import "switchboard:plugin/log@0.2.0" "log" (func $log (param i32 i32 i32)))"#;

fn load(runtime: &Runtime, limits: &str, wasm: &[u8], kv: &std::path::Path) -> crate::Plugin {
    runtime
        .load_plugin_bytes(&manifest(limits), MANIFEST_FILE, wasm, services(kv))
        .expect("load")
}

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        max_concurrent_runs: 2,
        max_memory_mib: 64,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

#[tokio::test]
async fn a_host_panic_traps_that_run_and_the_runtime_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = runtime();
    let call = format!(
        "(call $log (i32.const 2) (i32.const 128) (i32.const {})) {RETURN_OK}",
        TEST_PANIC.len()
    );
    let panicking = load(
        &runtime,
        "",
        &component(LOG_IMPORT, TEST_PANIC, &call),
        dir.path(),
    );
    let outcome = panicking.run(input()).await;
    match &outcome.status {
        RunStatus::Trapped(t) => {
            assert!(t.message.starts_with("host error"), "{t:?}");
            assert_eq!(t.cause, crate::TrapCause::HostPanic);
        }
        other => panic!("expected trapped, got {other:?}"),
    }
    assert_eq!(
        runtime.runs_in_progress(),
        0,
        "the panicked run freed its slot"
    );
    let healthy = load(&runtime, "", &component("", "", RETURN_OK), dir.path());
    for _ in 0..3 {
        assert_eq!(healthy.run(input()).await.status, RunStatus::Succeeded);
    }
}

#[tokio::test]
async fn only_calls_into_the_host_count_against_max_host_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = runtime();
    // 500 bulk copies and fills, then ~100M loop iterations (several epoch ticks): none of it
    // is a host call. (A memory growth is: it asks the host for memory.)
    let body = format!(
        "(local $i i32)
         (loop $l
           (memory.copy (i32.const 1024) (i32.const 128) (i32.const 64))
           (memory.fill (i32.const 2048) (i32.const 7) (i32.const 64))
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br_if $l (i32.lt_u (local.get $i) (i32.const 500))))
         (loop $spin
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br_if $spin (i32.lt_u (local.get $i) (i32.const 100000000))))
         (call $log (i32.const 2) (i32.const 128) (i32.const 1))
         {RETURN_OK}"
    );
    let limited_to_one_call = |body: &str| {
        let wasm = component(LOG_IMPORT, "x", body);
        load(
            &runtime,
            "[limits]\nmax_host_calls = 1\n",
            &wasm,
            dir.path(),
        )
    };
    let outcome = limited_to_one_call(&body).run(input()).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let first_call = "(local $i i32) (call $log (i32.const 2) (i32.const 128) (i32.const 1))";
    let twice = body.replacen("(local $i i32)", first_call, 1);
    match limited_to_one_call(&twice).run(input()).await.status {
        RunStatus::Trapped(t) => {
            assert_eq!(
                t.message,
                "the plugin made more than 1 host calls, the limit in `limits.max_host_calls`"
            );
            let key = "limits.max_host_calls";
            assert_eq!(t.cause, crate::TrapCause::Limit { key });
        }
        other => panic!("expected trapped, got {other:?}"),
    }
}

#[tokio::test]
async fn plugins_built_from_one_component_share_its_code_while_any_is_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = runtime();
    let wasm = component("", "", RETURN_OK);
    let first = load(&runtime, "", &wasm, dir.path());
    let second = load(&runtime, "[limits]\nmemory_mib = 8", &wasm, dir.path());
    assert_eq!(runtime.components_loaded(), 1, "one component, one code");
    let other = load(
        &runtime,
        "",
        &component(LOG_IMPORT, "", RETURN_OK),
        dir.path(),
    );
    assert_eq!(runtime.components_loaded(), 2);
    assert!(matches!(
        second.run(input()).await.status,
        RunStatus::Succeeded
    ));
    drop((first, other));
    assert_eq!(
        runtime.components_loaded(),
        1,
        "kept while a plugin holds it"
    );
    drop(second);
    assert_eq!(runtime.components_loaded(), 0, "forgotten when none does");
    let again = load(&runtime, "", &wasm, dir.path());
    assert!(matches!(
        again.run(input()).await.status,
        RunStatus::Succeeded
    ));
    assert_eq!(runtime.components_loaded(), 1);
}
