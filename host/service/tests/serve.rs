//! `switchboard serve` end to end: the real binary on a loopback port with a real SQLite file,
//! the embedded sandbox as Radist, and the example plugins built from source.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::Workdir;

const BOUND: Duration = Duration::from_secs(30);

fn inbound_body(message_id: &str, chat_id: i64, text: &str) -> Vec<u8> {
    json!({
        "event_type": "messages.create",
        "event": {
            "connection_id": 70002, "chat_id": chat_id, "contact_id": 1,
            "chat": {"phone": "79000000002"},
            "message": {
                "message_id": message_id, "chat_id": "79000000002", "direction": "inbound",
                "message_type": "text", "created_at": "2026-12-01T10:00:00Z", "text": {"text": text}
            }
        }
    })
    .to_string()
    .into_bytes()
}

#[test]
fn an_injected_message_is_answered_and_the_history_tells_it_all() {
    let work = Workdir::shipped();
    let service = work.serve();
    service.inbound(70001, "79000000001", "price?");
    let reply = service.wait_for(BOUND, || {
        service
            .sent()
            .into_iter()
            .find(|m| m.to_string().contains("Доставка от 990"))
    });
    // 70001 is a WABA connection: the buttons go out as an interactive message, not as text.
    assert!(
        reply.to_string().contains("waba_interactive"),
        "WABA chats get interactive buttons: {reply}"
    );
    let runs = service.wait_for(BOUND, || {
        let runs = work.json(&["runs", "list", "--plugin", "auto-reply"]);
        let done = runs
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == "succeeded"));
        done.then_some(runs)
    });
    let run_id = runs[0]["run_id"].as_i64().expect("run id");
    let detail = work.json(&["runs", "show", &run_id.to_string()]);
    assert_eq!(detail["run"]["plugin"], "auto-reply");
    assert_eq!(detail["event"]["kind"], "message.received");
    let actions = detail["attempts"][0]["actions"].to_string();
    assert!(actions.contains("messages.send"), "{actions}");
    let ledger = detail["ledger"].as_array().expect("ledger");
    assert!(
        ledger
            .iter()
            .any(|l| l["kind"] == "messages.send" && !l["result"].is_null()),
        "the send is in the ledger with its result: {ledger:?}"
    );
    let human = work.switchboard(&["runs", "show", &run_id.to_string()]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("messages.send") && text.contains("succeeded"),
        "{text}"
    );
    // The reply's echo (messages.create, outbound) is recognised as our own send.
    let echo = service.wait_for(BOUND, || {
        let events = work.json(&["events", "list", "--kind", "message.sent"]);
        events.as_array().and_then(|e| e.first().cloned())
    });
    assert!(
        echo.get("payload").is_none(),
        "lists carry no payloads: {echo}"
    );
    let echo = work.json(&["events", "show", &echo["id"].to_string()]);
    let echo = &echo["event"];
    assert!(
        echo["payload"]
            .as_str()
            .is_some_and(|p| p.contains("\"own_echo\":true")),
        "{echo}"
    );
    // A replay answers the send from the ledger: the customer is not messaged again.
    let out = work.switchboard(&["runs", "replay", &run_id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed = service.wait_for(BOUND, || {
        let detail = work.json(&["runs", "show", &run_id.to_string()]);
        (detail["attempts"].as_array().map(Vec::len) == Some(2)
            && detail["run"]["status"] == "succeeded")
            .then_some(detail)
    });
    assert_eq!(replayed["run"]["is_replay"], true);
    let resend = replayed["attempts"][1]["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["kind"] == "messages.send").cloned())
        .expect("the replay asked to send again");
    assert_eq!(
        resend["replayed"], true,
        "answered from the ledger: {resend}"
    );
    let replies = reply_count(&service, "Доставка от 990");
    assert_eq!(replies, 1, "the replay sent nothing new");
    let (status, _) = service.terminate();
    assert!(status.success(), "a clean shutdown exits 0: {status:?}");
}

#[test]
fn intake_answers_each_kind_of_bad_input_and_keeps_it() {
    let work = Workdir::shipped();
    let service = work.serve();
    let url = service.webhook.clone();
    let wrong = format!("{}x", url);
    let (status, _) = service.post_webhook(&wrong, "application/json", b"{}".to_vec());
    assert_eq!(status, 404, "unknown token");
    let good = inbound_body("5f0e8f5e-1111-4b55-9d6a-0c0ffee00001", 41, "hello");
    let (status, body) = service.post_webhook(&url, "text/plain", good.clone());
    assert_eq!(status, 415, "{body}");
    let (status, body) = service.post_webhook(&url, "application/json", b"{not json".to_vec());
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let (status, _) = service.post_webhook(&url, "application/json", Vec::new());
    assert_eq!(status, 400, "empty body");
    let typed = br#"{"event_type":"messages.create","event":{"connection_id":"x"}}"#.to_vec();
    let (status, body) = service.post_webhook(&url, "application/json", typed);
    assert_eq!(status, 400, "{body}");
    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, _) = service.post_webhook(&url, "application/json", big);
    assert_eq!(status, 413, "oversized");
    let (status, first) = service.post_webhook(&url, "application/json", good.clone());
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["duplicate"], false);
    let (status, again) = service.post_webhook(&url, "application/json", good);
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(again["runs"], 0);
    let unsupported = br#"{"event_type":"contacts.merged","event":{"a":1}}"#.to_vec();
    let (status, body) = service.post_webhook(&url, "application/json", unsupported);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["runs"], 0);
    let quarantined = work.json(&["quarantine", "list"]);
    let reasons: Vec<&str> = quarantined
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|q| q["reason"].as_str())
        .collect();
    assert_eq!(
        reasons.len(),
        5,
        "415, 400 x3 and 413 are kept: {reasons:?}"
    );
    let api = format!("{}quarantine", service.api);
    let (status, listed) = service.get_json(&api);
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().map(Vec::len), Some(5), "{listed}");
}

