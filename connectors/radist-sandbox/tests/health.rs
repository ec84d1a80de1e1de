//! Sandbox health in long runs and the connection faults: a reset stops queued and retrying
//! webhook deliveries; the sent list, the delivery log and stored uploads stay within their
//! caps and count what they dropped; a 3xx from a webhook receiver is a failed delivery, not
//! a hop; `drop_response` processes a send but never answers; `reset` cuts the connection
//! before anything happens.

mod common;

use std::time::Duration;

use axum::http::{StatusCode, header};
use common::{Env, Receiver, eventually, fast_config};
use radist_sandbox::{DeliveryState, Faults, SandboxLimits, SandboxState, WebhookRetry};
use serde_json::json;

#[tokio::test]
async fn reset_stops_queued_and_retrying_webhook_deliveries() {
    let mut config = fast_config();
    // A backoff no test waits out: only the reset can end the retrying delivery.
    config.webhook_retry = WebhookRetry {
        attempts: 3,
        base_delay: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
    };
    let env = Env::with(config).await;
    let rx = env.subscribed(70002, usize::MAX).await;
    for text in ["retrying", "queued"] {
        env.inbound(json!({"connection_id": 70002, "phone": "79003330001", "text": text}))
            .await;
    }
    eventually("first attempt", || async {
        Some(()).filter(|()| rx.hits() == 1)
    })
    .await;

    env.ctl().reset().await.unwrap();
    eventually("both deliveries cancelled", || async {
        let stats = env.ctl().stats().await.unwrap();
        Some(()).filter(|()| stats.cancelled_deliveries == 2)
    })
    .await;
    assert_eq!(rx.hits(), 1, "no attempt after the reset");
    assert!(env.ctl().webhook_deliveries(None).await.unwrap().is_empty());
}

fn small_limits() -> radist_sandbox::SandboxConfig {
    let mut config = fast_config();
    config.limits = SandboxLimits {
        max_sent: 3,
        max_deliveries: 2,
        max_stored_upload_bytes: 20,
    };
    config
}

#[tokio::test]
async fn the_sent_list_and_the_delivery_log_keep_the_newest_and_count_the_dropped() {
    let env = Env::with(small_limits()).await;
    let rx = Receiver::start(0).await;
    let chat = env.chat(70002, "79003330002", "hi").await;
    for i in 0..5 {
        let (status, _) = env.send_text(&chat, &format!("s{i}")).await;
        assert_eq!(status, 200);
    }
    let sent = env.ctl().sent(None).await.unwrap();
    let texts: Vec<_> = sent
        .iter()
        .map(|s| s.request["text"]["text"].clone())
        .collect();
    assert_eq!(texts, [json!("s2"), json!("s3"), json!("s4")]);

    let only_creates =
        json!({"url": rx.url(), "events": ["messages.create"], "connection_id": 70003});
    assert_eq!(env.post("/webhooks/", only_creates).await.0, 200);
    for text in ["a", "b", "c"] {
        env.inbound(json!({"connection_id": 70003, "username": "health_user", "text": text}))
            .await;
    }
    rx.wait("messages.create", 3).await;
    let log = eventually("two delivered records", || async {
        let log = env.ctl().webhook_deliveries(None).await.unwrap();
        Some(log).filter(|l| l.iter().all(|d| d.state == DeliveryState::Delivered))
    })
    .await;
    let texts: Vec<_> = log
        .iter()
        .map(|d| d.payload["event"]["message"]["text"]["text"].clone())
        .collect();
    assert_eq!(texts, [json!("b"), json!("c")]);

    let stats = env.ctl().stats().await.unwrap();
    assert_eq!(
        (stats.sent.kept, stats.sent.dropped, stats.sent.limit),
        (3, 2, 3)
    );
    let deliveries = stats.webhook_deliveries;
    assert_eq!((deliveries.kept, deliveries.dropped), (2, 1));
}

