//! The service under test: finds (or builds) the release `switchboard` binary, writes a host
//! config into a scratch directory, starts `switchboard serve` on a free loopback port against
//! the in-process Radist sandbox through the tests' launcher (`switchboard_testing::launcher`),
//! and stops it with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use switchboard_testing::launcher::{self, StderrTail};
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

/// What the bench sets in the host config of the service under test.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfig {
    pub store: StoreKind,
    pub durability: Durability,
    /// `[runtime] max_concurrent_runs`, when not the service's default.
    pub max_concurrent_runs: Option<u32>,
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
        config: &ServiceConfig,
        nodes: usize,
    ) -> anyhow::Result<Workdir> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-bench")
            .tempdir()?;
        std::fs::create_dir_all(dir.path().join("manifests"))?;
        let cache = cache_dir();
        std::fs::create_dir_all(&cache)?;
        for node in 1..=nodes {
            let toml = host_config(radist, config, &cache, node);
            std::fs::write(dir.path().join(format!("node-{node}.toml")), toml)?;
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

fn host_config(radist: &RadistRemote, config: &ServiceConfig, cache: &Path, node: usize) -> String {
    let store = match config.store {
        StoreKind::Sqlite => "path = \"data/switchboard.db\"",
        StoreKind::Postgres => "url = { env = \"SB_BENCH_DATABASE_URL\" }",
    };
    let runtime = config
        .max_concurrent_runs
        .map(|n| format!("max_concurrent_runs = {n}\n"))
        .unwrap_or_default();
    format!(
        "config_version = 1\n[server]\nnode_id = \"bench-{node}\"\n[plugins]\nmanifests = \"manifests\"\n[runtime]\ncache_dir = {cache:?}\n{runtime}[store]\n{store}\ndurability = \"{}\"\n[webhook]\ntoken = {{ env = \"SB_BENCH_WEBHOOK_TOKEN\" }}\n[radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_BENCH_RADIST_KEY\" }}\ncompany_id = {}\n",
        config.durability.name(),
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
    stderr: Option<StderrTail>,
    pub webhook: String,
    pub startup: Duration,
}

impl Service {
    /// Starts the service with the host config `config` (and `database_url` in
    /// `$SB_BENCH_DATABASE_URL`) and waits for its announcement.
    pub fn start(
        binary: &Path,
        config: &Path,
        api_key: &str,
        database_url: Option<&str>,
    ) -> anyhow::Result<Service> {
        let started = Instant::now();
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", "127.0.0.1:0", "--drain-ms", "2000"])
            .env_remove("SWITCHBOARD_CONFIG")
            .env("SB_BENCH_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
            .env("SB_BENCH_RADIST_KEY", api_key)
            .env("SB_BENCH_DATABASE_URL", database_url.unwrap_or_default())
            .env("RUST_LOG", "warn");
        let launched = launcher::launch(command, START_BOUND, STDERR_KEPT)
            .map_err(|e| anyhow::anyhow!("switchboard serve did not start: {e}"))?;
        Ok(Service {
            child: launched.child,
            stderr: Some(launched.stderr),
            webhook: launched.announcement.webhook,
            startup: started.elapsed(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status and the last stderr lines (killed when it does not stop
    /// within 30 s).
    pub fn stop(mut self) -> anyhow::Result<(std::process::ExitStatus, String)> {
        launcher::signal(&self.child, "TERM").context("cannot signal the service")?;
        let status = match launcher::wait_exit(&mut self.child, Duration::from_secs(30))? {
            Some(status) => status,
            None => {
                self.child.kill()?;
                self.child.wait()?
            }
        };
        // The reader ends at EOF, which follows the exit.
        let lines = self.stderr.take().map(StderrTail::finish);
        Ok((status, lines.unwrap_or_default().join("\n")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(max_concurrent_runs: Option<u32>) -> switchboard_manifest::HostConfig {
        let radist = RadistRemote {
            base_url: "http://127.0.0.1:9".into(),
            api_key: "k".into(),
            company_id: 7,
        };
        let config = ServiceConfig {
            store: StoreKind::Sqlite,
            durability: Durability::Full,
            max_concurrent_runs,
        };
        let toml = host_config(&radist, &config, Path::new("/tmp/cache"), 1);
        switchboard_manifest::parse_host_config("node-1.toml", &toml)
            .unwrap_or_else(|problems| panic!("the bench writes a valid host config: {problems}"))
    }

    /// `--max-concurrent-runs` reaches the service's `[runtime]`; without it the service keeps
    /// its own default.
    #[test]
    fn the_host_config_carries_max_concurrent_runs() {
        assert_eq!(parsed(Some(256)).runtime.max_concurrent_runs, 256);
        let default = switchboard_manifest::parse_host_config("d.toml", "config_version = 1\n")
            .map(|c| c.runtime.max_concurrent_runs)
            .ok();
        assert_eq!(Some(parsed(None).runtime.max_concurrent_runs), default);
    }
}
