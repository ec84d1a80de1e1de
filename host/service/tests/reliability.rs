//! What users throw at the service, through the real binary: Radist redelivering and reordering
//! webhooks, Radist failing (429, 5xx, answers lost after the send was processed), and the
//! process being killed under load. The Radist sandbox runs in this test process, so it outlives
//! the service and its sent log is the customer's phone: nothing in it may be doubled.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::time::Duration;

use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use support::{Service, Workdir};
use switchboard_testing::{build_plugins, repo_root};

const BOUND: Duration = Duration::from_secs(90);
const WEBHOOK_TOKEN: &str = "reliability-test-webhook-token";

/// A sandbox in this process, and a service pointed at it in remote mode on a fixed port (so it
/// can be restarted at the same webhook URL).
struct Setup {
    rt: tokio::runtime::Runtime,
    sandbox: Option<SandboxHandle>,
    work: Workdir,
}

impl Setup {
    fn new(retry_attempts: u32) -> Setup {
        build_plugins().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Runtime::new().expect("tokio");
        let mut config = SandboxConfig::default();
        config.webhook_retry.attempts = retry_attempts;
        config.webhook_retry.base_delay = Duration::from_millis(100);
        let sandbox = rt.block_on(Sandbox::start(config)).expect("sandbox");
        let port = free_port();
        let extra = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[webhook]\ntoken = {{ env = \"SB_WEBHOOK_TOKEN\" }}\n[radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_RADIST_KEY\" }}\ncompany_id = 1\nmax_retries = 0\n",
            sandbox.base_url()
        );
        let work = Workdir::with_manifests(&repo_root().join("manifests"), &extra);
        let setup = Setup {
            rt,
            sandbox: Some(sandbox),
            work,
        };
        let out = setup.switchboard(&[
            "radist",
            "webhooks",
            "sync",
            "--public-url",
            &format!("http://127.0.0.1:{port}"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        setup
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let key = self.sandbox().api_key().to_owned();
        vec![
            ("SB_WEBHOOK_TOKEN", WEBHOOK_TOKEN.to_owned()),
            ("SB_RADIST_KEY", key),
        ]
    }

    fn switchboard(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .arg("--config")
            .arg(self.work.path("switchboard.toml"))
            .args(args)
            .env_remove("SWITCHBOARD_CONFIG")
            .env_remove("CRM_TOKEN");
        for (k, v) in self.env() {
            command.env(k, v);
        }
        command.output().expect("switchboard runs")
    }

    fn serve(&self) -> Service {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.work.serve_with(&[], &env)
    }

    fn sandbox(&self) -> &SandboxHandle {
        self.sandbox.as_ref().expect("sandbox running")
    }

    fn control(&self, path: &str) -> String {
        format!("{}/{path}", self.sandbox().control_url())
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let client = reqwest::blocking::Client::new();
        let response = client
            .post(self.control(path))
            .json(&body)
            .send()
            .expect("post");
        assert!(
            response.status().is_success(),
            "{path}: {:?}",
            response.text()
        );
        response.json().unwrap_or(Value::Null)
    }

    fn get(&self, path: &str) -> Value {
        reqwest::blocking::get(self.control(path))
            .expect("get")
            .json()
            .expect("json")
    }

    /// Outbound sends per chat, as the sandbox (the customer) saw them.
    fn sends_per_chat(&self) -> BTreeMap<i64, usize> {
        let mut per_chat = BTreeMap::new();
        for m in self.get("sent").as_array().expect("sent list") {
            *per_chat
                .entry(m["chat_id"].as_i64().expect("chat"))
                .or_default() += 1;
        }
        per_chat
    }

    /// Inbound `messages.create` deliveries the service acknowledged, by message id.
    fn acknowledged_inbound(&self) -> BTreeSet<String> {
        let log = self.get("webhook-deliveries?event_type=messages.create");
        log.as_array()
            .expect("deliveries")
            .iter()
            .filter(|d| d["state"] == "delivered")
            .filter(|d| d["payload"]["event"]["message"]["direction"] == "inbound")
            .filter_map(|d| d["message_id"].as_str().map(str::to_owned))
            .collect()
    }

    fn pending_deliveries(&self) -> usize {
        let log = self.get("webhook-deliveries");
        let list = log.as_array().expect("deliveries");
        list.iter().filter(|d| d["state"] == "pending").count()
    }

    /// Every run, via the CLI (reads the same SQLite file the service writes).
    fn runs(&self) -> Vec<Value> {
        let out = self.switchboard(&["runs", "list", "--limit", "100000", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: Value = serde_json::from_slice(&out.stdout).expect("runs json");
        value.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            let _ = self.rt.block_on(sandbox.shutdown());
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn unfinished(runs: &[Value]) -> usize {
    runs.iter()
        .filter(|r| {
            matches!(
                r["status"].as_str(),
                Some("queued" | "running" | "retrying")
            )
        })
        .count()
}

fn wait<T>(bound: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not reached within {bound:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn duplicated_and_reordered_webhooks_make_one_run_each_in_chat_order() {
    let setup = Setup::new(10);
    let service = setup.serve();
    setup.post(
        "faults",
        json!({"webhook_duplicate": true, "webhook_reorder": true}),
    );
    for i in 0..12 {
        let phone = format!("7900100{:04}", i % 3);
        setup.post(
            "inbound",
            json!({"connection_id": 70002, "phone": phone, "text": format!("hours {i}")}),
        );
    }
    let runs = wait(BOUND, || {
        let runs = setup.runs();
        (runs.len() >= 12 && unfinished(&runs) == 0 && setup.pending_deliveries() == 0)
            .then_some(runs)
    });
    let auto: Vec<&Value> = runs
        .iter()
        .filter(|r| r["plugin"] == "auto-reply")
        .collect();
    assert_eq!(
        auto.len(),
        12,
        "one run per message despite duplicates: {runs:?}"
    );
    let mut by_lane: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &auto {
        let lane = r["lane"].as_str().expect("lane").to_owned();
        by_lane
            .entry(lane)
            .or_default()
            .push(r["run_id"].as_i64().expect("id"));
    }
    assert_eq!(by_lane.len(), 3, "three chats, three lanes");
    for ids in by_lane.values() {
        let mut previous_end = None;
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        for id in sorted {
            let out = setup.switchboard(&["runs", "show", &id.to_string(), "--json"]);
            let detail: Value = serde_json::from_slice(&out.stdout).expect("detail");
            let attempt = &detail["attempts"][0];
            let start: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(attempt["started_at"].clone()).expect("start");
            if let Some(end) = previous_end {
                assert!(
                    start >= end,
                    "a lane's runs run one at a time in arrival order"
                );
            }
            let us = attempt["duration_us"].as_i64().expect("duration");
            previous_end = Some(start + chrono::Duration::microseconds(us));
        }
    }
    drop(service);
}

#[test]
fn radist_failures_are_retried_and_take_effect_once() {
    let setup = Setup::new(10);
    let service = setup.serve();
    // max_retries = 0 in the config: every fault reaches the run, which is retried.
    setup.post(
        "faults",
        json!({"rate_limit": {"count": 2, "retry_after_s": 1}, "paths": ["/messages/"]}),
    );
    let first = setup.post(
        "inbound",
        json!({"connection_id": 70002, "phone": "79002000001", "text": "hours?"}),
    );
    let chat = first["chat_id"].as_i64().expect("chat id");
    wait(BOUND, || {
        (setup.sends_per_chat().get(&chat) == Some(&1)).then_some(())
    });
    setup.post(
        "faults",
        json!({"server_error": {"count": 2, "status": 503}, "paths": ["/messages/"]}),
    );
    let second = setup.post(
        "inbound",
        json!({"connection_id": 70002, "phone": "79002000002", "text": "hours?"}),
    );
    let chat2 = second["chat_id"].as_i64().expect("chat id");
    wait(BOUND, || {
        (setup.sends_per_chat().get(&chat2) == Some(&1)).then_some(())
    });
    let runs = wait(BOUND, || {
        let runs = setup.runs();
        (unfinished(&runs) == 0).then_some(runs)
    });
    for r in runs.iter().filter(|r| r["plugin"] == "auto-reply") {
        assert_eq!(r["status"], "succeeded", "{r}");
        assert!(r["attempt"].as_i64().expect("attempt") > 1, "retried: {r}");
    }
    let sends = setup.sends_per_chat();
    assert_eq!(sends.get(&chat), Some(&1));
    assert_eq!(sends.get(&chat2), Some(&1));
    drop(service);
}

#[test]
fn a_killed_service_loses_no_acknowledged_webhook_and_sends_nothing_twice() {
    let setup = Setup::new(40);
    let mut service = Some(setup.serve());
    // Some sends are processed by Radist but their answers are lost: outcome unknown.
    setup.post(
        "faults",
        json!({"drop_response": {"count": 15}, "paths": ["/messages/"]}),
    );
    let total = 1500;
    for i in 0..total {
        let phone = format!("7903{:07}", i);
        setup.post(
            "inbound",
            json!({"connection_id": 70002, "phone": phone, "text": "hours?"}),
        );
        if i == total / 2 {
            if let Some(s) = service.take() {
                s.kill();
            }
            service = Some(setup.serve());
        }
    }
    let runs = wait(Duration::from_secs(240), || {
        let runs = setup.runs();
        (setup.pending_deliveries() == 0 && unfinished(&runs) == 0).then_some(runs)
    });
    let acknowledged = setup.acknowledged_inbound();
    assert!(
        acknowledged.len() > total / 2,
        "most deliveries acknowledged: {}",
        acknowledged.len()
    );
    let auto: Vec<&Value> = runs
        .iter()
        .filter(|r| r["plugin"] == "auto-reply")
        .collect();
    let events = setup.switchboard(&[
        "events",
        "list",
        "--kind",
        "message.received",
        "--limit",
        "100000",
        "--json",
    ]);
    let events: Value = serde_json::from_slice(&events.stdout).expect("events");
    let stored: BTreeSet<String> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["dedupe_key"].as_str())
        .filter_map(|k| k.strip_prefix("radist:messages.create:"))
        .map(str::to_owned)
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(
        auto.len(),
        stored.len(),
        "exactly one auto-reply run per stored event"
    );
    let doubled: Vec<(i64, usize)> = setup
        .sends_per_chat()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "a customer got the same reply twice: {doubled:?}"
    );
    let reconciled = auto.iter().any(|r| {
        let out = setup.switchboard(&["runs", "show", &r["run_id"].to_string(), "--json"]);
        String::from_utf8_lossy(&out.stdout).contains("found message")
    });
    assert!(
        reconciled,
        "an unknown-outcome send was reconciled from the chat's messages"
    );
    drop(service);
}