async fn upload(env: &Env, name: &str, size: usize) -> String {
    let part = reqwest::multipart::Part::bytes(vec![7u8; size]).file_name(name.to_owned());
    let (status, body) = env
        .upload(reqwest::multipart::Form::new().part("file", part))
        .await;
    assert_eq!(status, 200, "{body}");
    body["url"].as_str().expect("url").to_owned()
}

#[tokio::test]
async fn stored_uploads_stay_within_their_byte_cap() {
    let env = Env::with(small_limits()).await;
    let urls = [
        upload(&env, "a.bin", 8).await,
        upload(&env, "b.bin", 8).await,
        upload(&env, "c.bin", 8).await,
    ];
    assert_eq!(env.http.get(&urls[0]).send().await.unwrap().status(), 404);
    for url in &urls[1..] {
        assert_eq!(env.http.get(url).send().await.unwrap().status(), 200);
    }
    let uploads = env.ctl().stats().await.unwrap().uploads;
    assert_eq!((uploads.kept, uploads.bytes, uploads.dropped), (2, 16, 1));
    env.ctl().reset().await.unwrap();
    let uploads = env.ctl().stats().await.unwrap().uploads;
    assert_eq!(
        (uploads.kept, uploads.dropped, uploads.limit_bytes),
        (0, 0, 20)
    );
}

/// A receiver that answers every POST with a 307 to `target`.
async fn redirecting_receiver(target: String) -> String {
    let redirect = move || {
        let target = target.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(redirect));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn a_redirect_is_a_failed_delivery_and_is_not_followed() {
    let mut config = fast_config();
    config.webhook_retry.attempts = 2;
    let env = Env::with(config).await;
    let target = Receiver::start(0).await;
    let url = redirecting_receiver(target.url()).await;
    env.subscribe(70002, &url).await;
    env.text_from(70002, "79003330003", "x").await;
    let record = eventually("failed delivery", || async {
        let log = env.ctl().webhook_deliveries(None).await.unwrap();
        log.into_iter().find(|d| d.state == DeliveryState::Failed)
    })
    .await;
    let statuses: Vec<_> = record.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(307), Some(307)]);
    assert_eq!(target.hits(), 0, "the redirect was followed");
}

#[tokio::test]
async fn drop_response_processes_the_send_once_and_never_answers() {
    let env = Env::start().await;
    let chat = env.chat(70002, "79003330004", "hi").await;
    env.ctl()
        .set_faults(&Faults::dropped_answers(1))
        .await
        .unwrap();
    let (_, contacts) = env.get("/contacts/").await;
    assert!(
        contacts["items"].is_array(),
        "reads are not dropped: {contacts}"
    );
    let lost = env.send_text_raw(&chat, "once").await;
    let err = lost.expect_err("no answer arrives");
    assert!(!err.is_connect() && !err.is_timeout(), "{err}");

    let sent = env.ctl().sent(chat.as_i64()).await.unwrap();
    assert_eq!(sent.len(), 1);
    let (status, listed) = env
        .get(&format!("/messaging/messages/?chat_id={chat}"))
        .await;
    assert_eq!(status, 200);
    let outbound: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0]["message_id"], json!(sent[0].message_id));
    assert_eq!(outbound[0]["text"]["text"], "once");
}

#[tokio::test]
async fn reset_cuts_the_connection_before_anything_happens() {
    let env = Env::start().await;
    let chat = env.chat(70002, "79003330005", "hi").await;
    env.ctl().set_faults(&Faults::resets(2)).await.unwrap();
    for _ in 0..2 {
        let cut = env.send_text_raw(&chat, "never").await;
        assert!(cut.is_err(), "answered: {cut:?}");
    }
    assert!(env.ctl().sent(None).await.unwrap().is_empty());
    assert_eq!(env.send_text(&chat, "now").await.0, 200);
}

#[tokio::test]
async fn connection_faults_on_a_bare_router_say_what_they_need() {
    let state = SandboxState::new(fast_config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = radist_sandbox::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    *state.faults() = Faults::resets(1);
    let resp = reqwest::get(format!("http://{addr}/v2/companies/"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("Sandbox::start"),
        "{body}"
    );
}
