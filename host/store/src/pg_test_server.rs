//! A throwaway PostgreSQL server for tests and the benchmark harness (behind the `conformance`
//! feature): `initdb` into a temporary directory and `pg_ctl start` on a free loopback port with
//! trust authentication — for tests with `fsync=off` ([`PgTestServer::start`]), for benchmarks
//! with PostgreSQL's default durability ([`PgTestServer::start_durable`]), whose figures are
//! compared. One test server per test process ([`shared`]); each test takes a fresh database
//! from it ([`PgTestServer::fresh_database`]).
//!
//! `initdb` refuses to run as root, so as root every server command runs as the `postgres` user
//! (`runuser -u postgres --`) in a directory that user owns. The server is stopped when the test
//! process exits: a watchdog shell holds the read end of a pipe whose write end only this process
//! has, and runs `pg_ctl stop -m immediate` (then removes the directory) when it reads EOF. A
//! server owned by a [`PgTestServer`] value (not the shared one) is also stopped on drop.
//!
//! Binaries come from `$SWITCHBOARD_PG_BIN`, else `/usr/lib/postgresql/15/bin`. When the server
//! cannot be started, [`shared`] says why (tests then fail, never skip).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where PostgreSQL's server binaries are unless `$SWITCHBOARD_PG_BIN` says otherwise.
pub const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

/// How many ports are tried when another process takes the chosen one first.
const PORT_TRIES: usize = 3;

/// A running throwaway server.
#[derive(Debug)]
pub struct PgTestServer {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    /// PostgreSQL's default durability (fsync, synchronous commit, full page writes) instead of
    /// the test settings that turn them off.
    durable: bool,
    databases: AtomicU64,
    watchdog: Mutex<Option<Child>>,
}

static SHARED: OnceLock<Result<PgTestServer, String>> = OnceLock::new();

/// The process's server, started on first use; the error says why it could not start.
pub fn shared() -> Result<&'static PgTestServer, String> {
    SHARED
        .get_or_init(PgTestServer::start)
        .as_ref()
        .map_err(Clone::clone)
}

impl PgTestServer {
    /// Initialises and starts a new server from `$SWITCHBOARD_PG_BIN` (else [`DEFAULT_BIN`]).
    pub fn start() -> Result<PgTestServer, String> {
        Self::start_from(&Self::bin(), false)
    }

    /// Like [`PgTestServer::start`], with PostgreSQL's default durability (for benchmarks).
    pub fn start_durable() -> Result<PgTestServer, String> {
        Self::start_from(&Self::bin(), true)
    }

    fn bin() -> PathBuf {
        std::env::var_os("SWITCHBOARD_PG_BIN")
            .map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from)
    }

    /// Initialises and starts a new server with the binaries in `bin`.
    pub fn start_from(bin: &Path, durable: bool) -> Result<PgTestServer, String> {
        let bin = bin.to_path_buf();
        if !bin.join("initdb").exists() {
            return Err(format!(
                "{} is missing: install PostgreSQL 15 (`apt-get install -y postgresql`) or set SWITCHBOARD_PG_BIN",
                bin.join("initdb").display()
            ));
        }
        let as_postgres = run(Command::new("id").arg("-u"))?.trim() == "0";
        let dir = PathBuf::from(
            run(&mut prefixed(
                as_postgres,
                "mktemp",
                &["-d", "/tmp/switchboard-pg-XXXXXX"],
            ))?
            .trim(),
        );
        let mut server = PgTestServer {
            port: 0,
            dir,
            bin,
            as_postgres,
            durable,
            databases: AtomicU64::new(0),
            watchdog: Mutex::new(None),
        };
        server.init()?;
        server.launch()?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new empty database (`t_<n>`) and returns its URL.
    pub async fn fresh_database(&self) -> Result<String, String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{n}");
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!(
                        "cannot connect to the test server on port {}: {e}",
                        self.port
                    )
                })?;
        let driver = tokio::spawn(connection);
        let created = client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await;
        drop(client);
        driver.await.ok();
        created.map_err(|e| format!("cannot create database {name}: {e}"))?;
        Ok(self.url(&name))
    }

    /// The directory the server lives in (removed when it stops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's data directory (`postmaster.pid` names its process).
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Command {
        let path = self.bin.join(tool);
        prefixed(self.as_postgres, &path.to_string_lossy(), args)
    }

    fn init(&self) -> Result<(), String> {
        let data = self.data();
        let args = [
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ];
        run(&mut self.pg("initdb", &args)).map(drop)
    }

    /// Starts the server on a free port (trying another when it was taken meanwhile), then the
    /// watchdog that stops it when this process exits.
    fn launch(&mut self) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..PORT_TRIES {
            self.port = free_port()?;
            match self.pg_start() {
                Ok(()) => return self.start_watchdog(),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn pg_start(&self) -> Result<(), String> {
        let durability = if self.durable {
            ""
        } else {
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        };
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} {durability}-c unix_socket_directories={} -c max_connections=400",
            self.port,
            self.dir.display()
        );
        let data = self.data();
        let log = self.dir.join("server.log");
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
        run(&mut self.pg("pg_ctl", &args)).map(drop).map_err(|e| {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail.lines().rev().take(10).collect::<Vec<_>>().join("\n");
            format!("{e}\nserver log (last lines, newest first):\n{tail}")
        })
    }

    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "{} -D {} stop -m immediate",
            pg_ctl.display(),
            self.data().display()
        );
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        format!("{stop} >/dev/null 2>&1; rm -rf {}", self.dir.display())
    }

    fn start_watchdog(&self) -> Result<(), String> {
        let script = format!("cat >/dev/null; {}", self.stop_command());
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the server's watchdog: {e}"))?;
        if let Ok(mut slot) = self.watchdog.lock() {
            *slot = Some(child);
        }
        Ok(())
    }
}

impl Drop for PgTestServer {
    fn drop(&mut self) {
        // Closing the watchdog's stdin makes it stop the server and remove the directory.
        let child = self.watchdog.lock().ok().and_then(|mut slot| slot.take());
        match child {
            Some(mut child) => {
                drop(child.stdin.take());
                child.wait().ok();
            }
            // Never started (initdb or pg_ctl failed): only the directory is left.
            None => {
                std::fs::remove_dir_all(&self.dir).ok();
            }
        }
    }
}

/// `program args`, as the `postgres` user when `as_postgres`, in `/tmp`.
fn prefixed(as_postgres: bool, program: &str, args: &[&str]) -> Command {
    let mut cmd = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).current_dir(Path::new("/tmp"));
    cmd
}

/// Runs a command to completion; its stdout, or an error with its stderr.
fn run(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out: Output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
