//! The runtime shares the machine fairly between runs: a plugin spinning on the CPU yields its
//! guest thread on every epoch tick, so a healthy run is not held up by two spinners for their
//! whole timeout; guests execute on the runtime's own threads, never the caller's (the
//! service's intake keeps its threads); at most `max_concurrent_runs` runs execute at once (the
//! rest queue), so a burst of one plugin cannot take the pool slots others need; and a plugin
//! holding half of the slots lets another plugin's waiting run go first.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_runtime::{FileKvStore, HostServices, Plugin, RunInput, Runtime};
use switchboard_testing::{RunOutcome, RunStatus, RuntimeConfig, build_plugins, events, repo_root};

/// The hostile plugin under `manifest` (from `host/testing/manifests`), with `timeout_ms`.
fn load(runtime: &Runtime, manifest: &str, timeout_ms: u32, kv: &Path) -> Plugin {
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let file = repo_root().join("host/testing/manifests").join(manifest);
    let text = std::fs::read_to_string(&file).expect("manifest");
    let head = text
        .find("[limits]")
        .map_or(text.as_str(), |at| &text[..at]);
    let text = format!("{head}\n[limits]\nmemory_mib = 16\ntimeout_ms = {timeout_ms}\n");
    let parsed = switchboard_manifest::parse_manifest(manifest, &text).expect("parse");
    let wasm = file.parent().expect("dir").join(&parsed.plugin.wasm);
    let services = HostServices::new(Arc::new(FileKvStore::open(kv).expect("kv")));
    runtime
        .load_plugin(&parsed, manifest, &wasm, services)
        .expect("load")
}

fn input(mode: &str, n: usize) -> RunInput {
    events::manual_run(&json!({ "mode": mode }), &format!("{mode}-{n}"))
}

/// A runtime with `slots` concurrent runs and 16 MiB guests.
fn runtime(slots: u32) -> Runtime {
    Runtime::new(RuntimeConfig {
        max_concurrent_runs: slots,
        max_memory_mib: 16,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

/// A runtime with `slots` run slots, the hostile plugin with `spinner_timeout_ms` and the
/// bystander with 2 s (in that order), on one key-value directory (last: keep it alive).
fn setup(slots: u32, spinner_timeout_ms: u32) -> (Runtime, Plugin, Plugin, tempfile::TempDir) {
    let kv = tempfile::tempdir().expect("tempdir");
    let runtime = runtime(slots);
    let spinner = load(&runtime, "hostile.toml", spinner_timeout_ms, kv.path());
    let healthy = load(&runtime, "bystander.toml", 2_000, kv.path());
    (runtime, spinner, healthy, kv)
}

/// `n` runs of `spinner` spinning (`loop`), each on its own task.
fn spin(spinner: &Plugin, n: usize) -> Vec<tokio::task::JoinHandle<RunOutcome>> {
    (0..n)
        .map(|i| {
            let spinner = spinner.clone();
            tokio::spawn(async move { spinner.run(input("loop", i)).await })
        })
        .collect()
}

/// Waits (yielding, not sleeping) until `n` runs execute on `runtime`.
async fn until_running(runtime: &Runtime, n: usize) {
    while runtime.runs_in_progress() < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_spinners_do_not_hold_up_a_healthy_run() {
    let (runtime, spinner, healthy, _kv) = setup(4, 2_000);
    let spinners = spin(&spinner, 2);
    until_running(&runtime, 2).await;
    let healthy = tokio::spawn(async move { healthy.run(input("ok", 0)).await });
    let outcome = healthy.await.expect("healthy run");
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(
        spinners.iter().all(|s| !s.is_finished()),
        "the healthy run finished only after a spinner's timeout"
    );
    for spinner in spinners {
        assert_eq!(spinner.await.expect("spinner").status, RunStatus::TimedOut);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_queues_behind_max_concurrent_runs_and_exhausts_nothing() {
    let (runtime, spinner, healthy, _kv) = setup(2, 100);
    let mut runs = spin(&spinner, 10);
    runs.push(tokio::spawn(
        async move { healthy.run(input("ok", 0)).await },
    ));
    let mut statuses = Vec::new();
    for run in runs {
        statuses.push(run.await.expect("run").status);
    }
    let healthy = statuses.pop().expect("healthy");
    assert_eq!(healthy, RunStatus::Succeeded);
    assert!(
        statuses.iter().all(|s| *s == RunStatus::TimedOut),
        "{statuses:?}"
    );
    assert_eq!(runtime.peak_runs_in_progress(), 2);
    assert_eq!(runtime.runs_in_progress(), 0);
}

#[test]
fn a_spinning_guest_never_runs_on_the_callers_thread() {
    let kv = tempfile::tempdir().expect("tempdir");
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("caller runtime");
    caller.block_on(async {
        let runtime = Runtime::new(RuntimeConfig {
            max_concurrent_runs: 2,
            max_memory_mib: 16,
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let spinner = load(&runtime, "hostile.toml", 200, kv.path());
        let run = tokio::spawn(async move { spinner.run(input("loop", 0)).await });
        until_running(&runtime, 1).await;
        // The caller's only thread is now busy and never yields: the run still has to end,
        // because it executes elsewhere. (The bound only turns a hang into a failure.)
        let bound = Instant::now() + Duration::from_secs(60);
        while runtime.runs_in_progress() > 0 {
            assert!(
                Instant::now() < bound,
                "the guest made no progress while the caller's thread was busy"
            );
            std::hint::spin_loop();
        }
        assert_eq!(run.await.expect("run").status, RunStatus::TimedOut);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_holding_half_the_slots_lets_a_healthy_run_go_first() {
    let (runtime, spinner, healthy, _kv) = setup(2, 500);
    let spinners = spin(&spinner, 6);
    while runtime.runs_waiting() < 4 {
        tokio::task::yield_now().await;
    }
    let healthy = healthy.run(input("ok", 0)).await;
    assert_eq!(healthy.status, RunStatus::Succeeded);
    let ended = spinners.iter().filter(|s| s.is_finished()).count();
    // First come, first served would have run 5 spinners to their timeout first.
    assert!(
        ended <= 2,
        "{ended} spinner runs ended before the healthy run"
    );
    for spinner in spinners {
        assert_eq!(spinner.await.expect("spinner").status, RunStatus::TimedOut);
    }
}
