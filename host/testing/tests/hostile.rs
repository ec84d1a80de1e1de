//! Hostile plugins end their own run with the right status, and the host carries on: after each,
//! a well-behaved plugin (`bystander`) still runs to success on the same runtime.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_testing::{
    LogLine, PluginHarness, RunOutcome, RunStatus, TestPlugin, events, repo_root,
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
    let h = Hostile::start().await;
    let outcome = h.run(json!({"mode": "ok"})).await;
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
    let h = Hostile::start().await;
    let outcome = h.run(json!({"mode": "memory-bomb"})).await;
    match &outcome.status {
        RunStatus::Trapped(message) => assert!(message.contains("memory"), "{message}"),
        other => panic!("expected a memory trap, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_traps() {
    let h = Hostile::start().await;
    let outcome = h.run(json!({"mode": "recursion"})).await;
    match &outcome.status {
        RunStatus::Trapped(message) => assert!(message.contains("stack"), "{message}"),
        other => panic!("expected a stack overflow trap, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_traps() {
    let h = Hostile::start().await;
    let outcome = h.run(json!({"mode": "panic"})).await;
    assert!(
        matches!(outcome.status, RunStatus::Trapped(_)),
        "{:?}",
        outcome.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_flood_is_truncated() {
    let h = Hostile::start().await;
    let outcome = h
        .run(json!({"mode": "log-flood", "lines": 2048, "line_bytes": 4096}))
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
    assert!(
        matches!(outcome.status, RunStatus::Denied(_)),
        "{:?}",
        outcome.status
    );
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
    let h = Hostile::start().await;
    let outcome = h
        .run(json!({"mode": "http-ungranted", "url": "http://127.0.0.1:9/forbidden"}))
        .await;
    match &outcome.status {
        RunStatus::Denied(message) => assert!(message.contains("127.0.0.1:9"), "{message}"),
        other => panic!("expected denied, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_is_bounded() {
    let h = Hostile::start().await;
    let outcome = h
        .run(json!({"mode": "huge-output", "bytes": 8 << 20}))
        .await;
    match &outcome.status {
        RunStatus::Failed(message) => assert!(
            message.len() < 1 << 20,
            "error kept {} bytes",
            message.len()
        ),
        RunStatus::Trapped(message) => {
            assert!(message.len() < 1 << 20, "trap kept {} bytes", message.len())
        }
        other => panic!("expected failed or trapped, got {other:?}"),
    }
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
