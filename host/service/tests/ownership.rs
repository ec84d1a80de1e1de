//! One owner per run, through the real binary: a second `serve` on the same SQLite file refuses
//! to start while the first lives and a restart after SIGKILL starts at once (the OS drops the
//! file lock with its holder), while history lists beside it stay capped at 500 rows; on PostgreSQL a second live process with the same node id
//! refuses, and a restart after a crash waits out the dead process's lease (saying so) before
//! it resumes that process's runs.

mod support;

use std::io::Read as _;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::Workdir;
use switchboard_store::pg_test_server;
use switchboard_testing::{build_plugins, repo_root};

/// A bound on a process refusing to start (a bound, not a measurement).
const BOUND: Duration = Duration::from_secs(90);

fn workdir(extra: &str) -> Workdir {
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    Workdir::with_manifests(&repo_root().join("manifests"), extra)
}

/// Runs `serve` expecting it to exit by itself within [`BOUND`]: its status and stderr.
fn refused_serve(work: &Workdir, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(work.path("switchboard.toml"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("CRM_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a second serve kept running beside the first");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    (status, stderr)
}

#[test]
fn a_second_serve_on_one_sqlite_file_refuses_and_a_restart_after_sigkill_starts_at_once() {
    let work = workdir("");
    let first = work.serve();
    let (status, stderr) = refused_serve(&work, &[]);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("another switchboard process is already serving the database")
            && stderr.contains("switchboard.db.lock"),
        "the refusal says why: {stderr}"
    );
    let listed = work.json(&["runs", "list"]);
    assert!(
        listed.is_array(),
        "history commands still read it: {listed}"
    );
    first.kill();
    let third = work.serve();
    let (exit, _) = third.terminate();
    assert!(
        exit.success(),
        "the restart after SIGKILL served and stopped"
    );
}

#[test]
fn on_postgresql_a_live_node_id_is_refused_and_a_crashed_ones_lease_is_waited_out() {
    let server = pg_test_server::shared()
        .unwrap_or_else(|e| panic!("cannot start the throwaway PostgreSQL server: {e}"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt
        .block_on(server.fresh_database())
        .expect("fresh database");
    let config = "url = { env = \"SB_OWNER_DB\" }\n[server]\nnode_id = \"same\"\nlease_s = 3\n";
    let work = workdir(config);
    let env = [("SB_OWNER_DB", url.as_str())];
    let first = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    let (status, stderr) = refused_serve(&work, &env);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("still holds a lease from a previous process")
            && stderr.contains("is served by another live switchboard process"),
        "it waited, saw the holder renew, and refused: {stderr}"
    );
    first.kill();
    let restarted = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    let (exit, lines) = restarted.terminate();
    assert!(exit.success(), "{lines:?}");
    let log = lines.join("\n");
    assert!(
        log.contains("still holds a lease from a previous process"),
        "the restart said it waits for the dead process's lease: {log}"
    );
}
