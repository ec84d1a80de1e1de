//! Two and three `switchboard serve` nodes on one PostgreSQL database, through the real binary
//! (issue 14, "Done when"): webhooks spread over the nodes by a round-robin balancer make one
//! run per subscribed plugin, a chat's runs keep arrival order across nodes, each cron slot fires
//! once, and a SIGKILLed node's runs move to a live node. The Radist sandbox runs in this test
//! process; its sent log is the customer's phone, so nothing in it may be doubled or reordered.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::cluster::{CONNECTION, Cluster, ClusterSpec, plugin_wasm, wait_for};

/// A generous bound on everything the tests wait for (never a timing assertion).
const BOUND: Duration = Duration::from_secs(60);
/// The plugin that answers each message with the message's sequence number.
const REPLIER: &str = "replier";
/// A second plugin subscribed to the same messages (sends nothing).
const BYSTANDER: &str = "bystander";

#[test]
fn webhooks_spread_over_two_and_three_nodes_make_one_run_per_plugin() {
    for nodes in [2, 3] {
        spread_over(nodes);
    }
}

/// `nodes` nodes; 100 messages in 20 chats, every webhook delivered twice (the copies go to
/// different nodes).
fn spread_over(nodes: usize) {
    const MESSAGES: usize = 100;
    let cluster = Cluster::start(chat_spec(nodes, MESSAGES, ""));
    assert_eq!(
        live_nodes(&cluster),
        cluster.node_ids(),
        "every node is live"
    );
    cluster.set_faults(json!({"webhook_duplicate": true}));
    let written = write_all(&cluster, MESSAGES, 20);
    let runs = cluster.settle(2 * MESSAGES, BOUND);
    let events = cluster.events("message.received");
    let stored: BTreeSet<String> = events.iter().map(message_id).collect();
    let sent_ids: BTreeSet<String> = written.iter().map(|w| w.message.clone()).collect();
    assert_eq!(stored, sent_ids, "one stored event per distinct message");
    assert_one_run_per_plugin(&runs, &events, &[REPLIER, BYSTANDER]);
    assert_each_reply_once(&cluster, &written);
    let executed: BTreeSet<&str> = runs.iter().filter_map(|r| r["node"].as_str()).collect();
    assert!(
        executed.len() > 1,
        "runs executed by one node only: {executed:?}"
    );
    let accepting: BTreeSet<String> = cluster.accepted().into_iter().map(|(n, _)| n).collect();
    assert_eq!(accepting.len(), nodes, "every node accepted webhooks");
    let split = duplicates_on_different_nodes(&cluster);
    assert!(
        split > 0,
        "no duplicate delivery reached two different nodes"
    );
}

#[test]
fn a_chats_runs_keep_arrival_order_across_nodes() {
    const MESSAGES: usize = 60;
    let cluster = Cluster::start(chat_spec(2, MESSAGES, ""));
    // Slow sends keep runs in flight, so a lane held by nobody would let them overlap.
    cluster.set_faults(json!({"latency_ms": 30, "paths": ["/messages/"]}));
    let written = write_all(&cluster, MESSAGES, 3);
    let runs = cluster.settle(2 * MESSAGES, BOUND);
    assert_each_reply_once(&cluster, &written);
    for (chat, seqs) in replies_per_chat(&cluster) {
        let arrived: Vec<usize> = written
            .iter()
            .filter(|w| w.chat == chat)
            .map(|w| w.seq)
            .collect();
        assert_eq!(seqs, arrived, "chat {chat}: replies out of arrival order");
    }
    let replier: Vec<&Value> = runs.iter().filter(|r| r["plugin"] == REPLIER).collect();
    let mut spread = 0;
    for (lane, runs) in lanes(&replier) {
        let ids: Vec<i64> = runs.keys().copied().collect();
        assert_one_at_a_time(&cluster, &lane, &ids);
        spread += usize::from(runs.values().collect::<BTreeSet<_>>().len() > 1);
    }
    assert!(
        spread > 0,
        "no chat's runs ran on two nodes: order across nodes is untested"
    );
}

