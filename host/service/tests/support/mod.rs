//! Running the real `switchboard serve` in a scratch directory: start it on a free loopback
//! port, read the addresses it announces, talk to its webhook endpoint, admin API and embedded
//! sandbox, stop it with a signal or kill it.
#![allow(dead_code)]

pub mod cluster;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testing::{build_plugins, repo_root};

/// How long start-up may take before a test gives up (a bound, not a measurement).
const START_BOUND: Duration = Duration::from_secs(120);

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
        let out = self
            .command(&all)
            .envs(env.iter().copied())
            .output()
            .expect("switchboard runs");
        assert!(
            out.status.success(),
            "switchboard {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Starts `serve --listen 127.0.0.1:0` and waits for its announcement.
    pub fn serve(&self) -> Service {
        self.serve_with(&["--listen", "127.0.0.1:0"], &[])
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
    pub fn start(mut command: Command, bound: Duration) -> Service {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let (etx, erx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let mut service = Service {
            child,
            stderr: erx,
            webhook: String::new(),
            api: String::new(),
            dashboard: String::new(),
            sandbox: None,
            control: None,
            remote: false,
            try_it: None,
            announced: Vec::new(),
            http: reqwest::blocking::Client::new(),
        };
        service.read_announcement(&rx, bound);
        service
    }
}

/// A running `switchboard serve`.
pub struct Service {
    pub child: Child,
    stderr: mpsc::Receiver<String>,
    /// `http://127.0.0.1:PORT/hooks/radist/TOKEN`.
    pub webhook: String,
    /// `http://127.0.0.1:PORT/api/`.
    pub api: String,
    /// `http://127.0.0.1:PORT/ui/`, as announced.
    pub dashboard: String,
    /// The embedded sandbox's API base (`.../v2`).
    pub sandbox: Option<String>,
    /// The embedded sandbox's control base (`.../_sandbox`).
    pub control: Option<String>,
    /// Radist is remote (no embedded sandbox lines follow the admin line).
    remote: bool,
    /// The `try it:` line, as printed.
    pub try_it: Option<String>,
    /// Every line printed on stdout up to the end of the announcement.
    pub announced: Vec<String>,
    pub http: reqwest::blocking::Client,
}

impl Service {
    fn read_announcement(&mut self, rx: &mpsc::Receiver<String>, bound: Duration) {
        let deadline = Instant::now() + bound;
        while self.api.is_empty() || (self.control.is_none() && !self.remote) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let stderr: Vec<String> = self.stderr.try_iter().collect();
                panic!(
                    "serve did not announce itself; stderr:\n{}",
                    stderr.join("\n")
                );
            };
            if let Some(url) = line.strip_prefix("webhook URL: ") {
                self.webhook = url.to_owned();
            } else if let Some(rest) = line.strip_prefix("admin API: ") {
                self.api = rest.split(' ').next().unwrap_or_default().to_owned();
                self.remote = line.contains("radist: remote");
            } else if let Some(rest) = line.strip_prefix("dashboard: ") {
                self.dashboard = rest.split(' ').next().unwrap_or_default().to_owned();
            } else if let Some(rest) = line.strip_prefix("radist sandbox: ") {
                self.sandbox = rest.split(' ').next().map(str::to_owned);
            } else if let Some(rest) = line.strip_prefix("try it: curl -s ") {
                let inbound = rest.split(' ').next().unwrap_or_default();
                self.control = Some(inbound.trim_end_matches("/inbound").to_owned());
                self.try_it = Some(line.clone());
            }
            self.announced.push(line);
        }
    }

    pub fn control(&self, path: &str) -> String {
        format!("{}/{path}", self.control.as_deref().expect("sandbox mode"))
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

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        signal(&self.child, "TERM");
        let status = self.child.wait().expect("wait");
        let mut lines = Vec::new();
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(10)) {
            lines.push(line);
        }
        (status, lines)
    }

    /// Waits up to `bound` for the process to exit by itself (no signal): its status and stderr.
    pub fn exit_within(mut self, bound: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let deadline = Instant::now() + bound;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit within {bound:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut lines = Vec::new();
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(10)) {
            lines.push(line);
        }
        (status, lines)
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

/// Sends a signal by name with `kill(1)`.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}
