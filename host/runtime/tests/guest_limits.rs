//! End-to-end runs of tiny components (core WAT + the real `plugin.wit` metadata, encoded with
//! wit-component): timeouts, memory and stack limits, log caps, load-time import checks and
//! call-time denial. Real plugins built from Rust are exercised by the host/testing harness.

use switchboard_runtime::event::{PluginEvent, RunInfo};
use switchboard_runtime::{
    FileKvStore, HostServices, RunInput, RunStatus, Runtime, RuntimeConfig, RuntimeError, TrapCause,
};

#[path = "support/component.rs"]
mod support;

use support::{MANIFEST_FILE, RETURN_OK, input, manifest, services};

/// A test component; its data (at 128) is `kvv`, a key and a value the kv tests write.
fn component(imports: &str, body: &str) -> Vec<u8> {
    support::component(imports, "kvv", body)
}

/// The kv `set` import: key (pointer, length), value (pointer, length), result area.
const KV_SET: &str =
    r#"(import "switchboard:plugin/kv@0.2.0" "set" (func $set (param i32 i32 i32 i32 i32)))"#;

/// Asserts the run was denied naming `capabilities.kv.max_value_bytes`, its one `kv.set`
/// recorded.
fn assert_value_refused(outcome: &switchboard_runtime::RunOutcome) {
    match &outcome.status {
        RunStatus::Denied(m) => assert!(m.contains("capabilities.kv.max_value_bytes"), "{m}"),
        other => panic!("expected denied, got {other:?}"),
    }
    assert_eq!(outcome.actions.len(), 1);
    assert_eq!(outcome.actions[0].kind, "kv.set");
}

async fn run(limits: &str, imports: &str, body: &str) -> switchboard_runtime::RunOutcome {
    let (_dir, _runtime, plugin) = load(4, limits, imports, body);
    plugin.run(input()).await
}

/// The test component loaded in a pooled runtime of `runs` concurrent runs (the directory holds
/// its kv; keep the runtime alive while running, its epoch ticker enforces the deadline).
fn load(
    runs: u32,
    limits: &str,
    imports: &str,
    body: &str,
) -> (tempfile::TempDir, Runtime, switchboard_runtime::Plugin) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig {
        max_concurrent_runs: runs,
        max_memory_mib: 64,
        ..Default::default()
    };
    let runtime = Runtime::new(config).expect("runtime");
    let wasm = component(imports, body);
    let plugin = runtime
        .load_plugin_bytes(
            &manifest(limits),
            MANIFEST_FILE,
            &wasm,
            services(dir.path()),
        )
        .expect("load");
    (dir, runtime, plugin)
}

#[tokio::test]
async fn a_trivial_handler_succeeds() {
    let outcome = run("", "", RETURN_OK).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn an_infinite_loop_times_out() {
    let outcome = run(
        "[limits]\ntimeout_ms = 100\n",
        "",
        "(loop $l (br $l)) (unreachable)",
    )
    .await;
    assert_eq!(outcome.status, RunStatus::TimedOut);
}

#[tokio::test]
async fn a_memory_bomb_traps_naming_memory() {
    let body = format!("(drop (memory.grow (i32.const 1000))) {RETURN_OK}");
    let outcome = run("[limits]\nmemory_mib = 16\n", "", &body).await;
    match outcome.status {
        RunStatus::Trapped(t) => {
            assert!(
                t.message.contains("memory limit of 16 MiB exceeded"),
                "{t:?}"
            );
            let key = "limits.memory_mib";
            assert_eq!(t.cause, TrapCause::Limit { key });
        }
        other => panic!("expected a memory trap, got {other:?}"),
    }
}

#[tokio::test]
async fn unbounded_recursion_traps_with_stack_overflow() {
    let imports = "(func $r (param i32) (result i32) (call $r (local.get 0)))";
    let outcome = run("", imports, "(call $r (local.get 0))").await;
    match outcome.status {
        RunStatus::Trapped(t) => assert!(t.message.contains("stack overflow"), "{t:?}"),
        other => panic!("expected stack overflow, got {other:?}"),
    }
}

#[tokio::test]
async fn a_log_flood_is_capped_and_marked() {
    let imports = r#"(import "switchboard:plugin/log@0.2.0" "log" (func $log (param i32 i32 i32)))
                     (func $flood (local $i i32)
                       (loop $l (call $log (i32.const 2) (i32.const 128) (i32.const 3))
                         (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $l (i32.lt_u (local.get $i) (i32.const 10000)))))"#;
    let body = format!("(call $flood) {RETURN_OK}");
    // Each 3-byte line counts 3 + 32 bytes of per-line overhead: ten fit in 350.
    let outcome = run("[limits]\nlog_bytes = 350\n", imports, &body).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.logs_truncated);
    assert_eq!(outcome.logs.len(), 11);
    let last = outcome.logs.last().expect("line");
    assert_eq!(
        last.message,
        "log truncated: 9990 lines and 29970 bytes dropped"
    );
}

