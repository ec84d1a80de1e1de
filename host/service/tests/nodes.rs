//! Nodes and run ownership through the real binary: a node whose lease expired has its claimed
//! run taken over by a live `serve` on the same PostgreSQL database (no restart of the dead
//! node); `switchboard nodes` (table and `--json`) and `GET /api/nodes` list the nodes, live,
//! dead or left after a clean shutdown; nodes with different installation keys refuse to share
//! a database. One owner per run: a second `serve` on the same SQLite file refuses to start
//! while the first lives and a restart after SIGKILL starts at once (the OS drops the file lock
//! with its holder); on PostgreSQL a second live process with the same node id refuses, and a
//! restart after a crash waits out the dead process's lease (saying so) before it resumes that
//! process's runs; a process stopped past its lease whose node id was taken over stops when it
//! wakes; a node keeps its lease while a run outlives the drain timeout; and a node whose wall
//! clock runs a lease ahead (libfaketime) recovers no live node's run.

mod support;

use std::time::Duration;
use switchboard_store::prelude::*;

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use support::{Service, Workdir};
use switchboard_store::conformance::run;
use switchboard_store::pg_test_server;
use switchboard_store::{NewEvent, PostgresConfig, PostgresStore, RunId};
use switchboard_testing::{build_plugins, repo_root};

/// A bound on waiting for the take-over (a bound, not a measurement).
const BOUND: Duration = Duration::from_secs(60);

/// The shipped manifests with `extra` appended right after `[store] path`.
fn workdir(extra: &str) -> Workdir {
    build_plugins().unwrap_or_else(|e| panic!("{e}"));
    Workdir::with_manifests(&repo_root().join("manifests"), extra)
}

/// The shipped manifests for node `node_id` (lease `lease_s` seconds) on the PostgreSQL database
/// whose URL is in `SB_OWNER_DB`.
fn owner_workdir(node_id: &str, lease_s: u32) -> Workdir {
    workdir(&format!(
        "url = {{ env = \"SB_OWNER_DB\" }}\n[server]\nnode_id = \"{node_id}\"\nlease_s = {lease_s}\n"
    ))
}

