//! The auto-reply example plugin end to end against the sandbox, with its shipped manifest:
//! keyword replies, WABA interactive buttons and lists, the template fallback on a closed WABA
//! window, and no answer to its own echoes.

use serde_json::Value;
use switchboard_testing::{Inbound, PluginHarness, RunStatus, TestPlugin, events, repo_root};

async fn start() -> (PluginHarness, TestPlugin) {
    let harness = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = harness
        .load(&repo_root().join("manifests/auto-reply.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    (harness, plugin)
}

async fn sent_to(h: &PluginHarness, chat_id: i64) -> Vec<Value> {
    h.sandbox()
        .sent(Some(chat_id))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_reply_reaches_the_sandbox() {
    let (h, plugin) = start().await;
    let (delivered, event) = h
        .inbound_text(70002, "79990001122", "Какие у вас часы работы?")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]["request"]
            .to_string()
            .contains("Мы работаем с 9:00 до 21:00"),
        "{}",
        sent[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_go_out_as_a_waba_interactive_message() {
    let (h, plugin) = start().await;
    let (delivered, event) = h
        .inbound_text(70001, "79990001123", "Сколько стоит доставка? ЦЕНА?")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = sent[0]["request"].to_string();
    assert!(request.contains("waba_interactive"), "{request}");
    assert!(
        request.contains("Доставка от 990")
            && request.contains("\"Да\"")
            && request.contains("\"Нет\""),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_go_out_as_a_waba_interactive_list() {
    let (h, plugin) = start().await;
    let (delivered, event) = h
        .inbound_text(70001, "79990001124", "какой размер выбрать")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let request = sent_to(&h, delivered.chat_id)
        .await
        .first()
        .map(|s| s["request"].to_string())
        .unwrap_or_default();
    assert!(
        request.contains("Размеры") && request.contains("\"M\""),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_waba_window_sends_the_fallback_template() {
    let (h, plugin) = start().await;
    let day_ago = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    let inbound = Inbound::from_phone(70001, "79990001125", "price?").at(&day_ago);
    let (delivered, event) = h.inbound(inbound, "79990001125", "price?").await.unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "only the template goes out: {sent:?}");
    let request = sent[0]["request"].to_string();
    assert!(
        request.contains("waba_template") && request.contains("welcome"),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_echoes_and_unmatched_texts_get_no_answer() {
    let (h, plugin) = start().await;
    let (delivered, _) = h.inbound_text(70001, "79990001126", "hello").await.unwrap();
    let echo = events::text(70001, delivered.chat_id, "price?")
        .own_echo()
        .sent();
    let outcome = h.run(&plugin, echo).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
    let operator = events::text(70001, delivered.chat_id, "price?")
        .outbound()
        .received();
    assert!(h.run(&plugin, operator).await.actions.is_empty());
    let (_, unmatched) = h
        .inbound_text(70001, "79990001126", "just saying hi")
        .await
        .unwrap();
    assert_eq!(h.run(&plugin, unmatched).await.status, RunStatus::Succeeded);
    assert!(sent_to(&h, delivered.chat_id).await.is_empty());
}