#[test]
fn each_cron_slot_fires_once_across_nodes() {
    const SLOTS: usize = 5;
    let wasm = plugin_wasm("hostile");
    let spec = ClusterSpec {
        nodes: 3,
        manifests: vec![("ticker.toml".to_owned(), ticker_manifest(&wasm))],
        server_extra: String::new(),
    };
    let mut cluster = Cluster::start(spec);
    // Every node is up: wait for a few more slots, then stop them all.
    let before = cluster.events("schedule.fired").len();
    wait_for(BOUND, || {
        let fired = cluster.events("schedule.fired").len();
        let state = format!("{fired} slots fired, waiting for {}", before + SLOTS);
        if fired >= before + SLOTS {
            Ok(())
        } else {
            Err(state)
        }
    });
    cluster.stop_all();
    let left = cluster.cli_json(&["nodes", "--json"]);
    for node in left.as_array().expect("nodes") {
        assert!(
            node["live"] == false && node["left_at"].is_string(),
            "{node}"
        );
    }
    let runs = cluster.cli_json(&[
        "runs", "list", "--plugin", "ticker", "--limit", "500", "--json",
    ]);
    let mut per_slot: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for run in runs.as_array().expect("runs") {
        *per_slot.entry(slot_of(run)).or_default() += 1;
    }
    assert!(per_slot.len() >= SLOTS, "{per_slot:?}");
    let doubled: Vec<_> = per_slot.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        doubled.is_empty(),
        "slots fired more than once: {doubled:?}"
    );
    let slots: Vec<DateTime<Utc>> = per_slot.into_keys().collect();
    for pair in slots.windows(2) {
        let gap = pair[1] - pair[0];
        assert_eq!(
            gap,
            chrono::Duration::seconds(1),
            "slots skipped between {pair:?}"
        );
    }
}

#[test]
fn a_killed_node_hands_its_runs_to_a_live_node() {
    const MESSAGES: usize = 40;
    let mut cluster = Cluster::start(chat_spec(2, MESSAGES, "lease_s = 2\n"));
    let [a, b] = [0, 1].map(|i| cluster.node_ids()[i].clone());
    // Sends are slow (runs stay in flight), and some are processed but their answers lost.
    cluster.set_faults(json!({
        "latency_ms": 300,
        "drop_response": {"count": 6},
        "paths": ["/messages/"],
    }));
    let mut written = write_range(&cluster, 0..MESSAGES / 2, MESSAGES);
    let claimed_by_a = wait_for(BOUND, || {
        let running = running_on(&cluster, &a);
        if running.is_empty() {
            Err(format!("no run running on {a} yet"))
        } else {
            Ok(running)
        }
    });
    cluster.kill(0);
    written.extend(write_range(&cluster, MESSAGES / 2..MESSAGES, MESSAGES));
    let runs = cluster.settle(2 * MESSAGES, BOUND);
    let acknowledged = acknowledged_inbound(&cluster);
    let events = cluster.events("message.received");
    let stored: BTreeSet<String> = events.iter().map(message_id).collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(
        acknowledged.len(),
        MESSAGES,
        "every webhook acknowledged by a live node"
    );
    assert_one_run_per_plugin(&runs, &events, &[REPLIER, BYSTANDER]);
    let failed: Vec<&Value> = runs.iter().filter(|r| r["status"] != "succeeded").collect();
    assert!(failed.is_empty(), "runs that did not succeed: {failed:?}");
    assert_each_reply_once(&cluster, &written);
    assert_eq!(live_nodes(&cluster), vec![b.clone()], "{a}'s lease expired");
    let mut moved = 0;
    for id in &claimed_by_a {
        let attempts = attempts_of(&cluster, *id);
        let interrupted = attempts.iter().any(|(n, s)| n == &a && s == "interrupted");
        let last = attempts.last().map(|(n, _)| n.as_str());
        if interrupted {
            assert_eq!(
                last,
                Some(b.as_str()),
                "run {id}: interrupted on {a}, {attempts:?}"
            );
            moved += 1;
        }
    }
    assert!(
        moved > 0,
        "none of {a}'s runs {claimed_by_a:?} was taken over by {b}"
    );
}

/// One message a customer wrote.
struct Written {
    seq: usize,
    chat: i64,
    /// The Radist message id (the event's dedupe key ends with it).
    message: String,
}

/// `messages` messages in `chats` chats, round-robin over the chats.
fn write_all(cluster: &Cluster, messages: usize, chats: usize) -> Vec<Written> {
    (0..messages)
        .map(|seq| write_one(cluster, seq, &format!("7955{:07}", seq % chats)))
        .collect()
}

/// Messages `range`, each in its own chat.
fn write_range(cluster: &Cluster, range: std::ops::Range<usize>, chats: usize) -> Vec<Written> {
    range
        .map(|seq| write_one(cluster, seq, &format!("7956{:07}", seq % chats)))
        .collect()
}

