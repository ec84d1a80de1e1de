//! Send: validation, delivery webhooks to a local receiver, templates, the WABA 24-hour window
//! under its three policies, availability, the dialog balance, and the sent log.

mod common;

use chrono::{Duration, Utc};
use common::{Env, eventually, fast_config};
use radist_sandbox::control::SettingsUpdate;
use radist_sandbox::{DeliveryState, NonWabaAvailability, WindowPolicy};
use serde_json::{Value, json};

async fn open_waba_chat(env: &Env, phone: &str) -> Value {
    env.inbound(json!({"connection_id": 70001, "phone": phone, "text": "hello", "name": "Ivan"}))
        .await["chat_id"]
        .clone()
}

async fn stale_waba_chat(env: &Env, phone: &str) -> Value {
    let at = (Utc::now() - Duration::hours(25)).to_rfc3339();
    env.inbound(json!({"connection_id": 70001, "phone": phone, "text": "old", "created_at": at}))
        .await["chat_id"]
        .clone()
}

#[tokio::test]
async fn send_emits_create_delivered_and_read_webhooks() {
    let env = Env::start().await;
    let rx = env.subscribed(70001, 0).await;
    let chat = open_waba_chat(&env, "79001110000").await;
    let (status, sent) = env.send_message(json!({"chat_id": chat, "message_type": "text", "text": {"text": "Hi!"}, "connection_id": 70001, "mode": "sync"})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["mode"], "sync");
    assert_eq!(sent["chat"]["id"], chat);
    let message = &sent["message"];
    assert_eq!(
        (
            message["direction"].clone(),
            message["text"]["text"].clone()
        ),
        (json!("outbound"), json!("Hi!"))
    );
    assert!(
        message["source_message_id"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );
    let id = message["message_id"].clone();
    let created = rx.wait("messages.create", 2).await;
    assert_eq!(created[0]["event"]["message"]["direction"], "inbound");
    assert_eq!(created[1]["event"]["message"]["message_id"], id);
    assert_eq!(created[1]["event"]["chat_id"], chat);
    assert_eq!(created[1]["event"]["chat"]["phone"], "79001110000");
    let read = rx.wait("messages.delivery.read", 1).await;
    assert!(read[0]["event"]["message"]["read_at"].is_string());
    let delivered = rx.of("messages.delivery.delivered");
    assert!(delivered[0]["event"]["message"]["delivered_at"].is_string());
    let sent_log = env.ctl().sent(chat.as_i64()).await.unwrap();
    assert_eq!(
        sent_log[0].request["connection_id"], 70001,
        "request kept as received"
    );
    assert!(sent_log[0].message["read_at"].is_string());
    let deliveries = env.ctl().webhook_deliveries(None).await.unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered && d.attempts[0].status == Some(200))
    );
}

#[tokio::test]
async fn unknown_chat_is_404_and_bad_interactive_is_422_with_json_path() {
    let env = Env::start().await;
    let (status, _) = env.send_text(&json!(38999999), "x").await;
    assert_eq!(status, 404);
    let chat = open_waba_chat(&env, "79001110001").await;
    let body = json!({"chat_id": chat, "message_type": "waba_interactive", "waba_interactive": {"type": "button", "body": "Pick",
        "action": {"buttons": [{"reply": {"id": "a", "title": "This title is far too long"}}]}}});
    let (status, out) = env.send_message(body).await;
    assert_eq!(status, 422);
    assert_eq!(
        out["detail"][0]["loc"],
        json!([
            "body",
            "waba_interactive",
            "action",
            "buttons",
            0,
            "reply",
            "title"
        ])
    );
    assert_eq!(out["detail"][0]["type"], "string_too_long");
    let ok = json!({"chat_id": chat, "message_type": "waba_interactive", "waba_interactive": {"type": "button", "body": "Pick",
        "action": {"buttons": [{"reply": {"title": "Yes"}}]}}});
    let (status, out) = env.send_message(ok).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["message"]["waba_interactive"]["body"]["text"], "Pick");
    assert_eq!(
        out["message"]["waba_interactive"]["action"]["buttons"][0]["reply"]["id"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    let (status, out) = env
        .send_message(json!({"chat_id": chat, "message_type": "image"}))
        .await;
    assert_eq!(
        (status, out["detail"][0]["loc"].clone()),
        (422, json!(["body", "image"]))
    );
}

#[tokio::test]
async fn template_must_exist_be_approved_and_get_its_params() {
    let env = Env::start().await;
    let chat = stale_waba_chat(&env, "79001110002").await;
    let send = |name: &str, locale: &str, params: Value| {
        json!({"chat_id": chat, "message_type": "waba_template",
        "waba_template": {"template_name": name, "template_locale": locale, "body_params": params}})
    };
    let (status, out) = env
        .send_message(send("order_ready", "ru", json!(["A-1"])))
        .await;
    assert_eq!(
        (status, out["detail"][0]["loc"].clone()),
        (422, json!(["body", "waba_template", "body_params"]))
    );
    let (status, _) = env.send_message(send("promo", "ru", json!(["10"]))).await;
    assert_eq!(status, 422, "SUBMITTED template");
    let (status, _) = env
        .send_message(send("order_ready", "en", json!(["A", "B"])))
        .await;
    assert_eq!(status, 422, "unknown locale");
    let (status, out) = env
        .send_message(send("order_ready", "ru", json!(["A-1", "18:00"])))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["message"]["waba_template"]["text"],
        "Заказ A-1 готов, заберите его до 18:00"
    );
    let (status, _) = env.send_message(send("welcome", "en", json!([]))).await;
    assert_eq!(status, 200, "template passes a closed window");
    let tg = env.chat(70002, "79001110003", "x").await;
    let (status, _) = env
        .send_message(json!({"chat_id": tg, "message_type": "waba_template",
        "waba_template": {"template_name": "welcome", "template_locale": "en"}}))
        .await;
    assert_eq!(status, 422, "templates are WABA-only");
}