/// `$name` calls `$import` (no arguments besides `args`) `n` times.
fn repeat(name: &str, call: &str, n: u32) -> String {
    format!(
        "(func ${name} (local $i i32)
           (loop $l {call}
             (local.set $i (i32.add (local.get $i) (i32.const 1)))
             (br_if $l (i32.lt_u (local.get $i) (i32.const {n})))))"
    )
}

const LOG: &str =
    r#"(import "switchboard:plugin/log@0.2.0" "log" (func $log (param i32 i32 i32)))"#;
const CLOCK: &str = r#"(import "switchboard:plugin/clock@0.2.0" "now" (func $now (param i32)))"#;

#[tokio::test]
async fn empty_log_lines_fill_the_cap_too() {
    let flood = repeat(
        "flood",
        "(call $log (i32.const 2) (i32.const 128) (i32.const 0))",
        100_000,
    );
    let body = format!("(call $flood) {RETURN_OK}");
    let limits = "[limits]\nlog_bytes = 1024\nmax_host_calls = 100000\n";
    let outcome = run(limits, &format!("{LOG} {flood}"), &body).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(outcome.logs.len(), 1024 / 32 + 1);
    let last = outcome.logs.last().expect("line");
    assert_eq!(
        last.message,
        "log truncated: 99968 lines and 0 bytes dropped"
    );
}

#[tokio::test]
async fn host_calls_past_max_host_calls_trap_naming_the_limit() {
    let flood = repeat("flood", "(call $now (i32.const 256))", 100_000);
    let body = format!("(call $flood) {RETURN_OK}");
    let limits = "[limits]\nmax_host_calls = 500\n";
    let outcome = run(limits, &format!("{CLOCK} {flood}"), &body).await;
    match outcome.status {
        RunStatus::Trapped(t) => assert_eq!(
            t.message,
            "the plugin made more than 500 host calls, the limit in `limits.max_host_calls`"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(
        outcome.actions.len(),
        1,
        "one clock record, not one per call"
    );
}

#[tokio::test]
async fn the_clock_is_read_and_recorded_once_per_run() {
    let reads = repeat("reads", "(call $now (i32.const 256))", 5_000);
    // Read once, keep a copy at 512, read 5000 times more, and compare the last to the first.
    let body = format!(
        "(call $now (i32.const 256))
         (i64.store (i32.const 512) (i64.load (i32.const 256)))
         (i32.store (i32.const 520) (i32.load (i32.const 264)))
         (call $reads)
         (if (i64.ne (i64.load (i32.const 512)) (i64.load (i32.const 256))) (then unreachable))
         (if (i32.ne (i32.load (i32.const 520)) (i32.load (i32.const 264))) (then unreachable))
         {RETURN_OK}"
    );
    let outcome = run("", &format!("{CLOCK} {reads}"), &body).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let kinds: Vec<_> = outcome.actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["clock.now"]);
}

#[tokio::test]
async fn one_host_call_may_lift_what_fits_in_the_runs_memory() {
    // A 4 MiB log message: more than a plugin without byte grants once could pass per call
    // (it trapped with wasmtime's "fuel allocated for hostcalls has been exhausted"); it fits
    // in the run's memory, so the host lifts it and its own bound, the log cap, applies.
    let body = format!(
        "(drop (memory.grow (i32.const 80)))
         (call $log (i32.const 2) (i32.const 0) (i32.const {}))
         {RETURN_OK}",
        4 << 20
    );
    let outcome = run("", LOG, &body).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.logs_truncated, "the log cap applied");
}

#[tokio::test]
async fn an_ungranted_import_is_refused_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let imports = r#"(import "switchboard:plugin/kv@0.2.0" "delete" (func (param i32 i32 i32)))"#;
    let wasm = component(imports, RETURN_OK);
    let err = runtime
        .load_plugin_bytes(&manifest(""), MANIFEST_FILE, &wasm, services(dir.path()))
        .err()
        .expect("refused");
    assert!(matches!(err, RuntimeError::Imports { .. }));
    let text = err.to_string();
    assert!(
        text.contains("imports `switchboard:plugin/kv@0.2.1` but its manifest does not grant it"),
        "{text}"
    );
    assert!(
        text.contains("add `[capabilities] kv = true` to manifests/t.toml"),
        "{text}"
    );
}

