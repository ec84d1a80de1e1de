//! End to end through the real `switchboard` binary: `check` on the shipped manifests and on a
//! directory full of problems, and `run` against the embedded sandbox, dry or not. Plugins are
//! built from source by `switchboard-testing`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use switchboard_testing::{build_plugins, repo_root};

/// A scratch directory with a host config whose manifests directory is `manifests`.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(manifests: &Path) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "config_version = 1\n[plugins]\nmanifests = {manifests:?}\n[runtime]\ncache_dir = \"cache\"\n[store]\npath = \"data/switchboard.db\"\n"
        );
        std::fs::write(dir.path().join("switchboard.toml"), config).expect("write config");
        Workdir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn switchboard(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("--config")
            .arg(self.path("switchboard.toml"))
            .args(args)
            .env("CRM_TOKEN", "test-crm-token")
            .env_remove("SWITCHBOARD_CONFIG")
            .output()
            .expect("switchboard runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn shipped_manifests() -> PathBuf {
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    repo_root().join("manifests")
}

#[test]
fn check_accepts_the_shipped_manifests() {
    let work = Workdir::new(&shipped_manifests());
    let out = work.switchboard(&["check"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("ok  auto-reply"), "{stdout}");
    assert!(stdout.contains("ok  crm-sync"), "{stdout}");
    assert!(
        stdout.contains("imports: messages, chats, kv, http") || stdout.contains("crm-sync"),
        "{stdout}"
    );
    assert!(stdout.contains("no problems"), "{stdout}");
}

#[test]
fn check_lists_every_problem_and_exits_1() {
    let artifacts = build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let hostile = artifacts
        .wasm("hostile")
        .expect("hostile plugin is built")
        .display()
        .to_string();
    let manifests = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, body: String| {
        std::fs::write(manifests.path().join(name), body).expect("write manifest")
    };
    write(
        "broken.toml",
        "manifest_version = 1\n[plugin]\nname = \"broken\"\nwasm = \"x.wasm\"\n[[trigger]]\non = [\"message.received\"]\n[limits]\ntimout_ms = 5\n".into(),
    );
    write(
        "ungranted.toml",
        format!(
            "manifest_version = 1\n[plugin]\nname = \"ungranted\"\nwasm = {hostile:?}\n[[trigger]]\non = [\"manual\"]\n[capabilities]\nmessages = {{ connections = [70001], types = [\"text\"] }}\n"
        ),
    );
    write(
        "missing.toml",
        "manifest_version = 1\n[plugin]\nname = \"missing\"\nwasm = \"nowhere/missing.wasm\"\n[[trigger]]\non = [\"manual\"]\n[secrets]\ntoken = { env = \"SB_TEST_UNSET_VARIABLE\" }\n".into(),
    );
    let work = Workdir::new(manifests.path());
    let out = work.switchboard(&["check"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr
            .contains("broken.toml:8:1: limits.timout_ms: unknown key; did you mean `timeout_ms`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("imports `switchboard:plugin/http@0.2.1`"),
        "{stderr}"
    );
    assert!(stderr.contains("capabilities"), "{stderr}");
    assert!(stderr.contains("missing.wasm does not exist"), "{stderr}");
    assert!(stderr.contains("SB_TEST_UNSET_VARIABLE"), "{stderr}");
    assert!(stderr.contains("4 problem(s) found"), "{stderr}");
}

fn inbound_webhook(work: &Workdir, connection_id: i64, phone: &str, text: &str) -> PathBuf {
    let body = serde_json::json!({
        "event_type": "messages.create",
        "event": {
            "connection_id": connection_id, "chat_id": 1, "contact_id": 1,
            "chat": {"phone": phone, "name": "Ivan", "username": null, "profile_link": null},
            "message": {
                "message_id": "6f1c3b1e-2a4d-4c55-9d0e-1f2a3b4c5d6e", "source_message_id": null,
                "chat_id": phone, "direction": "inbound", "message_type": "text", "author": null,
                "created_at": "2026-11-23T09:00:00Z", "text": {"text": text}
            }
        }
    });
    let file = work.path("event.json");
    std::fs::write(&file, body.to_string()).expect("write event");
    file
}

#[test]
fn check_with_an_event_says_which_plugins_it_triggers_and_why_not_the_others() {
    let work = Workdir::new(&shipped_manifests());
    let event = inbound_webhook(&work, 70002, "79990001122", "price?");
    let out = work.switchboard(&["check", "--event", event.to_str().expect("utf-8 path")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("event triggers auto-reply"), "{stdout}");
    let skip = stdout
        .lines()
        .find(|l| l.starts_with("event skips    crm-sync:"))
        .unwrap_or_else(|| panic!("no skip line for crm-sync:\n{stdout}"));
    assert!(
        skip.contains("70002"),
        "the reason names the connection: {skip}"
    );
}

fn run_json(work: &Workdir, args: &[&str]) -> (Output, Value) {
    let out = work.switchboard(args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (out, doc)
}

#[test]
fn run_answers_a_customer_through_the_embedded_sandbox() {
    let work = Workdir::new(&shipped_manifests());
    let event = inbound_webhook(&work, 70002, "79001234567", "What is the price?");
    let event = event.to_str().expect("utf-8 path");
    let (out, doc) = run_json(&work, &["run", "auto-reply", "--event", event, "--json"]);
    assert!(
        out.status.success(),
        "{doc:#}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert_eq!(doc["status"], "succeeded", "{doc:#}");
    let actions = doc["actions"].as_array().expect("actions");
    let send = actions
        .iter()
        .find(|a| a["kind"] == "messages.send")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(send["outcome"]["status"], "ok", "{doc:#}");
    assert_eq!(send["dry_run"], false, "{doc:#}");
}

#[test]
fn dry_run_answers_actions_without_radist() {
    let work = Workdir::new(&shipped_manifests());
    let event = inbound_webhook(&work, 70002, "79001234567", "price?");
    let event = event.to_str().expect("utf-8 path");
    let (out, doc) = run_json(
        &work,
        &["run", "auto-reply", "--event", event, "--dry-run", "--json"],
    );
    assert!(out.status.success(), "{doc:#}");
    let actions = doc["actions"].as_array().expect("actions");
    assert!(!actions.is_empty(), "{doc:#}");
    assert!(actions.iter().all(|a| a["dry_run"] == true), "{doc:#}");
}

#[test]
fn run_reports_a_plugin_that_times_out() {
    let manifests = repo_root().join("host/testing/manifests");
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let work = Workdir::new(&manifests);
    let event = work.path("loop.json");
    std::fs::write(&event, r#"{"manual": {"mode": "loop"}}"#).expect("write event");
    let (out, doc) = run_json(
        &work,
        &[
            "run",
            "hostile",
            "--event",
            event.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert_eq!(doc["status"], "timed-out", "{doc:#}");
}

#[test]
fn run_names_the_known_plugins_when_the_name_is_wrong() {
    let work = Workdir::new(&shipped_manifests());
    let event = inbound_webhook(&work, 70002, "79001234567", "hi");
    let out = work.switchboard(&[
        "run",
        "auto-replay",
        "--event",
        event.to_str().expect("utf-8"),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no plugin named `auto-replay`"), "{stderr}");
    assert!(stderr.contains("auto-reply, crm-sync"), "{stderr}");
}