fn write_one(cluster: &Cluster, seq: usize, phone: &str) -> Written {
    let receipt = cluster.write(phone, &format!("question {}", marker(seq)));
    Written {
        seq,
        chat: receipt.chat_id,
        message: receipt.message_id.to_string(),
    }
}

/// The text that identifies message `seq` in a message and in its reply.
fn marker(seq: usize) -> String {
    format!("#{seq}#")
}

/// The sequence number in a reply's text.
fn seq_of(text: &str) -> Option<usize> {
    let start = text.find("reply #")? + "reply #".len();
    let len = text[start..].find('#')?;
    text[start..start + len].parse().ok()
}

/// The nodes' manifests for chat tests: the replier and the bystander.
fn chat_spec(nodes: usize, messages: usize, server_extra: &str) -> ClusterSpec {
    let manifests = vec![
        (
            "replier.toml".to_owned(),
            replier_manifest(&plugin_wasm("auto-reply"), messages),
        ),
        (
            "bystander.toml".to_owned(),
            bystander_manifest(&plugin_wasm("hostile")),
        ),
    ];
    ClusterSpec {
        nodes,
        manifests,
        server_extra: server_extra.to_owned(),
    }
}

/// `auto-reply` with one rule per sequence number: `#n#` is answered with `reply #n#`.
fn replier_manifest(wasm: &Path, messages: usize) -> String {
    let rules: Vec<Value> = (0..messages)
        .map(|n| json!({"match": marker(n), "reply": format!("reply {}", marker(n))}))
        .collect();
    format!(
        "manifest_version = 1\n[plugin]\nname = \"{REPLIER}\"\nwasm = {wasm:?}\n\
         [[trigger]]\non = [\"message.received\"]\nconnections = [{CONNECTION}]\n\
         [capabilities]\nmessages = {{ connections = [{CONNECTION}], types = [\"text\"] }}\n\
         tags = {{ connections = [{CONNECTION}] }}\n\
         [limits]\nmemory_mib = 16\ntimeout_ms = 10000\nmax_attempts = 10\n\
         [config]\nrules = '''{}'''\n",
        Value::Array(rules)
    )
}

/// The hostile test plugin, which answers every non-manual event with success at once.
fn bystander_manifest(wasm: &Path) -> String {
    format!(
        "manifest_version = 1\n[plugin]\nname = \"{BYSTANDER}\"\nwasm = {wasm:?}\n\
         [[trigger]]\non = [\"message.received\"]\nconnections = [{CONNECTION}]\n\
         [capabilities]\nmessages = {{ connections = [{CONNECTION}], types = [\"text\"] }}\n\
         http = {{ allow = [\"http://127.0.0.1:1\"] }}\n"
    )
}

/// The hostile test plugin on a cron every second; every slot runs (overlap `allow`), and a
/// node that wakes late catches up on every slot instead of counting it missed.
fn ticker_manifest(wasm: &Path) -> String {
    format!(
        "manifest_version = 1\n[plugin]\nname = \"ticker\"\nwasm = {wasm:?}\n\
         [[trigger]]\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\noverlap = \"allow\"\n\
         catch_up = \"all\"\ncatch_up_window_s = 60\n\
         [capabilities]\nmessages = {{ connections = [{CONNECTION}], types = [\"text\"] }}\n\
         http = {{ allow = [\"http://127.0.0.1:1\"] }}\n"
    )
}

/// The Radist message id a `message.received` event was stored under.
fn message_id(event: &Value) -> String {
    let key = event["dedupe_key"].as_str().expect("dedupe key");
    key.strip_prefix("radist:messages.create:")
        .unwrap_or(key)
        .to_owned()
}

/// Every event has exactly one run of each plugin, and there are no other runs.
fn assert_one_run_per_plugin(runs: &[Value], events: &[Value], plugins: &[&str]) {
    let mut per_event: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for run in runs {
        let event = run["event_id"].as_i64().expect("event id");
        let plugin = run["plugin"].as_str().expect("plugin").to_owned();
        *per_event.entry((event, plugin)).or_default() += 1;
    }
    let mut expected = BTreeMap::new();
    for event in events {
        for plugin in plugins {
            let id = event["id"].as_i64().expect("event id");
            expected.insert((id, (*plugin).to_owned()), 1);
        }
    }
    assert_eq!(
        per_event, expected,
        "one run per (event, subscribed plugin)"
    );
}