#[tokio::test]
async fn an_out_of_scope_call_makes_the_run_denied_even_if_swallowed() {
    // key "k" at 128, value "vv" at 129; the guest ignores the result and returns ok.
    let body = format!(
        "(call $set (i32.const 128) (i32.const 1) (i32.const 129) (i32.const 2) (i32.const 256)) {RETURN_OK}"
    );
    let outcome = run(
        "[capabilities]\nkv = { max_value_bytes = 1 }\n",
        KV_SET,
        &body,
    )
    .await;
    assert_value_refused(&outcome);
}

#[tokio::test]
async fn a_ten_mib_kv_value_is_denied_naming_max_value_bytes() {
    // Key "k" at 128, a 10 MiB value from 64 KiB on, the result at 256. The value fits in the
    // run's 16 MiB, so the host lifts it and refuses it itself (it once trapped with wasmtime's
    // "fuel allocated for hostcalls has been exhausted").
    let body = format!(
        "(drop (memory.grow (i32.const 161)))
         (call $set (i32.const 128) (i32.const 1) (i32.const 65536) (i32.const {}) (i32.const 256))
         {RETURN_OK}",
        10 << 20
    );
    let limits = "[capabilities]\nkv = true\n[limits]\nmemory_mib = 16\n";
    let outcome = run(limits, KV_SET, &body).await;
    assert_value_refused(&outcome);
}

#[tokio::test]
async fn a_guest_blocked_in_a_host_call_still_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    // Accept and never answer, so the guest waits inside `http.send`.
    let _server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let imports = format!(
        r#"(import "switchboard:plugin/http@0.2.0" "send" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
           (data (i32.const 512) "{url}")"#
    );
    let call = format!(
        "(call $send (i32.const 0) (i32.const 512) (i32.const {}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1024))",
        url.len()
    );
    let grant = format!(
        "[limits]\ntimeout_ms = 200\n[capabilities]\nhttp = {{ allow = [\"{}\"] }}\n",
        url.trim_end_matches('/')
    );
    let outcome = run(&grant, &imports, &format!("{call} {RETURN_OK}")).await;
    assert_eq!(outcome.status, RunStatus::TimedOut);
}

#[tokio::test]
async fn a_second_attempt_replays_completed_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let body = format!(
        "(call $set (i32.const 128) (i32.const 1) (i32.const 129) (i32.const 2) (i32.const 256)) {RETURN_OK}"
    );
    let wasm = component(KV_SET, &body);
    let manifest = manifest("[capabilities]\nkv = true\n");
    let plugin = runtime
        .load_plugin_bytes(&manifest, MANIFEST_FILE, &wasm, services(dir.path()))
        .expect("load");
    let first = plugin.run(input()).await;
    assert_eq!(first.status, RunStatus::Succeeded);
    assert!(!first.actions[0].replayed);
    let second = plugin.run(input()).await;
    assert_eq!(second.status, RunStatus::Succeeded);
    assert!(
        second.actions[0].replayed,
        "the second attempt must not write again"
    );
}

/// Each run of a pooled slot starts from the module's image: the data segment restored, the
/// rest zero and memory back to its declared size. The run dirties a page of the image and 2.5
/// MiB past it, so the reset takes both ways: pages reset in place (the first
/// `KEEP_RESIDENT_BYTES` of written memory) and pages handed back to the kernel.
#[tokio::test]
async fn a_reused_memory_slot_starts_from_the_image_each_run() {
    let body = format!(
        "(if (i32.ne (i32.load8_u (i32.const 128)) (i32.const 107)) (then unreachable))
         (if (i32.ne (i32.load8_u (i32.const 200)) (i32.const 0)) (then unreachable))
         (if (i32.ne (memory.size) (i32.const 1)) (then unreachable))
         (drop (memory.grow (i32.const 40)))
         (if (i32.ne (i32.load8_u (i32.const 2000000)) (i32.const 0)) (then unreachable))
         (i32.store8 (i32.const 128) (i32.const 88))
         (i32.store8 (i32.const 200) (i32.const 88))
         (local.set 0 (i32.const 65536))
         (loop $l
           (i32.store8 (local.get 0) (i32.const 88))
           (local.set 0 (i32.add (local.get 0) (i32.const 4096)))
           (br_if $l (i32.lt_u (local.get 0) (i32.const 2686976))))
         {RETURN_OK}"
    );
    let (_dir, _runtime, plugin) = load(1, "", "", &body);
    for round in 0..8 {
        let outcome = plugin.run(input()).await;
        assert_eq!(outcome.status, RunStatus::Succeeded, "round {round}");
    }
}