/// A fresh database on the shared throwaway PostgreSQL server, and a runtime to reach it.
fn fresh_database() -> (tokio::runtime::Runtime, String) {
    let server = pg_test_server::shared()
        .unwrap_or_else(|e| panic!("cannot start the throwaway PostgreSQL server: {e}"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt
        .block_on(server.fresh_database())
        .expect("fresh database");
    (rt, url)
}

fn nodes_by_name(nodes: &Value) -> Vec<(String, bool, u64)> {
    nodes
        .as_array()
        .expect("a list of nodes")
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap_or_default().to_owned(),
                n["live"].as_bool().unwrap_or_default(),
                n["running"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

fn stdout(work: &Workdir, args: &[&str]) -> String {
    let out = work.switchboard(args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Seeds a run claimed by `node-dead`, whose 2 s lease ran out an hour ago.
async fn seed_dead_node(url: &str) -> RunId {
    let store = PostgresStore::connect(PostgresConfig::new(url))
        .await
        .expect("connect");
    let long_ago = Utc::now() - TimeDelta::hours(1);
    let event = NewEvent {
        dedupe_key: "manual:lease-test".to_owned(),
        kind: "manual".to_owned(),
        connection_id: None,
        chat_id: None,
        payload: r#"{"source":"manual","payload":"{}"}"#.to_owned(),
        received_at: long_ago,
    };
    let id = store
        .ingest(event, vec![run("auto-reply", "auto-reply:manual")])
        .await
        .expect("ingest")
        .run_ids[0];
    store
        .heartbeat("node-dead", Duration::from_secs(2), long_ago)
        .await
        .expect("heartbeat");
    let claimed = store.claim("node-dead", 1, long_ago).await.expect("claim");
    assert_eq!(claimed.len(), 1, "node-dead holds the run");
    id
}

#[test]
fn a_dead_nodes_run_is_taken_over_by_a_live_node() {
    let (rt, url) = fresh_database();
    let id = rt.block_on(seed_dead_node(&url));
    let work = workdir(
        "url = { env = \"SB_NODES_DB\" }\n[server]\nnode_id = \"node-live\"\nlease_s = 2\n",
    );
    let service = work.serve_with(&["--listen", "127.0.0.1:0"], &[("SB_NODES_DB", &url)]);
    let env_work = |args: &[&str]| cli_json(&work, &url, args);
    let detail = service.wait_for(BOUND, || {
        let d = env_work(&["runs", "show", &id.to_string()]);
        let status = d["run"]["status"].as_str().unwrap_or_default().to_owned();
        (!["queued", "running"].contains(&status.as_str())).then_some(d)
    });
    let attempts = detail["attempts"].as_array().expect("attempts");
    let by: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| {
            let node = a["node"].as_str().unwrap_or_default();
            (a["status"].as_str().unwrap_or_default(), node)
        })
        .collect();
    assert_eq!(by[0], ("interrupted", "node-dead"), "{detail}");
    assert_eq!(by.len(), 2, "{detail}");
    assert_eq!(by[1].1, "node-live", "the live node ran it: {detail}");
    let listed = nodes_by_name(&env_work(&["nodes"]));
    assert_eq!(
        listed,
        vec![
            ("node-dead".to_owned(), false, 0),
            ("node-live".to_owned(), true, 0)
        ]
    );
    let (status, api) = service.get_json(&format!("{}nodes", service.api));
    assert_eq!(status, 200, "{api}");
    assert_eq!(
        nodes_by_name(&api),
        listed,
        "the API says what the CLI says"
    );
    let (exit, _) = service.terminate();
    assert!(exit.success());
    let after = nodes_by_name(&env_work(&["nodes"]));
    assert_eq!(after[1], ("node-live".to_owned(), false, 0), "left");
}

/// `switchboard <args> --json` with the database URL in the environment.
fn cli_json(work: &Workdir, url: &str, args: &[&str]) -> Value {
    let mut all = vec![
        "--config".to_owned(),
        work.path("switchboard.toml").display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.push("--json".to_owned());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(&all)
        .env("SB_NODES_DB", url)
        .env_remove("SWITCHBOARD_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("switchboard runs");
    support::json_of(args, &out)
}

#[test]
fn nodes_shows_a_serving_node_live_then_left() {
    let work = workdir("[server]\nnode_id = \"solo\"\nlease_s = 5\n");
    assert!(stdout(&work, &["nodes"]).contains("no node has taken a lease yet"));
    let service: Service = work.serve();
    let listed = nodes_by_name(&work.json(&["nodes"]));
    assert_eq!(listed, vec![("solo".to_owned(), true, 0)]);
    let table = stdout(&work, &["nodes"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("solo"))
        .expect("a row");
    assert!(row.split_whitespace().nth(1) == Some("yes"), "{table}");
    assert!(table.starts_with("NODE"), "{table}");
    let (status, api) = service.get_json(&format!("{}nodes", service.api));
    assert_eq!((status, nodes_by_name(&api)), (200, listed));
    let (exit, _) = service.terminate();
    assert!(exit.success());
    let json = work.json(&["nodes"]);
    assert_eq!(json[0]["live"], Value::Bool(false));
    assert!(json[0]["left_at"].is_string(), "{json}");
    let table = stdout(&work, &["nodes"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("solo"))
        .expect("a row");
    assert_eq!(row.split_whitespace().nth(1), Some("left"), "{table}");
}

#[test]
fn nodes_with_different_installation_keys_refuse_to_share_a_database() {
    let (_rt, url) = fresh_database();
    let store = "url = { env = \"SB_NODES_DB\" }\n[server]\nnode_id = ";
    let first = workdir(&format!("{store}\"node-a\"\n"));
    let a = first.serve_with(&["--listen", "127.0.0.1:0"], &[("SB_NODES_DB", &url)]);
    // A second machine: its own cache directory, so a key of its own.
    let second = workdir(&format!("{store}\"node-b\"\n"));
    let (status, stderr) = second.refused_serve(
        &[("SB_NODES_DB", &url)],
        "serve kept running although its installation key differs",
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("installation key differs") && stderr.contains("runtime.key_file"),
        "the refusal says what to do: {stderr}"
    );
    // With node-a's key file, node-b joins.
    let key = first.path("cache.key");
    assert!(key.is_file(), "node-a keeps its key beside its cache");
    let shared = workdir(&format!("{store}\"node-b\"\n"));
    let config = shared.path("switchboard.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let with_key = text.replacen(
        "cache_dir = \"cache\"\n",
        &format!(
            "cache_dir = \"cache\"\nkey_file = {:?}\n",
            key.display().to_string()
        ),
        1,
    );
    assert_ne!(
        text, with_key,
        "the config names a cache_dir to put key_file beside"
    );
    std::fs::write(&config, with_key).expect("write config");
    let b = shared.serve_with(&["--listen", "127.0.0.1:0"], &[("SB_NODES_DB", &url)]);
    let live: Vec<String> = nodes_by_name(&cli_json(&shared, &url, &["nodes"]))
        .into_iter()
        .filter(|(_, live, _)| *live)
        .map(|(node, _, _)| node)
        .collect();
    assert_eq!(live, ["node-a", "node-b"]);
    for service in [a, b] {
        let (exit, _) = service.terminate();
        assert!(exit.success());
    }
}

#[test]
fn a_second_serve_on_one_sqlite_file_refuses_and_a_restart_after_sigkill_starts_at_once() {
    let work = workdir("");
    let first = work.serve();
    let (status, stderr) = work.refused_serve(&[], "a second serve kept running beside the first");
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
    let (_rt, url) = fresh_database();
    let work = owner_workdir("same", 3);
    let env = [("SB_OWNER_DB", url.as_str())];
    let first = work.serve_with(&["--listen", "127.0.0.1:0"], &env);
    let (status, stderr) = work.refused_serve(&env, "a second serve kept running beside the first");
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

/// A process stopped (SIGSTOP) for longer than its lease while a new process with its node id
/// takes over: on SIGCONT its heartbeat finds the lease lost, it stops claiming and exits with a
/// failure, and the new holder's lease stands.
#[test]
fn a_process_cut_off_past_its_lease_whose_node_id_was_taken_over_stops() {
    let (_rt, url) = fresh_database();
    let work = owner_workdir("same", 2);
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
    let (_rt, url) = fresh_database();
    let work = owner_workdir("slow", 30);
    let env = [("SB_OWNER_DB", url.as_str())];
    let service = work.serve_with(&["--listen", "127.0.0.1:0", "--drain-ms", "300"], &env);
    let faults = serde_json::json!({"latency_ms": 60_000, "paths": ["/messages/"]});
    service.faults(&faults);
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
    let (_rt, url) = fresh_database();
    let held = seed_live_node(&url);
    let work = owner_workdir("node-ahead", 2);
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
