//! A throwaway PostgreSQL 15 server for `--store postgres`, in the manner of
//! `switchboard_store::pg_test_server` but with PostgreSQL's default durability (`fsync = on`,
//! `synchronous_commit = on`, full page writes), since its figures are meant to be compared:
//! `initdb` into a temporary directory (as the `postgres` user when the harness runs as root),
//! `pg_ctl -w start` on a free loopback port, one database for the service.
//!
//! The server is stopped when the harness exits, however it exits: a watchdog shell holds the
//! read end of a pipe only this process writes to and runs `pg_ctl stop` when it reads EOF.
//!
//! It also reads what PostgreSQL costs: the CPU time of the postmaster and every backend
//! (`/proc`), transactions committed, WAL bytes written and rows written.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use serde::Serialize;

use crate::machine;

/// Where PostgreSQL's binaries are unless `$SWITCHBOARD_PG_BIN` says otherwise.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The service's database.
pub const DATABASE: &str = "switchboard_bench";

/// A running server.
pub struct PgServer {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
}

/// PostgreSQL's cumulative counters at one instant.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PgCounters {
    /// Transactions committed in the service's database (`pg_stat_database`; the statistics
    /// collector publishes a busy backend's counts about once a second).
    pub commits: u64,
    /// WAL bytes written since the server started (`pg_current_wal_lsn`).
    pub wal_bytes: u64,
    /// Rows inserted, updated and deleted in the service's tables (`pg_stat_user_tables`).
    pub rows_written: u64,
    /// The service's database on disk (`pg_database_size`); in a difference, its growth.
    pub db_bytes: u64,
}

impl PgCounters {
    /// What happened between `before` and `self`.
    pub fn since(self, before: PgCounters) -> PgCounters {
        PgCounters {
            commits: self.commits.saturating_sub(before.commits),
            wal_bytes: self.wal_bytes.saturating_sub(before.wal_bytes),
            rows_written: self.rows_written.saturating_sub(before.rows_written),
            db_bytes: self.db_bytes.saturating_sub(before.db_bytes),
        }
    }
}

impl PgServer {
    /// Initialises and starts a server and creates [`DATABASE`].
    pub async fn start() -> anyhow::Result<PgServer> {
        let bin = std::env::var_os("SWITCHBOARD_PG_BIN")
            .map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from);
        anyhow::ensure!(
            bin.join("initdb").is_file(),
            "{} is missing: install PostgreSQL 15 (`apt-get install -y postgresql`) or set SWITCHBOARD_PG_BIN",
            bin.join("initdb").display()
        );
        let root = run(Command::new("id").arg("-u"))?.trim() == "0";
        let dir = run(&mut as_owner(
            root,
            "mktemp",
            &["-d", "/tmp/switchboard-bench-pg-XXXXXX"],
        ))?;
        let mut server = PgServer {
            port: 0,
            dir: PathBuf::from(dir.trim()),
            watchdog: None,
        };
        server.init(root, &bin)?;
        server.launch(root, &bin)?;
        server.create_database().await?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn init(&self, root: bool, bin: &Path) -> anyhow::Result<()> {
        let data = self.data();
        let args = [
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
        ];
        let extra = ["-E", "UTF8", "--locale=C"];
        let all: Vec<&str> = args.iter().chain(extra.iter()).copied().collect();
        run(&mut as_owner(
            root,
            &bin.join("initdb").to_string_lossy(),
            &all,
        ))
        .map(drop)
    }

    /// `pg_ctl start` on a free port (another is tried if it was taken meanwhile), then the
    /// watchdog.
    fn launch(&mut self, root: bool, bin: &Path) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..3 {
            self.port = free_port()?;
            match self.pg_ctl_start(root, bin) {
                Ok(()) => return self.watch(root, bin),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("pg_ctl start failed")))
    }

    fn pg_ctl_start(&self, root: bool, bin: &Path) -> anyhow::Result<()> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let (data, log) = (self.data(), self.dir.join("server.log"));
        let args = [
            "-D",
            &data.to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            "start",
        ];
        let pg_ctl = bin.join("pg_ctl");
        run(&mut as_owner(root, &pg_ctl.to_string_lossy(), &args))
            .map(drop)
            .with_context(|| {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                format!(
                    "PostgreSQL did not start; its log, newest first:\n{}",
                    tail.join("\n")
                )
            })
    }

    fn watch(&mut self, root: bool, bin: &Path) -> anyhow::Result<()> {
        let stop = format!(
            "{} -D {} stop -m fast",
            bin.join("pg_ctl").display(),
            self.data().display()
        );
        let stop = if root {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        let script = format!(
            "cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the PostgreSQL watchdog (sh)")?;
        self.watchdog = Some(child);
        Ok(())
    }

    async fn client(&self, database: &str) -> anyhow::Result<tokio_postgres::Client> {
        let url = self.url(database);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL on port {}", self.port))?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let client = self.client("postgres").await?;
        client
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await
            .context("cannot create the benchmark database")
    }

    /// The counters now.
    pub async fn counters(&self) -> anyhow::Result<PgCounters> {
        let client = self.client(DATABASE).await?;
        let row = client
            .query_one(
                "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
                        pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                        (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint
                           FROM pg_stat_user_tables),
                        pg_database_size(current_database())",
                &[],
            )
            .await
            .context("cannot read PostgreSQL's statistics")?;
        let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(PgCounters {
            commits: count(0),
            wal_bytes: count(1),
            rows_written: count(2),
            db_bytes: count(3),
        })
    }

    /// CPU time of the postmaster and its processes: its own, that of the children it has
    /// reaped, and that of every live child (the backends serving the nodes' pools).
    pub fn cpu_time(&self, ticks: u64) -> Option<std::time::Duration> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        let own = machine::cpu_time_with_reaped(pid, ticks)?;
        let children: std::time::Duration = machine::children(pid)
            .into_iter()
            .filter_map(|c| machine::cpu_time(c, ticks))
            .sum();
        Some(own + children)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Closing the watchdog's stdin makes it stop the server and remove the directory.
        if let Some(mut child) = self.watchdog.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

/// `program args` in `/tmp`, as the `postgres` user when the harness runs as root (`initdb`
/// refuses root).
fn as_owner(root: bool, program: &str, args: &[&str]) -> Command {
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).current_dir("/tmp");
    cmd
}

/// Runs a command to completion: its stdout, or an error with its stderr.
fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_starts_counts_its_work_and_is_removed_when_dropped() {
        let server = PgServer::start()
            .await
            .expect("PostgreSQL 15 must start here");
        let dir = server.dir.clone();
        let before = server.counters().await.expect("counters");
        let client = server.client(DATABASE).await.expect("connect");
        client
            .batch_execute(
                "CREATE TABLE t (id bigint PRIMARY KEY, body text);
                 INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;",
            )
            .await
            .expect("write");
        let after = server.counters().await.expect("counters").since(before);
        assert!(after.wal_bytes > 100_000, "{after:?}");
        assert!(after.db_bytes > 0, "{after:?}");
        let cpu = server.cpu_time(machine::ticks_per_second());
        assert!(
            cpu.is_some_and(|c| c > std::time::Duration::ZERO),
            "{cpu:?}"
        );
        drop(client);
        drop(server);
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}
