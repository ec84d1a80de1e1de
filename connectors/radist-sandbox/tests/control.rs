//! Control surface through the typed [`SandboxControl`] client: faults (429 + Retry-After,
//! 5xx, latency, webhook duplicate/reorder), webhook retries, connection status events, reset,
//! seed files, file upload and download.
//!
//! [`SandboxControl`]: radist_sandbox::control::SandboxControl

mod common;

use std::time::{Duration, Instant};

use common::{Env, fast_config};
use radist_sandbox::control::StatusChange;
use radist_sandbox::{
    DeliveryState, Faults, RateLimitFault, Sandbox, SandboxConfig, Seed, ServerErrorFault,
};
use serde_json::{Value, json};

/// Replaces the sandbox's faults.
async fn faults(env: &Env, faults: Faults) {
    env.ctl().set_faults(&faults).await.expect("faults");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_has_no_effect() {
    let env = Env::start().await;
    let chat = env.chat(70002, "79002220000", "x").await;
    let rate_limit = RateLimitFault {
        count: 1,
        retry_after_s: 2,
    };
    faults(
        &env,
        Faults {
            rate_limit: Some(rate_limit),
            paths: Some(vec!["/messaging/messages/".into()]),
            ..Faults::default()
        },
    )
    .await;
    let resp = env
        .raw(
            env.http
                .post(env.company_url("/messaging/messages/"))
                .header("X-Api-Key", "sandbox-key")
                .json(&json!({"chat_id": chat, "message_type": "text", "text": {"text": "once"}})),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert!(env.ctl().sent(None).await.unwrap().is_empty());
    let (status, _) = env.get("/contacts/").await;
    assert_eq!(status, 200, "other paths unaffected");
    let (status, _) = env.send_text(&chat, "once").await;
    assert_eq!(status, 200, "count used up");
    assert_eq!(env.ctl().sent(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn server_errors_and_latency() {
    let env = Env::start().await;
    let server_error = ServerErrorFault {
        count: 2,
        status: 502,
    };
    faults(
        &env,
        Faults {
            server_error: Some(server_error),
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(env.get("/contacts/").await.0, 502);
    assert_eq!(env.get("/contacts/").await.0, 502);
    assert_eq!(env.get("/contacts/").await.0, 200);
    faults(
        &env,
        Faults {
            latency_ms: Some(150),
            ..Faults::default()
        },
    )
    .await;
    let started = Instant::now();
    assert_eq!(env.get("/contacts/").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    env.ctl().clear_faults().await.unwrap();
    assert_eq!(env.ctl().faults().await.unwrap(), Faults::default());
    let nonsense = env
        .raw(
            env.http
                .post(format!("{}/faults", env.sb.control_url()))
                .json(&json!({"nonsense": 1})),
        )
        .await;
    assert_eq!(nonsense.status(), 422);
}

#[tokio::test]
async fn webhooks_retry_with_backoff_until_2xx() {
    let env = Env::start().await;
    let rx = env.subscribed(70002, 2).await;
    env.text_from(70002, "79002220001", "x").await;
    rx.wait("messages.create", 1).await;
    let log = env.ctl().webhook_deliveries(None).await.unwrap();
    let statuses: Vec<Option<u16>> = log[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
    assert_eq!(log[0].state, DeliveryState::Delivered);
}

#[tokio::test]
async fn webhook_duplicate_and_reorder_faults() {
    let env = Env::start().await;
    let rx = env.subscribed(70002, 0).await;
    faults(
        &env,
        Faults {
            webhook_duplicate: true,
            ..Faults::default()
        },
    )
    .await;
    env.text_from(70002, "79002220002", "dup").await;
    let dup = rx.wait("messages.create", 2).await;
    assert_eq!(dup[0], dup[1]);
    faults(
        &env,
        Faults {
            webhook_reorder: true,
            ..Faults::default()
        },
    )
    .await;
    for text in ["first", "second"] {
        env.inbound(json!({"connection_id": 70002, "phone": "79002220002", "text": text}))
            .await;
    }
    let all = rx.wait("messages.create", 4).await;
    let texts: Vec<&Value> = all[2..]
        .iter()
        .map(|b| &b["event"]["message"]["text"]["text"])
        .collect();
    assert_eq!(texts, [&json!("second"), &json!("first")]);
}

#[tokio::test]
async fn connection_status_change_is_delivered_and_shown() {
    let env = Env::start().await;
    let rx = env.subscribed(70002, 0).await;
    let change = StatusChange {
        connection_id: 70002,
        status_type: "bad".into(),
        status_subtype: "whatsapp_qr_not_scanned".into(),
    };
    env.ctl().connection_status(&change).await.unwrap();
    let events = rx.wait("connections.status_changed", 1).await;
    assert_eq!(
        events[0]["event"],
        json!({"connection_id": 70002, "status": {"status_type": "bad", "status_subtype": "whatsapp_qr_not_scanned"}})
    );
    let (_, conn) = env.get("/connections/70002").await;
    assert_eq!(conn["last_status"]["status_type"], "bad");
}

#[tokio::test]
async fn reset_restores_the_seed_state() {
    let env = Env::start().await;
    env.text_from(70001, "79002220003", "x").await;
    env.subscribe(70001, "http://127.0.0.1:9/hook").await;
    env.ctl().reset().await.unwrap();
    let (_, inbox) = env.get("/messaging/chats/with_contacts/").await;
    assert!(inbox["data"].as_array().unwrap().is_empty());
    let (_, hooks) = env.get("/webhooks/").await;
    assert_eq!(hooks, json!([]));
    let again = env.text_from(70001, "79002220003", "x").await;
    assert_eq!(
        (again["chat_id"].clone(), again["contact_id"].clone()),
        (json!(38000001), json!(32000001))
    );
}

#[tokio::test]
async fn webhook_subscriptions_are_listed_and_deleted() {
    let env = Env::start().await;
    let sub = env.subscribe(70001, "http://127.0.0.1:9/hook").await;
    let (_, list) = env.get("/webhooks/").await;
    assert_eq!(list, json!([sub]));
    let path = format!("/webhooks/{}", sub["id"].as_str().unwrap());
    assert_eq!(env.delete(&path).await.0, 204);
    assert_eq!(env.delete(&path).await.0, 404);
    let (status, out) = env
        .post(
            "/webhooks/",
            json!({"url": "http://x", "events": [], "connection_id": 70001}),
        )
        .await;
    assert_eq!(
        (status, out["detail"][0]["type"].clone()),
        (422, json!("too_short"))
    );
}

#[tokio::test]
async fn seed_file_replaces_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.json");
    let text = r#"{"api_key": "k2", "companies": [{"id": 7, "name": "Other", "connections": [
        {"id": 81, "type": "telegram_bot", "name": "Bot", "username": "b_bot"}]}]}"#;
    std::fs::write(&path, text).unwrap();
    let seed = Seed::from_file(&path).unwrap();
    let sb = Sandbox::start(SandboxConfig {
        seed,
        ..fast_config()
    })
    .await
    .unwrap();
    assert_eq!((sb.api_key(), sb.company_id()), ("k2", 7));
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/companies/7/connections/", sb.base_url()))
        .header("X-Api-Key", "k2")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["connections"][0]["params"]["bot_username"], "b_bot");
    sb.shutdown().await.unwrap();
    assert!(Seed::from_json_str("{\"api_key\": 1}").is_err());
}

#[tokio::test]
async fn upload_serves_the_file_and_media_sends_use_it() {
    let mut config = fast_config();
    config.max_upload_bytes = 1024;
    let env = Env::with(config).await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"\x89PNG fake".to_vec()).file_name("pic.png"),
        )
        .text("filename", "фото 1.png");
    let (status, body) = env.upload(form).await;
    assert_eq!(status, 200);
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://{}/_sandbox/files/", env.sb.addr())),
        "{url}"
    );
    let got = env.raw(env.http.get(&url)).await;
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"\x89PNG fake");
    let chat = env.chat(70002, "79002220004", "x").await;
    let (status, sent) = env.send_message(json!({"chat_id": chat, "message_type": "image", "image": {"url": url, "caption": "look"}})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["message"]["image"]["name"], "фото 1.png");
    assert_eq!(sent["message"]["image"]["size"], 9);
    let big = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 2048]).file_name("big.bin"),
    );
    assert_eq!(env.upload(big).await.0, 413);
    let empty = reqwest::multipart::Form::new().text("filename", "x");
    assert_eq!(env.upload(empty).await.0, 422);
}