#[test]
fn health_and_readiness_answer() {
    let work = Workdir::shipped();
    let service = work.serve();
    let base = service.api.trim_end_matches("api/").to_owned();
    let (status, body) = service.get_json(&format!("{base}healthz"));
    assert_eq!((status, body["status"].clone()), (200, Value::from("ok")));
    let (status, _) = service.get_json(&format!("{base}readyz"));
    assert_eq!(status, 200);
    let (status, plugins) = service.get_json(&format!("{}plugins", service.api));
    assert_eq!(status, 200);
    let names: Vec<&str> = plugins["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["auto-reply"],
        "crm-sync is optional and CRM_TOKEN is unset"
    );
}

#[test]
fn check_passes_on_the_default_config_and_says_what_is_skipped() {
    let work = Workdir::shipped();
    let out = work.switchboard(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("skipped crm-sync"), "{stdout}");
    assert!(stdout.contains("CRM_TOKEN"), "{stdout}");
}

/// The shipped auto-reply manifest in a directory of its own, its component path made absolute.
fn own_manifests() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let artifacts = switchboard_testing::build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let wasm = artifacts
        .wasm("auto-reply")
        .expect("built")
        .display()
        .to_string();
    let shipped = switchboard_testing::repo_root().join("manifests/auto-reply.toml");
    let text = std::fs::read_to_string(shipped).expect("manifest");
    let text = text.replace(
        "wasm = \"../plugins/target/wasm32-wasip2/release/auto_reply.wasm\"",
        &format!("wasm = {wasm:?}"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("auto-reply.toml");
    std::fs::write(&file, &text).expect("write");
    (dir, file, text)
}

fn reply_count(service: &support::Service, needle: &str) -> usize {
    service
        .sent()
        .iter()
        .filter(|m| m.to_string().contains(needle))
        .count()
}

#[test]
fn a_reload_under_load_swaps_the_plugin_and_a_broken_manifest_keeps_the_old_one() {
    let (dir, file, original) = own_manifests();
    let work = Workdir::with_manifests(dir.path(), "");
    let service = work.serve();
    let old = "Мы работаем с 9:00 до 21:00 без выходных.";
    let new = "We are open around the clock.";
    assert!(original.contains(old));
    for i in 0..40 {
        service.inbound(70002, &format!("7905000{i:04}"), "hours?");
        if i == 20 {
            std::fs::write(&file, original.replace(old, new)).expect("rewrite");
        }
    }
    service.wait_for(BOUND, || {
        (reply_count(&service, old) + reply_count(&service, new) == 40).then_some(())
    });
    // The reload took effect: a later message gets the new reply.
    service.wait_for(BOUND, || {
        service.inbound(70002, "79059999999", "hours?");
        (reply_count(&service, new) > 0).then_some(())
    });
    // The newest message's webhook may still be on its way from the sandbox: wait until its run
    // is stored (the reply seen above may have been to one of the 40).
    let chats_with_runs = || {
        let runs = work.json(&["runs", "list", "--limit", "500"]);
        let mut chats = std::collections::BTreeMap::new();
        for r in runs.as_array().expect("runs") {
            *chats.entry(r["chat_id"].as_i64()).or_insert(0) += 1;
        }
        chats
    };
    let chats = service.wait_for(BOUND, || {
        let chats = chats_with_runs();
        (chats.len() >= 41).then_some(chats)
    });
    assert!(chats.len() >= 41, "one run per chat: {chats:?}");
    let doubled: Vec<_> = service
        .sent()
        .iter()
        .map(|m| m["chat_id"].as_i64())
        .fold(std::collections::BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_insert(0) += 1;
            m
        })
        .into_iter()
        .filter(|(c, n)| *n > 1 && *c != Some(0) && chats.get(c) == Some(&1))
        .collect();
    assert!(
        doubled.is_empty(),
        "no chat got two replies to one message: {doubled:?}"
    );
    // A broken manifest: the previous version keeps serving and the problem is visible.
    std::fs::write(&file, "manifest_version = 1\n[plugin\n").expect("break");
    let plugins = service.wait_for(BOUND, || {
        let (_, plugins) = service.get_json(&format!("{}plugins", service.api));
        (plugins["problems"]
            .as_array()
            .is_some_and(|p| !p.is_empty()))
        .then_some(plugins)
    });
    assert_eq!(plugins["plugins"][0]["name"], "auto-reply", "{plugins}");
    let before = reply_count(&service, new);
    service.inbound(70002, "79058888888", "hours?");
    service.wait_for(BOUND, || {
        (reply_count(&service, new) > before).then_some(())
    });
}

