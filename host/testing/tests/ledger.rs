//! The action ledger through a real plugin (`hostile` in `send` mode) and the real sandbox: a
//! send cut off by the run's timeout is in the run as in flight and still reaches the journal,
//! and a send whose answer was lost is found in the chat on the retry instead of being repeated.

use std::path::PathBuf;

use serde_json::{Value, json};
use switchboard_runtime::event::RunInfo;
use switchboard_testing::{
    ActionOutcome, ActionRecord, PluginHarness, RunOutcome, RunStatus, TestPlugin, events,
    repo_root,
};

fn hostile_manifest() -> PathBuf {
    repo_root().join("host/testing/manifests/hostile.toml")
}

/// The hostile plugin with `timeout_ms` as its run timeout.
fn hostile(h: &PluginHarness, timeout_ms: u32) -> TestPlugin {
    let file = hostile_manifest();
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replace("timeout_ms = 500", &format!("timeout_ms = {timeout_ms}"));
    h.load_with(&file, Some(&text), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An open WABA chat (the customer just wrote).
async fn chat(h: &PluginHarness) -> i64 {
    let (delivered, _) = h
        .inbound_text(70001, "79990001122", "когда доставка?")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    delivered.chat_id
}

/// Runs `send` of `text` to `chat` as attempt `attempt` of run `run`.
async fn send(
    h: &PluginHarness,
    plugin: &TestPlugin,
    run: &str,
    attempt: u32,
    chat: i64,
    text: &str,
) -> RunOutcome {
    let payload = json!({"mode": "send", "connection_id": 70001, "chat_id": chat, "text": text});
    let info = RunInfo {
        run_id: run.to_owned(),
        event_id: format!("event-{run}"),
        attempt,
        is_replay: false,
    };
    h.run_as(plugin, events::manual(&payload), info).await
}

/// A harness whose sandbox has `faults`, the hostile plugin with `timeout_ms`, and a chat.
async fn with_faults(timeout_ms: u32, faults: &Value) -> (PluginHarness, TestPlugin, i64) {
    let h = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = hostile(&h, timeout_ms);
    let chat = chat(&h).await;
    set_faults(&h, faults).await;
    (h, plugin, chat)
}

async fn set_faults(h: &PluginHarness, faults: &Value) {
    h.sandbox()
        .faults(faults)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The messages the sandbox took for `chat`.
async fn sent(h: &PluginHarness, chat: i64) -> Vec<Value> {
    h.sandbox()
        .sent(Some(chat))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The run's `messages.send` action.
fn send_action(outcome: &RunOutcome) -> &ActionRecord {
    outcome
        .actions
        .iter()
        .find(|a| a.kind == "messages.send")
        .unwrap_or_else(|| panic!("the send is in the run: {:?}", outcome.actions))
}

/// Attempt 1 of run `run` fails (its answer is lost), attempt 2 succeeds; returns attempt 2.
async fn lost_then_retried(
    h: &PluginHarness,
    plugin: &TestPlugin,
    run: &str,
    chat: i64,
    text: &str,
) -> RunOutcome {
    let first = send(h, plugin, run, 1, chat, text).await;
    assert!(
        matches!(first.status, RunStatus::Failed(_)),
        "{:?}",
        first.status
    );
    let retry = send(h, plugin, run, 2, chat, text).await;
    assert_eq!(retry.status, RunStatus::Succeeded, "{:?}", retry.logs);
    retry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cut_off_by_the_run_timeout_is_in_flight_and_journaled_when_it_returns() {
    let slow_sends = json!({"latency_ms": 6_000, "paths": ["messaging/messages"]});
    let (h, plugin, chat) = with_faults(2_000, &slow_sends).await;
    let outcome = send(&h, &plugin, "run-slow", 1, chat, "ваш заказ в пути").await;
    assert_eq!(outcome.status, RunStatus::TimedOut, "{:?}", outcome.logs);
    let action = send_action(&outcome);
    assert_eq!(action.outcome, ActionOutcome::InFlight);
    let entry = h.journal().settled("run-slow", action.seq).await;
    let id = entry.effect_id.expect("the journal has the message id");
    let sent = sent(&h, chat).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["message_id"].as_str(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_answer_was_lost_is_found_in_the_chat_on_the_retry() {
    let lost_answer = json!({"drop_response": {"count": 1}, "paths": ["messaging/messages"]});
    let (h, plugin, chat) = with_faults(5_000, &lost_answer).await;
    let retry = lost_then_retried(&h, &plugin, "run-lost", chat, "ваш заказ в пути").await;
    let sent = sent(&h, chat).await;
    assert_eq!(sent.len(), 1, "the customer got one message: {sent:?}");
    let id = sent[0]["message_id"].as_str().unwrap_or_default();
    let action = send_action(&retry);
    assert!(action.replayed);
    assert_eq!(action.effect_id.as_deref(), Some(id));
    let decision = format!("delivered: found message {id} in the chat");
    assert_eq!(action.decision.as_deref(), Some(decision.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_back_never_takes_another_runs_identical_reply_for_its_own() {
    let h = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = hostile(&h, 5_000);
    let chat = chat(&h).await;
    let text = "спасибо, мы скоро ответим";
    let earlier = send(&h, &plugin, "run-earlier", 1, chat, text).await;
    assert_eq!(earlier.status, RunStatus::Succeeded, "{:?}", earlier.logs);
    let lost_answer = json!({"drop_response": {"count": 1}, "paths": ["messaging/messages"]});
    set_faults(&h, &lost_answer).await;
    let retry = lost_then_retried(&h, &plugin, "run-later", chat, text).await;
    let sent = sent(&h, chat).await;
    assert_eq!(sent.len(), 2, "one reply per run, none repeated: {sent:?}");
    let ids: Vec<&str> = sent
        .iter()
        .map(|m| m["message_id"].as_str().unwrap_or_default())
        .collect();
    let effect = |outcome: &RunOutcome| {
        let action = send_action(outcome);
        let effect = action.effect_id.clone();
        effect.unwrap_or_else(|| panic!("a send with an effect: {action:?}"))
    };
    let (mine, theirs) = (effect(&retry), effect(&earlier));
    assert_ne!(
        mine, theirs,
        "the retry found its own message, not run-earlier's"
    );
    assert!(
        ids.contains(&mine.as_str()) && ids.contains(&theirs.as_str()),
        "{ids:?}"
    );
}
