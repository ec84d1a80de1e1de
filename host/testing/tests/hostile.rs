//! Hostile plugins end their own run with the right status, and the host carries on: after each,
//! a well-behaved plugin (`bystander`) still runs to success on the same runtime.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_testing::{
    LogLine, PluginHarness, RunOutcome, RunStatus, TestPlugin, TrapCause, events, repo_root,
};

fn manifest(name: &str) -> PathBuf {
    repo_root()
        .join("host/testing/manifests")
        .join(format!("{name}.toml"))
}

struct Hostile {
    harness: PluginHarness,
    hostile: TestPlugin,
    bystander: TestPlugin,
}

impl Hostile {
    async fn start() -> Self {
        let harness = PluginHarness::start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let hostile = harness
            .load(&manifest("hostile"))
            .unwrap_or_else(|e| panic!("{e}"));
        let bystander = harness
            .load(&manifest("bystander"))
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            harness,
            hostile,
            bystander,
        }
    }

    /// A fresh harness and the outcome of one hostile run on `payload`.
    async fn start_and_run(payload: serde_json::Value) -> (Self, RunOutcome) {
        let h = Self::start().await;
        let outcome = h.run(payload).await;
        (h, outcome)
    }

    async fn run(&self, payload: serde_json::Value) -> RunOutcome {
        let outcome = self
            .harness
            .run(&self.hostile, events::manual(&payload))
            .await;
        self.assert_host_carries_on().await;
        outcome
    }

    async fn assert_host_carries_on(&self) {
        let ok = self
            .harness
            .run(&self.bystander, events::manual(&json!({"mode": "ok"})))
            .await;
        assert_eq!(
            ok.status,
            RunStatus::Succeeded,
            "bystander after a hostile run: {:?}",
            ok.logs
        );
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.hostile.manifest.limits.timeout_ms))
    }
}

