//! One owner per run, through the real binary: a second `serve` on the same SQLite file refuses
//! to start while the first lives and a restart after SIGKILL starts at once (the OS drops the
//! file lock with its holder), while history lists beside it stay capped at 500 rows. On
//! PostgreSQL: a second live process with the same node id refuses; a restart after a crash
//! waits out the dead process's lease (saying so) before it resumes that process's runs; a
//! process stopped past its lease whose node id was taken over stops when it wakes; a node
//! keeps its lease while a run outlives the drain timeout; and a node whose wall clock runs a
//! lease ahead (libfaketime) recovers no live node's run.

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

/// A fresh PostgreSQL database on the shared throwaway server.
fn fresh_database() -> String {
    let server = pg_test_server::shared()
        .unwrap_or_else(|e| panic!("cannot start the throwaway PostgreSQL server: {e}"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(server.fresh_database())
        .expect("fresh database")
}

/// A process stopped (SIGSTOP) for longer than its lease while a new process with its node id
/// takes over: on SIGCONT its heartbeat finds the lease lost, it stops claiming and exits with a
/// failure, and the new holder's lease stands.
#[test]
fn a_process_cut_off_past_its_lease_whose_node_id_was_taken_over_stops() {
    let url = fresh_database();
    let config = "url = { env = \"SB_OWNER_DB\" }\n[server]\nnode_id = \"same\"\nlease_s = 2\n";
    let work = workdir(config);
    let env = [("SB_OWNER_DB", url.as_str())];
    let old = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    support::signal(&old.child, "STOP");
    let new = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    support::signal(&old.child, "CONT");
    let (status, lines) = old.exit_within(BOUND);
    let log = lines.join("\n");
    assert!(
        !status.success(),
        "losing the lease is a failure exit: {log}"
    );
    assert!(
        log.contains("another switchboard process took node `same`'s lease"),
        "{log}"
    );
    let nodes = work.json_with(&["nodes"], &env);
    let same = &nodes.as_array().expect("nodes")[0];
    assert_eq!(same["node"], "same");
    assert_eq!(same["live"], true, "the new holder's lease stands: {nodes}");
    let (exit, lines) = new.terminate();
    assert!(exit.success(), "{lines:?}");
}

/// After SIGTERM, a run still executing when the drain timeout ends keeps this node's lease
/// alive: the node does not leave, so no other node recovers the run while it may still act.
#[test]
fn a_node_keeps_its_lease_while_a_run_outlives_the_drain_timeout() {
    let url = fresh_database();
    let config = "url = { env = \"SB_OWNER_DB\" }\n[server]\nnode_id = \"slow\"\nlease_s = 30\n";
    let work = workdir(config);
    let env = [("SB_OWNER_DB", url.as_str())];
    let service = work.serve_with(&["--listen", "127.0.0.1:0", "--drain-ms", "300"], &env);
    let faults = serde_json::json!({"latency_ms": 60_000, "paths": ["/messages/"]});
    let set = service
        .http
        .post(service.control("faults"))
        .json(&faults)
        .send();
    assert!(set.expect("faults").status().is_success());
    service.inbound(70001, "79000000042", "price?");
    service.wait_for(BOUND, || {
        let runs = work.json_with(&["runs", "list", "--status", "running"], &env);
        (!runs.as_array().is_none_or(Vec::is_empty)).then_some(())
    });
    let (_, lines) = service.terminate();
    let log = lines.join("\n");
    assert!(log.contains("keeping this node's lease"), "{log}");
    let nodes = work.json_with(&["nodes"], &env);
    let slow = &nodes.as_array().expect("nodes")[0];
    assert_eq!(slow["node"], "slow", "{nodes}");
    assert_eq!(slow["live"], true, "the lease was kept, not ended: {nodes}");
    assert!(slow["left_at"].is_null(), "{nodes}");
}

/// libfaketime, which runs a process with its wall clock shifted (Debian's `faketime`).
fn faketime_library() -> std::path::PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("libfaketime is missing; install it with: apt-get install -y faketime")
    })
}

/// Seeds a run claimed by `node-other`, whose lease (60 s on the database's clock) is live.
fn seed_live_node(url: &str) -> i64 {
    use switchboard_store::conformance::run;
    use switchboard_store::{NewEvent, PostgresConfig, PostgresStore, Store};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = PostgresStore::connect(PostgresConfig::new(url))
            .await
            .expect("connect");
        let now = store.clock().await.expect("clock");
        let event = NewEvent {
            dedupe_key: "manual:skew-test".to_owned(),
            kind: "manual".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: r#"{"source":"manual","payload":"{}"}"#.to_owned(),
            received_at: now,
        };
        let runs = vec![run("auto-reply", "auto-reply:manual")];
        let id = store.ingest(event, runs).await.expect("ingest").run_ids[0];
        store
            .heartbeat("node-other", Duration::from_secs(60), now)
            .await
            .expect("heartbeat");
        let claimed = store.claim("node-other", 1, now).await.expect("claim");
        assert_eq!(claimed.len(), 1, "node-other holds the run");
        id.0
    })
}

/// A node whose wall clock runs 90 s ahead (more than the other node's 60 s lease) judges
/// leases on the database's clock: through several recovery passes it takes over nothing from
/// the live node, and it warns that its clock is off.
#[test]
fn a_node_whose_clock_runs_a_lease_ahead_recovers_no_live_nodes_run() {
    let faketime = faketime_library();
    let url = fresh_database();
    let held = seed_live_node(&url);
    let config =
        "url = { env = \"SB_OWNER_DB\" }\n[server]\nnode_id = \"node-ahead\"\nlease_s = 2\n";
    let work = workdir(config);
    let preload = faketime.to_string_lossy();
    let env = [("SB_OWNER_DB", url.as_str())];
    let skewed = [
        env[0],
        ("LD_PRELOAD", &*preload),
        ("FAKETIME", "+90s"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    let service = work.serve_with(&["--listen", "127.0.0.1:0"], &skewed);
    let mut beats = std::collections::BTreeSet::new();
    service.wait_for(BOUND, || {
        let nodes = work.json_with(&["nodes"], &env);
        let ahead = nodes
            .as_array()?
            .iter()
            .find(|n| n["node"] == "node-ahead")?
            .clone();
        beats.insert(ahead["heartbeat_at"].as_str()?.to_owned());
        (beats.len() >= 3).then_some(())
    });
    let shown = work.json_with(&["runs", "show", &held.to_string()], &env);
    let run = &shown["run"];
    assert_eq!(run["status"], "running", "{shown}");
    assert_eq!(run["node"], "node-other", "never recovered: {shown}");
    assert_eq!(run["attempt"], 1, "never recovered: {shown}");
    assert_eq!(shown["attempts"], serde_json::json!([]), "{shown}");
    let (exit, lines) = service.terminate();
    let log = lines.join("\n");
    assert!(exit.success(), "{log}");
    assert!(
        log.contains("s ahead of the database's"),
        "the skewed node warned (and so really ran 90 s ahead): {log}"
    );
}
