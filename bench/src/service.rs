//! The service under test: finds (or builds) the release `switchboard` binary, writes a host
//! config into a scratch directory, starts `switchboard serve` on a free loopback port against
//! the in-process Radist sandbox, reads its start-up announcement, and stops it with SIGTERM.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context;
use switchboard_testing::repo_root;

use crate::cli::{Durability, StoreKind};

/// How long start-up may take before the harness gives up (cold plugin compiles included).
const START_BOUND: Duration = Duration::from_secs(180);
/// The webhook token the harness configures.
pub const WEBHOOK_TOKEN: &str = "bench-webhook-token-5f0e8f5e9d6a0c0ffee";
/// Stderr lines kept for error messages.
const STDERR_KEPT: usize = 40;

/// The release binary: `$SWITCHBOARD_BIN`, or `target/release/switchboard`, built with
/// `cargo build --release -p switchboard` when missing or when `rebuild` is set.
pub fn binary(rebuild: bool, say: &dyn Fn(&str)) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHBOARD_BIN") {
        return Ok(PathBuf::from(path));
    }
    let path = target_dir().join("release/switchboard");
    if rebuild || !path.is_file() {
        say("building the service: cargo build --release -p switchboard");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "-p", "switchboard"])
            .current_dir(repo_root())
            .status()
            .context("cannot run cargo; install Rust or set SWITCHBOARD_BIN to a built binary")?;
        anyhow::ensure!(
            status.success(),
            "cargo build --release -p switchboard failed"
        );
    }
    anyhow::ensure!(
        path.is_file(),
        "{} is missing after the build",
        path.display()
    );
    Ok(path)
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `<repo>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

/// Where to send Radist calls.
#[derive(Debug, Clone)]
pub struct RadistRemote {
    pub base_url: String,
    pub api_key: String,
    pub company_id: i64,
}

/// A scratch directory holding the host configs (one per node), the manifests and, on
/// SQLite, the database.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// Writes `node-<n>.toml` for nodes 1..=`nodes` (node ids `bench-<n>`, plugins from
    /// `manifests/` in the scratch dir, compile cache shared across runs under
    /// `target/switchboard-bench/cache` so start-up can be warm). On PostgreSQL the URL comes
    /// from `$SB_BENCH_DATABASE_URL`.
    pub fn new(
        radist: &RadistRemote,
        store: StoreKind,
        durability: Durability,
        nodes: usize,
    ) -> anyhow::Result<Workdir> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-bench")
            .tempdir()?;
        std::fs::create_dir_all(dir.path().join("manifests"))?;
        let cache = cache_dir();
        std::fs::create_dir_all(&cache)?;
        for node in 1..=nodes {
            let config = host_config(radist, (store, durability), &cache, node);
            std::fs::write(dir.path().join(format!("node-{node}.toml")), config)?;
        }
        Ok(Workdir { dir })
    }

    /// The host config of node `node` (1-based).
    pub fn config(&self, node: usize) -> PathBuf {
        self.path(&format!("node-{node}.toml"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database file and its write-ahead log.
    pub fn database_bytes(&self) -> u64 {
        ["data/switchboard.db", "data/switchboard.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.path(f)).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn host_config(
    radist: &RadistRemote,
    (store, durability): (StoreKind, Durability),
    cache: &Path,
    node: usize,
) -> String {
    let store = match store {
        StoreKind::Sqlite => "path = \"data/switchboard.db\"",
        StoreKind::Postgres => "url = { env = \"SB_BENCH_DATABASE_URL\" }",
    };
    format!(
        "config_version = 1\n[server]\nnode_id = \"bench-{node}\"\n[plugins]\nmanifests = \"manifests\"\n[runtime]\ncache_dir = {cache:?}\n[store]\n{store}\ndurability = \"{}\"\n[webhook]\ntoken = {{ env = \"SB_BENCH_WEBHOOK_TOKEN\" }}\n[radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_BENCH_RADIST_KEY\" }}\ncompany_id = {}\n",
        durability.name(),
        radist.base_url,
        radist.company_id
    )
}

/// The compile cache shared by every bench run.
pub fn cache_dir() -> PathBuf {
    target_dir().join("switchboard-bench/cache")
}

/// True when the compile cache holds anything (start-up is then "warm").
pub fn cache_is_warm() -> bool {
    std::fs::read_dir(cache_dir()).is_ok_and(|mut d| d.next().is_some())
}

/// A running `switchboard serve`.
pub struct Service {
    child: Child,
    stderr: Arc<Mutex<VecDeque<String>>>,
    pub webhook: String,
    pub startup: Duration,
}

impl Service {
    /// Starts the service with the host config `config` (and `database_url` in
    /// `$SB_BENCH_DATABASE_URL`) and waits for `webhook URL:` and `admin API:`.
    pub fn start(
        binary: &Path,
        config: &Path,
        api_key: &str,
        database_url: Option<&str>,
    ) -> anyhow::Result<Service> {
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", "127.0.0.1:0", "--drain-ms", "2000"])
            .env_remove("SWITCHBOARD_CONFIG")
            .env("SB_BENCH_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
            .env("SB_BENCH_RADIST_KEY", api_key)
            .env("SB_BENCH_DATABASE_URL", database_url.unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let lines = forward(child.stdout.take());
        let stderr = keep_tail(child.stderr.take());
        let mut service = Service {
            child,
            stderr,
            webhook: String::new(),
            startup: Duration::ZERO,
        };
        service.read_announcement(&lines)?;
        service.startup = started.elapsed();
        Ok(service)
    }

    fn read_announcement(&mut self, lines: &mpsc::Receiver<String>) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_BOUND;
        let mut admin = false;
        while self.webhook.is_empty() || !admin {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                anyhow::bail!("switchboard serve did not start:\n{}", self.stderr_tail());
            };
            if let Some(url) = line.strip_prefix("webhook URL: ") {
                self.webhook = url.trim().to_owned();
            }
            admin |= line.starts_with("admin API: ");
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the service wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        Vec::from(tail).join("\n")
    }

    /// SIGTERM, then the exit status and the last stderr lines (killed when it does not stop
    /// within 30 s).
    pub fn stop(mut self) -> anyhow::Result<(std::process::ExitStatus, String)> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("cannot run kill(1)")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut status = None;
        while status.is_none() && Instant::now() < deadline {
            status = self.child.try_wait()?;
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = match status {
            Some(status) => status,
            None => {
                self.child.kill()?;
                self.child.wait()?
            }
        };
        std::thread::sleep(Duration::from_millis(20));
        Ok((status, self.stderr_tail()))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last [`STDERR_KEPT`] lines of a child's pipe, read on a thread.
fn keep_tail(pipe: Option<impl std::io::Read + Send + 'static>) -> Arc<Mutex<VecDeque<String>>> {
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_KEPT)));
    let kept = Arc::clone(&tail);
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let Ok(mut tail) = kept.lock() else { break };
                if tail.len() == STDERR_KEPT {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
    }
    tail
}

/// Lines of a child's pipe, read on a thread (stdout: a few lines at start and stop).
fn forward(pipe: Option<impl std::io::Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}