/// `/metrics`, parsed: the value of `name` whose labels include `labels`.
fn metric(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .reduce(|a, b| a + b)
}

fn scrape(service: &support::Service) -> prometheus_parse::Scrape {
    let text = service.metrics();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("prometheus text format")
}

#[test]
fn metrics_count_a_scripted_scenario() {
    let work = Workdir::shipped();
    let service = work.serve();
    // One send's answer is lost after Radist processed it: the run is retried and reconciled.
    let faults = json!({"drop_response": {"count": 1}, "paths": ["/messages/"]});
    service.faults(&faults);
    service.inbound(70002, "79006000001", "hours?");
    service.wait_for(BOUND, || {
        let runs = work.json(&[
            "runs",
            "list",
            "--plugin",
            "auto-reply",
            "--status",
            "succeeded",
        ]);
        (runs.as_array().map(Vec::len) == Some(1)).then_some(())
    });
    // A message no rule answers: a run that succeeds without sending.
    let body = inbound_body("5f0e8f5e-2222-4b55-9d6a-0c0ffee00002", 77, "x");
    let (status, _) = service.post_webhook(&service.webhook, "application/json", body.clone());
    assert_eq!(status, 200);
    let (status, _) = service.post_webhook(&service.webhook, "application/json", body);
    assert_eq!(status, 200);
    let (status, _) = service.post_webhook(&service.webhook, "application/json", b"[".to_vec());
    assert_eq!(status, 400);
    let s = service.wait_for(BOUND, || {
        let s = scrape(&service);
        let settled = metric(&s, "switchboard_queue_depth", &[("state", "queued")]) == Some(0.0)
            && metric(&s, "switchboard_database_bytes", &[]).is_some_and(|b| b > 0.0)
            && metric(
                &s,
                "switchboard_runs_total",
                &[("plugin", "auto-reply"), ("status", "succeeded")],
            ) == Some(2.0);
        settled.then_some(s)
    });
    let m = |name: &str, labels: &[(&str, &str)]| metric(&s, name, labels).unwrap_or(-1.0);
    assert_eq!(m("switchboard_webhook_duplicates_total", &[]), 1.0);
    assert_eq!(
        m("switchboard_quarantined_total", &[("status", "400")]),
        1.0
    );
    assert_eq!(
        m("switchboard_events_total", &[("kind", "message.received")]),
        2.0
    );
    assert!(
        m(
            "switchboard_webhook_ack_seconds_count",
            &[("status", "200")]
        ) >= 3.0
    );
    assert_eq!(
        m(
            "switchboard_runs_total",
            &[("plugin", "auto-reply"), ("status", "retrying")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "switchboard_actions_total",
            &[("kind", "messages.send"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "switchboard_ledger_reconciliations_total",
            &[("decision", "delivered")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "switchboard_run_duration_seconds_count",
            &[("plugin", "auto-reply")]
        ),
        3.0
    );
    assert_eq!(m("switchboard_lane_wait_seconds_count", &[]), 2.0);
    assert!(
        m(
            "switchboard_radist_request_seconds_count",
            &[
                ("operation", "send_message"),
                ("outcome", "transport-error")
            ]
        ) == 1.0,
        "the send whose answer was lost"
    );
    assert!(
        m(
            "switchboard_radist_request_seconds_count",
            &[("operation", "messages"), ("outcome", "ok")]
        ) >= 1.0,
        "the read-back of the chat's messages that reconciled it"
    );
    assert!(m("switchboard_cron_fired_total", &[]) >= 0.0);
    assert!(
        m(
            "switchboard_plugin_memory_peak_bytes",
            &[("plugin", "auto-reply")]
        ) >= 65536.0,
        "at least one wasm page"
    );
    assert!(m("switchboard_database_wal_bytes", &[]) >= 0.0);
    let replies = reply_count(&service, "9:00");
    assert_eq!(replies, 1, "the reconciled send was not repeated");
}

/// `switchboard_handoff_total` by result: (hits, misses).
fn handoff_counts(service: &support::Service) -> (f64, f64) {
    let s = scrape(service);
    let count = |result| metric(&s, "switchboard_handoff_total", &[("result", result)]);
    (count("hit").unwrap_or(0.0), count("miss").unwrap_or(0.0))
}

/// Waits until `message_id`'s only run (auto-reply on 70002) has `attempts` attempts, the last
/// `succeeded`; its run id.
fn run_done(work: &Workdir, service: &support::Service, attempts: usize) -> String {
    service.wait_for(BOUND, || {
        let runs = work.json(&["runs", "list", "--plugin", "auto-reply"]);
        let id = runs.as_array()?.first()?["run_id"].to_string();
        let detail = work.json(&["runs", "show", &id]);
        let done = detail["attempts"].as_array().map(Vec::len) == Some(attempts)
            && detail["run"]["status"] == "succeeded";
        done.then_some(id)
    })
}

/// Intake keeps the event it decoded for this process's dispatcher: the webhook's run takes it
/// (a hit) instead of parsing the stored payload. A replay finds no entry (the run took it) and
/// runs from the stored payload (a miss), with the same event: the plugin asks to send the
/// same reply, which the ledger answers.
#[test]
fn a_webhook_run_takes_intake_s_decoded_event_and_a_replay_reads_the_stored_payload() {
    let work = Workdir::shipped();
    let service = work.serve();
    let needle = "Мы работаем с 9:00";
    service.inbound(70002, "79007000001", "hours?");
    let run = run_done(&work, &service, 1);
    assert_eq!(reply_count(&service, needle), 1);
    assert_eq!(
        handoff_counts(&service),
        (1.0, 0.0),
        "the run took intake's event"
    );
    let out = work.switchboard(&["runs", "replay", &run]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_done(&work, &service, 2);
    assert_eq!(
        handoff_counts(&service),
        (1.0, 1.0),
        "the replay read the payload"
    );
    let detail = work.json(&["runs", "show", &run]);
    let resend = detail["attempts"][1]["actions"].to_string();
    assert!(
        resend.contains(needle) && resend.contains("\"replayed\":true"),
        "{resend}"
    );
    assert_eq!(
        reply_count(&service, needle),
        1,
        "the replay sent nothing new"
    );
}

/// With the handoff off (as for a run another process stored, or an evicted entry) every run
/// is a miss and reads its stored payload, and the customer gets the same answer.
#[test]
fn with_no_decoded_event_kept_a_run_reads_its_stored_payload_and_answers_the_same() {
    let work = Workdir::shipped();
    let config = std::fs::read_to_string(work.path("switchboard.toml")).expect("config");
    let config = config + "[webhook]\nhandoff_max_events = 0\n";
    std::fs::write(work.path("switchboard.toml"), config).expect("config");
    let service = work.serve();
    service.inbound(70002, "79007000002", "hours?");
    run_done(&work, &service, 1);
    assert_eq!(reply_count(&service, "Мы работаем с 9:00"), 1);
    assert_eq!(handoff_counts(&service), (0.0, 1.0));
}

#[test]
fn json_logs_put_each_action_in_its_run_span() {
    let work = Workdir::shipped();
    let service = work.serve_with(
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
        &[("RUST_LOG", "info,switchboard_runtime=debug")],
    );
    service.inbound(70001, "79007000001", "price?");
    service.wait_for(BOUND, || {
        let runs = work.json(&["runs", "list", "--status", "succeeded"]);
        (runs.as_array().map(Vec::len) == Some(1)).then_some(())
    });
    let (status, stderr) = service.terminate();
    assert!(status.success());
    let lines: Vec<Value> = stderr
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let send = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "action finished" && l["span"]["kind"] == "messages.send"
        })
        .unwrap_or_else(|| panic!("no action line in the json log: {stderr:?}"));
    let spans = send["spans"].as_array().expect("spans");
    let run = spans.iter().find(|s| s["name"] == "run").expect("run span");
    assert_eq!(run["plugin"], "auto-reply");
    assert!(
        run["run_id"].is_string() && run["event_id"].is_string(),
        "{run}"
    );
    assert_eq!(run["attempt"], 1);
    assert_eq!(send["span"]["name"], "action");
}

/// auto-reply's shipped manifest, its wasm path made absolute, its (read-only) `tags` grant
/// replaced by `tags`.
fn auto_reply_with(tags: &str) -> tempfile::TempDir {
    let shipped_grant = "tags = { connections = [70001, 70002, 70003, 70004] }";
    support::shipped_auto_reply(&[(shipped_grant, tags)])
}

#[test]
fn a_remote_key_lacking_a_permission_is_reported_naming_the_manifest_and_grant() {
    switchboard_testing::build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let mut config = radist_sandbox::SandboxConfig::default();
    config.seed.permissions = vec!["messaging".into(), "contacts".into(), "tags_view".into()];
    let sandbox = rt
        .block_on(radist_sandbox::Sandbox::start(config))
        .expect("sandbox");
    let grant =
        "tags = { write = true, connections = [70002], allow = [\"lead\"], create_missing = true }";
    let manifests = auto_reply_with(grant);
    let extra = format!(
        "[webhook]\ntoken = {{ env = \"SB_WEBHOOK_TOKEN\" }}\n[radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_RADIST_KEY\" }}\ncompany_id = 1\n",
        sandbox.base_url()
    );
    let work = Workdir::with_manifests(manifests.path(), &extra);
    let env = [
        ("SB_WEBHOOK_TOKEN", "permissions-test-webhook-token"),
        ("SB_RADIST_KEY", sandbox.api_key()),
    ];
    let service = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    let (_, stderr) = service.terminate();
    let warned: Vec<&String> = stderr
        .iter()
        .filter(|l| l.contains("needs the radist permission"))
        .collect();
    assert_eq!(warned.len(), 1, "{stderr:#?}");
    assert!(
        warned[0].contains(
            "auto-reply.toml: `capabilities.tags` needs the radist permission `tags_create`"
        ),
        "{}",
        warned[0]
    );
}