#[tokio::test]
async fn closed_window_default_accepts_then_reports_delivery_error() {
    let env = Env::start().await;
    let rx = env.subscribed(70001, 0).await;
    let chat = stale_waba_chat(&env, "79001110004").await;
    let (_, avail) = env
        .get(&format!("/messaging/chats/70001/{chat}/availability"))
        .await;
    assert_eq!(avail["is_available"], false);
    assert_eq!(avail["waba"]["dialogs_available"], true);
    let (status, out) = env.send_text(&chat, "late reply").await;
    assert_eq!(status, 200, "{out}");
    let errors = rx.wait("messages.delivery.error", 1).await;
    let message = &errors[0]["event"]["message"];
    assert_eq!(message["error_type"], "GENERIC_ERROR");
    assert!(message["error_text"].as_str().unwrap().contains("24 hours"));
    assert!(rx.of("messages.delivery.delivered").is_empty());
    // A fresh inbound reopens the window.
    env.text_from(70001, "79001110004", "back").await;
    let (_, avail) = env
        .get(&format!("/messaging/chats/70001/{chat}/availability"))
        .await;
    assert_eq!(avail["is_available"], true);
}

#[tokio::test]
async fn closed_window_reject_and_allow_policies() {
    let mut config = fast_config();
    config.window_policy = WindowPolicy::Reject;
    let env = Env::with(config).await;
    let chat = stale_waba_chat(&env, "79001110005").await;
    let (status, out) = env.send_text(&chat, "late").await;
    assert_eq!(
        (status, out["detail"][0]["type"].clone()),
        (422, json!("window_closed"))
    );
    assert!(
        env.ctl().sent(None).await.unwrap().is_empty(),
        "nothing stored"
    );
    let allow = SettingsUpdate {
        window_policy: Some(WindowPolicy::Allow),
        ..SettingsUpdate::default()
    };
    let settings = env.ctl().set_settings(&allow).await.unwrap();
    assert_eq!(settings.window_policy, WindowPolicy::Allow);
    let (status, out) = env.send_text(&chat, "late").await;
    assert_eq!(status, 200);
    let id = out["message"]["message_id"].clone();
    let read = eventually("read receipt", || async {
        let sent = env.ctl().sent(None).await.unwrap();
        Some(sent[0].message.clone()).filter(|m| m["read_at"].is_string())
    })
    .await;
    assert_eq!(
        (read["message_id"].clone(), read["error_type"].clone()),
        (id, Value::Null)
    );
}

async fn set_dialogs(env: &Env, waba_dialogs: i64) {
    let update = SettingsUpdate {
        waba_dialogs: Some(waba_dialogs),
        ..SettingsUpdate::default()
    };
    let settings = env.ctl().set_settings(&update).await.unwrap();
    assert_eq!(settings.waba_dialogs[&1], waba_dialogs);
}

#[tokio::test]
async fn exhausted_dialogs_fail_sends_and_availability() {
    let env = Env::start().await;
    let rx = env.subscribed(70001, 0).await;
    let chat = open_waba_chat(&env, "79001110006").await;
    set_dialogs(&env, 0).await;
    let (_, avail) = env
        .get(&format!("/messaging/chats/70001/{chat}/availability"))
        .await;
    assert_eq!(
        (
            avail["is_available"].clone(),
            avail["waba"]["dialogs_available"].clone()
        ),
        (json!(false), json!(false))
    );
    let (status, _) = env.send_text(&chat, "hi").await;
    assert_eq!(status, 200);
    let errors = rx.wait("messages.delivery.error", 1).await;
    assert_eq!(
        errors[0]["event"]["message"]["error_type"],
        "WABA_DIALOGS_LIMIT_EXCEEDED"
    );
    set_dialogs(&env, 2).await;
    env.send_text(&chat, "again").await;
    let (_, counters) = env.get("/messaging/dialogs/counters/").await;
    assert_eq!(counters[0]["value"], 1, "a new dialog took one");
}

#[tokio::test]
async fn availability_for_non_waba_chats_is_configurable() {
    let env = Env::start().await;
    let chat = env.chat(70002, "79001110007", "x").await;
    let (status, _) = env
        .get(&format!("/messaging/chats/70002/{chat}/availability"))
        .await;
    assert_eq!(status, 422);
    let mut config = fast_config();
    config.non_waba_availability = NonWabaAvailability::Available;
    let env = Env::with(config).await;
    let chat = env.chat(70002, "79001110007", "x").await;
    let (status, avail) = env
        .get(&format!("/messaging/chats/70002/{chat}/availability"))
        .await;
    assert_eq!((status, avail["is_available"].clone()), (200, json!(true)));
}