fn log_bytes(logs: &[LogLine]) -> usize {
    logs.iter().map(|l| l.message.len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_mode_succeeds_without_host_calls() {
    let (_h, outcome) = Hostile::start_and_run(json!({"mode": "ok"})).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_within_twice_its_timeout() {
    let h = Hostile::start().await;
    let started = Instant::now();
    let outcome = h
        .harness
        .run(&h.hostile, events::manual(&json!({"mode": "loop"})))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, RunStatus::TimedOut);
    // A correctness bound (the deadline is enforced), not a performance figure.
    assert!(
        elapsed < 2 * h.timeout(),
        "timed out after {elapsed:?}, timeout {:?}",
        h.timeout()
    );
    h.assert_host_carries_on().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_traps_on_the_memory_limit() {
    let (_h, outcome) = Hostile::start_and_run(json!({"mode": "memory-bomb"})).await;
    assert!(trapped(&outcome).contains("`limits.memory_mib`"));
    assert_eq!(cause(&outcome), TrapCause::Limit { key: MEMORY_MIB });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_traps() {
    let (_h, outcome) = Hostile::start_and_run(json!({"mode": "recursion"})).await;
    assert!(trapped(&outcome).contains("stack"));
    assert_eq!(cause(&outcome), TrapCause::Guest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_traps() {
    let (_h, outcome) = Hostile::start_and_run(json!({"mode": "panic"})).await;
    assert!(
        matches!(outcome.status, RunStatus::Trapped(_)),
        "{:?}",
        outcome.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_flood_is_truncated() {
    let (h, outcome) =
        Hostile::start_and_run(json!({"mode": "log-flood", "lines": 2048, "line_bytes": 4096}))
            .await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.logs_truncated);
    let cap = h.hostile.manifest.limits.log_bytes as usize;
    let kept = log_bytes(&outcome.logs);
    assert!(kept <= cap + 1024, "kept {kept} log bytes, cap {cap}");
    let last = outcome
        .logs
        .last()
        .map(|l| l.message.as_str())
        .unwrap_or_default();
    assert!(
        last.contains("truncat") || last.contains("dropped"),
        "last line: {last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungranted_import_is_refused_at_load() {
    let h = Hostile::start().await;
    let refused = match h.harness.load(&manifest("hostile-without-http")) {
        Ok(_) => panic!("a plugin importing `http` loaded without `capabilities.http`"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("switchboard:plugin/http"), "{refused}");
    assert!(
        refused.contains("http = {"),
        "names the manifest key to add: {refused}"
    );
    assert!(refused.contains("hostile-without-http.toml"), "{refused}");
    h.assert_host_carries_on().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_an_ungranted_connection_is_denied() {
    let h = Hostile::start().await;
    let (delivered, _) = h
        .harness
        .inbound_text(70002, "79990001122", "hi")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let payload =
        json!({"mode": "send-ungranted", "connection_id": 70002, "chat_id": delivered.chat_id});
    let outcome = h.run(payload).await;
    denied(&outcome);
    let sent = h
        .harness
        .sandbox()
        .sent(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sent.is_empty(), "nothing reaches Radist: {sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_to_an_ungranted_origin_is_denied() {
    let (_h, outcome) = Hostile::start_and_run(
        json!({"mode": "http-ungranted", "url": "http://127.0.0.1:9/forbidden"}),
    )
    .await;
    let message = denied(&outcome);
    assert!(message.contains("127.0.0.1:9"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_flood_is_denied_before_anything_is_built_or_sent() {
    // 25,000 header names panicked the host in `HeaderMap::append` before headers were capped.
    let (_h, outcome) =
        Hostile::start_and_run(json!({"mode": "header-flood", "count": 25_000})).await;
    let message = denied(&outcome);
    assert!(message.contains("25000 request headers"), "{message}");
    let request = &outcome.actions[0].request;
    assert_eq!(request["header_count"], 25_000);
    let names = request["headers"].as_array().map_or(0, Vec::len);
    assert!(
        names <= 64,
        "the record keeps at most 64 header names, not {names}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_ends_the_run_failed_with_the_error_cut() {
    let h = Hostile::start().await;
    // 10 MB: once more than one call could lift, it trapped with wasmtime's "fuel allocated for
    // hostcalls has been exhausted" instead of ending the run with the plugin's (cut) error.
    let bytes = 10_000_000;
    let outcome = h.run(json!({"mode": "huge-output", "bytes": bytes})).await;
    let message = failed(&outcome);
    assert!(
        message.len() < 8 << 10,
        "error kept {} bytes",
        message.len()
    );
    assert!(message.starts_with("xxxx"), "{}", &message[..16]);
    let kept = message
        .trim_end_matches(|c| c != '…')
        .trim_end_matches('…')
        .len();
    let dropped = bytes - kept;
    assert!(
        message.ends_with(&format!("({dropped} bytes cut)")),
        "says how much was dropped: {}",
        &message[message.len() - 40..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_import_only_the_interfaces_they_call() {
    let h = Hostile::start().await;
    let imports = h.hostile.plugin.imports().join(" ");
    for used in ["/messages@", "/http@", "/log@"] {
        assert!(
            imports.contains(used),
            "hostile should import {used}: {imports}"
        );
    }
    for unused in [
        "/kv@",
        "/chats@",
        "/availability@",
        "/templates@",
        "/files@",
    ] {
        assert!(
            !imports.contains(unused),
            "hostile should not import {unused}: {imports}"
        );
    }
    let auto_reply = h
        .harness
        .load(&repo_root().join("manifests/auto-reply.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let imports = auto_reply.plugin.imports().join(" ");
    assert!(imports.contains("/messages@"), "{imports}");
    for unused in ["/http@", "/kv@", "/chats@", "/availability@"] {
        assert!(
            !imports.contains(unused),
            "auto-reply should not import {unused}: {imports}"
        );
    }
}

fn denied(outcome: &RunOutcome) -> &str {
    match &outcome.status {
        RunStatus::Denied(message) => message,
        other => panic!("expected denied, got {other:?}"),
    }
}

fn failed(outcome: &RunOutcome) -> &str {
    match &outcome.status {
        RunStatus::Failed(message) => message,
        other => panic!("expected failed, got {other:?}"),
    }
}

fn trapped(outcome: &RunOutcome) -> &str {
    match &outcome.status {
        RunStatus::Trapped(trap) => &trap.message,
        other => panic!("expected trapped, got {other:?}"),
    }
}

fn cause(outcome: &RunOutcome) -> TrapCause {
    match &outcome.status {
        RunStatus::Trapped(trap) => trap.cause.clone(),
        other => panic!("expected trapped, got {other:?}"),
    }
}

const MEMORY_MIB: &str = "limits.memory_mib";

fn kinds(outcome: &RunOutcome) -> Vec<&str> {
    outcome.actions.iter().map(|a| a.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_call_flood_traps_at_max_host_calls() {
    let (_h, outcome) =
        Hostile::start_and_run(json!({"mode": "clock-loop", "calls": 1_000_000})).await;
    let message = trapped(&outcome);
    assert_eq!(
        message,
        "the plugin made more than 10000 host calls, the limit in `limits.max_host_calls`"
    );
    let key = "limits.max_host_calls";
    assert_eq!(cause(&outcome), TrapCause::Limit { key });
    assert_eq!(
        kinds(&outcome),
        ["clock.now"],
        "one record, not one per call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clock_read_of_a_run_is_one_recorded_instant() {
    let (h, outcome) = Hostile::start_and_run(json!({"mode": "clock-loop", "calls": 5_000})).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(kinds(&outcome), ["clock.now"]);
    let outcome = h.run(json!({"mode": "clocks"})).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let line = |prefix: &str| {
        let found = outcome
            .logs
            .iter()
            .find_map(|l| l.message.strip_prefix(prefix));
        found
            .unwrap_or_else(|| panic!("no `{prefix}` line: {:?}", outcome.logs))
            .to_owned()
    };
    assert_eq!(
        line("wasi-wall "),
        line("clock "),
        "WASI and clock.now agree"
    );
    assert!(
        line("monotonic-elapsed ").starts_with("0 "),
        "the run's clock stands still"
    );
    assert_eq!(kinds(&outcome)[..1], ["clock.now"]);
    let clocks = kinds(&outcome)
        .iter()
        .filter(|k| **k == "clock.now")
        .count();
    assert_eq!(clocks, 1, "{:?}", kinds(&outcome));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_of_empty_lines_are_capped_by_lines() {
    let h = Hostile::start().await;
    let cap = h.hostile.manifest.limits.log_bytes as usize;
    for payload in [
        json!({"mode": "empty-log-flood", "lines": 9_000}),
        json!({"mode": "newline-flood", "lines": 1_000_000}),
    ] {
        let outcome = h.run(payload.clone()).await;
        assert_eq!(outcome.status, RunStatus::Succeeded, "{payload}");
        assert!(outcome.logs_truncated, "{payload}");
        assert_eq!(outcome.logs.len(), cap / 32 + 1, "{payload}");
        let last = outcome.logs.last().map_or("", |l| l.message.as_str());
        assert!(last.ends_with("lines and 0 bytes dropped"), "{last}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_are_bounded_per_call() {
    let h = Hostile::start().await;
    // No `bytes`: the plugin asks for its default, 2^40 (a wasm `usize` cannot say it).
    for payload in [
        json!({"mode": "random"}),
        json!({"mode": "random", "bytes": 1 << 20}),
    ] {
        let outcome = h.run(payload).await;
        let message = trapped(&outcome);
        assert!(message.contains("exceeds limit 65536"), "{message}");
    }
    let outcome = h.run(json!({"mode": "random", "bytes": 4096})).await;
    assert_eq!(
        outcome.status,
        RunStatus::Failed("the host handed over 4096 random bytes".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_before_it_is_built() {
    let (h, outcome) =
        Hostile::start_and_run(json!({"mode": "send-oversized", "count": 100_000})).await;
    let message = failed(&outcome);
    let refusal = "waba_template.body_params: must have at most 256 values (got 100000)";
    assert!(message.contains(refusal), "{message}");
    assert!(
        outcome.actions.is_empty(),
        "nothing recorded or fingerprinted"
    );
    // Past what the run's memory holds, the run traps on a limit it names.
    let outcome = h
        .run(json!({"mode": "send-oversized", "count": 1_000_000}))
        .await;
    assert_eq!(
        cause(&outcome),
        TrapCause::Limit { key: MEMORY_MIB },
        "{:?}",
        outcome.status
    );
    assert!(trapped(&outcome).contains("`limits.memory_mib`"));
}