/// Every message got its reply exactly once, in its own chat.
fn assert_each_reply_once(cluster: &Cluster, written: &[Written]) {
    let mut replies: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for sent in cluster.sent() {
        let seq = seq_of(&sent.request.to_string()).expect("a reply with a sequence number");
        replies.entry(seq).or_default().push(sent.chat_id);
    }
    let expected: BTreeMap<usize, Vec<i64>> =
        written.iter().map(|w| (w.seq, vec![w.chat])).collect();
    assert_eq!(replies, expected, "replies per message (chat of each send)");
}

/// Per chat, the sequence numbers of its replies in the order the customer received them.
fn replies_per_chat(cluster: &Cluster) -> BTreeMap<i64, Vec<usize>> {
    let mut per_chat: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for sent in cluster.sent() {
        let seq = seq_of(&sent.request.to_string()).expect("sequence number");
        per_chat.entry(sent.chat_id).or_default().push(seq);
    }
    per_chat
}

/// Per lane, its runs in arrival order (run id order) with the node that ran each.
fn lanes(runs: &[&Value]) -> BTreeMap<String, BTreeMap<i64, String>> {
    let mut lanes: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    for run in runs {
        let lane = run["lane"].as_str().expect("lane").to_owned();
        let id = run["run_id"].as_i64().expect("id");
        let node = run["node"].as_str().unwrap_or_default().to_owned();
        lanes.entry(lane).or_default().insert(id, node);
    }
    lanes
}

/// Each attempt of a lane starts after the previous one (in arrival order) ended.
fn assert_one_at_a_time(cluster: &Cluster, lane: &str, ids: &[i64]) {
    let mut previous_end: Option<DateTime<Utc>> = None;
    for id in ids {
        let detail = cluster.run(*id);
        for attempt in detail["attempts"].as_array().expect("attempts") {
            let start: DateTime<Utc> =
                serde_json::from_value(attempt["started_at"].clone()).expect("start");
            if let Some(end) = previous_end {
                assert!(
                    start >= end,
                    "lane {lane}: run {id} started before the previous ended"
                );
            }
            let us = attempt["duration_us"].as_i64().expect("duration");
            previous_end = Some(start + chrono::Duration::microseconds(us));
        }
    }
}

/// How many messages had their (duplicated) webhook accepted by two different nodes.
fn duplicates_on_different_nodes(cluster: &Cluster) -> usize {
    let mut nodes_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (node, body) in cluster.accepted() {
        if let Some(id) = body["event"]["message"]["message_id"].as_str() {
            nodes_of.entry(id.to_owned()).or_default().insert(node);
        }
    }
    nodes_of.values().filter(|nodes| nodes.len() > 1).count()
}

/// The runs `node` is executing now.
fn running_on(cluster: &Cluster, node: &str) -> Vec<i64> {
    cluster
        .runs()
        .iter()
        .filter(|r| r["status"] == "running" && r["node"] == node)
        .filter_map(|r| r["run_id"].as_i64())
        .collect()
}

/// The nodes `GET /api/nodes` lists as live, by name.
fn live_nodes(cluster: &Cluster) -> Vec<String> {
    let nodes = cluster.api("nodes");
    let nodes = nodes.as_array().expect("nodes");
    let live = nodes.iter().filter(|n| n["live"] == true);
    let mut names: Vec<String> = live
        .filter_map(|n| n["node"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// `(node, status)` of each attempt of run `id`, oldest first.
fn attempts_of(cluster: &Cluster, id: i64) -> Vec<(String, String)> {
    let detail = cluster.run(id);
    let attempts = detail["attempts"].as_array().expect("attempts");
    let field = |a: &Value, key: &str| a[key].as_str().unwrap_or_default().to_owned();
    attempts
        .iter()
        .map(|a| (field(a, "node"), field(a, "status")))
        .collect()
}

/// Inbound `messages.create` deliveries some node acknowledged, by message id.
fn acknowledged_inbound(cluster: &Cluster) -> BTreeSet<String> {
    cluster
        .deliveries("messages.create")
        .iter()
        .filter(|d| d.state == radist_sandbox::DeliveryState::Delivered)
        .filter(|d| d.payload["event"]["message"]["direction"] == "inbound")
        .filter_map(|d| d.message_id.clone())
        .collect()
}

/// The slot of a `ticker` run (the end of its lane under overlap `allow`).
fn slot_of(run: &Value) -> DateTime<Utc> {
    let lane = run["lane"].as_str().expect("lane");
    let slot = lane.rsplit('/').next().expect("slot");
    DateTime::parse_from_rfc3339(slot)
        .unwrap_or_else(|e| panic!("lane {lane}: {e}"))
        .to_utc()
}
