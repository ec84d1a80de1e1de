//! Running the real `switchboard serve` in a scratch directory: start it on a free loopback
//! port, read the addresses it announces, talk to its webhook endpoint, admin API and embedded
//! sandbox, stop it with a signal or kill it.
#![allow(dead_code)]

pub mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testing::launcher::{self, Announcement, StderrTail};
use switchboard_testing::{build_plugins, repo_root};

/// How long start-up may take before a test gives up (a bound, not a measurement).
const START_BOUND: Duration = Duration::from_secs(120);
/// How long a `serve` that must refuse to start may keep running (a bound, not a measurement).
const REFUSAL_BOUND: Duration = Duration::from_secs(90);
/// Stderr lines a service keeps for its test.
const STDERR_KEPT: usize = 10_000;

/// A scratch directory with a host config.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// The shipped manifests (`crm-sync` optional), store and cache in the scratch directory.
    pub fn shipped() -> Workdir {
        build_plugins().unwrap_or_else(|e| panic!("{e}"));
        Workdir::with_manifests(&repo_root().join("manifests"), "")
    }

    /// `manifests` as the manifests directory, plus `extra` TOML appended to the config.
    pub fn with_manifests(manifests: &Path, extra: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "config_version = 1\n[plugins]\nmanifests = {manifests:?}\noptional = [\"crm-sync\"]\n[runtime]\ncache_dir = \"cache\"\n[store]\npath = \"data/switchboard.db\"\n{extra}"
        );
        std::fs::write(dir.path().join("switchboard.toml"), config).expect("write config");
        Workdir { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .arg("--config")
            .arg(self.path("switchboard.toml"))
            .args(args)
            .env_remove("SWITCHBOARD_CONFIG")
            .env_remove("CRM_TOKEN")
            .env("RUST_LOG", "warn");
        command
    }

    /// Runs a one-shot command to completion.
    pub fn switchboard(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("switchboard runs")
    }

    /// `args` with `--json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        self.json_with(args, &[])
    }

    /// `switchboard <args> --json` with `env` set (say, the database URL a config names).
    pub fn json_with(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let mut command = self.command(&all);
        command.envs(env.iter().copied());
        json_of(args, &command.output().expect("switchboard runs"))
    }

    /// Starts `serve --listen 127.0.0.1:0` and waits for its announcement.
    pub fn serve(&self) -> Service {
        self.serve_with(&["--listen", "127.0.0.1:0"], &[])
    }

    /// Runs `serve` expecting it to refuse to start (exit by itself within a bound): its exit
    /// status and stderr. A service that keeps running fails the test with `why`.
    pub fn refused_serve(&self, env: &[(&str, &str)], why: &str) -> (ExitStatus, String) {
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0"]);
        command.envs(env.iter().copied());
        launcher::run_to_exit(command, REFUSAL_BOUND).unwrap_or_else(|| panic!("{why}"))
    }

    /// Starts `serve` with more arguments and environment variables.
    pub fn serve_with(&self, args: &[&str], env: &[(&str, &str)]) -> Service {
        let mut all = vec!["serve"];
        if !args.contains(&"--drain-ms") {
            all.extend(["--drain-ms", "5000"]);
        }
        all.extend_from_slice(args);
        let mut command = self.command(&all);
        command.envs(env.iter().copied());
        Service::start(command, START_BOUND)
    }
}

impl Service {
    /// Starts `command` (a `switchboard serve`) and waits up to `bound` for its announcement.
    pub fn start(command: Command, bound: Duration) -> Service {
        let launched =
            launcher::launch(command, bound, STDERR_KEPT).unwrap_or_else(|e| panic!("{e}"));
        Service {
            child: launched.child,
            stderr: Some(launched.stderr),
            announced: launched.announcement,
            http: reqwest::blocking::Client::new(),
        }
    }
}

/// A running `switchboard serve`; its announcement's fields (`webhook`, `api`, `dashboard`,
/// `sandbox`, `control`, `try_it`) read as its own.
pub struct Service {
    pub child: Child,
    stderr: Option<StderrTail>,
    /// What it announced at start.
    pub announced: Announcement,
    pub http: reqwest::blocking::Client,
}

impl std::ops::Deref for Service {
    type Target = Announcement;

    fn deref(&self) -> &Announcement {
        &self.announced
    }
}

impl Service {
    pub fn control(&self, path: &str) -> String {
        format!("{}/{path}", self.control.as_deref().expect("sandbox mode"))
    }

    /// Sets the embedded sandbox's faults (`{}` clears them).
    pub fn faults(&self, faults: &Value) {
        let response = self.http.post(self.control("faults")).json(faults).send();
        assert!(response.expect("faults").status().is_success());
    }

    /// A customer writes to a connection of the embedded sandbox.
    pub fn inbound(&self, connection: i64, phone: &str, text: &str) -> Value {
        let body = json!({"connection_id": connection, "phone": phone, "text": text});
        let response = self
            .http
            .post(self.control("inbound"))
            .json(&body)
            .send()
            .expect("inbound");
        assert!(response.status().is_success(), "{:?}", response.text());
        response.json().expect("inbound answer")
    }

    /// What the sandbox received through its API (`/_sandbox/sent`).
    pub fn sent(&self) -> Vec<Value> {
        let value: Value = self
            .http
            .get(self.control("sent"))
            .send()
            .expect("sent")
            .json()
            .expect("sent json");
        match value {
            Value::Array(items) => items,
            Value::Object(mut map) => match map.remove("sent").or_else(|| map.remove("messages")) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// POSTs a webhook body with a content type; returns status and JSON answer.
    pub fn post_webhook(&self, url: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("webhook post");
        let status = response.status().as_u16();
        let value = response.json().unwrap_or(Value::Null);
        (status, value)
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        let base = self.api.trim_end_matches("api/");
        let response = self.http.get(format!("{base}metrics")).send();
        response.expect("metrics").text().expect("text")
    }

    pub fn get_json(&self, url: &str) -> (u16, Value) {
        let response = self.http.get(url).send().expect("get");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Polls `probe` until it returns `Some`, within `bound` (a bound on a condition we wait
    /// for, not a timing assertion).
    pub fn wait_for<T>(&self, bound: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(found) = probe() {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "condition not reached within {bound:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every stderr line kept, once the process has exited (the reader ends at its EOF).
    fn stderr_lines(&mut self) -> Vec<String> {
        self.stderr
            .take()
            .map(StderrTail::finish)
            .unwrap_or_default()
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        signal(&self.child, "TERM");
        let status = self.child.wait().expect("wait");
        (status, self.stderr_lines())
    }

    /// SIGTERM, and asserts a clean exit (its stderr shows when it is not).
    pub fn stop(self) {
        let (status, lines) = self.terminate();
        assert!(status.success(), "{status:?}:\n{}", lines.join("\n"));
    }

    /// Waits up to `bound` for the process to exit by itself (no signal): its status and stderr.
    pub fn exit_within(mut self, bound: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let status = launcher::wait_exit(&mut self.child, bound).expect("wait");
        let status = status.unwrap_or_else(|| panic!("serve did not exit within {bound:?}"));
        (status, self.stderr_lines())
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON a successful `switchboard <args> --json` printed.
pub fn json_of(args: &[&str], out: &Output) -> Value {
    assert!(
        out.status.success(),
        "switchboard {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The shipped manifests with `[server] admin_token` read from `SB_TEST_ADMIN_TOKEN`, served on
/// `listen` with that variable set to `token`; keep the workdir as long as the service.
pub fn serve_with_admin_token(listen: &str, token: &str) -> (Workdir, Service) {
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let extra = "[server]\nadmin_token = { env = \"SB_TEST_ADMIN_TOKEN\" }\n";
    let work = Workdir::with_manifests(&repo_root().join("manifests"), extra);
    let service = work.serve_with(&["--listen", listen], &[("SB_TEST_ADMIN_TOKEN", token)]);
    (work, service)
}

/// Sends a signal by name with `kill(1)`.
pub fn signal(child: &Child, name: &str) {
    launcher::signal(child, name).unwrap_or_else(|e| panic!("{e}"));
}

/// The shipped auto-reply manifest, its wasm path made absolute and each `(from, to)` of `edits`
/// replaced, alone in a new directory. Panics when a `from` is not in the shipped manifest (it
/// changed shape: update the caller).
pub fn shipped_auto_reply(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let shipped = repo_root().join("manifests");
    let mut text =
        std::fs::read_to_string(shipped.join("auto-reply.toml")).expect("auto-reply.toml");
    let wasm = shipped.join("../plugins/target/wasm32-wasip2/release/auto_reply.wasm");
    let wasm_key = "\"../plugins/target/wasm32-wasip2/release/auto_reply.wasm\"";
    let absolute = format!("{wasm:?}");
    for (from, to) in std::iter::once((wasm_key, absolute.as_str())).chain(edits.iter().copied()) {
        assert!(
            text.contains(from),
            "the shipped auto-reply manifest no longer holds `{from}`; update the test"
        );
        text = text.replace(from, to);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("auto-reply.toml"), text).expect("write manifest");
    dir
}
