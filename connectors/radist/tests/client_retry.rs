//! Retries and error mapping: injected 429/5xx/latency faults on the real sandbox (honoured
//! `Retry-After`, recovery, exhaustion, no duplicate sends), and a canned server for statuses
//! the sandbox never sends (401, 307, 409, bad JSON, HTTP-date `Retry-After`).

mod client_support;

use std::time::{Duration, Instant};

use client_support::{Canned, Env, WABA, config_at, dead_base_url, fast_retry};
use radist_connector::{RadistClient, RadistError};
use serde_json::json;

const NOW: &str = "2099-01-01T00:00:00Z";

#[tokio::test]
async fn a_429_is_retried_after_the_given_retry_after() {
    let env = Env::start().await;
    env.faults(json!({"rate_limit": {"count": 1, "retry_after_s": 1}}))
        .await;
    let started = Instant::now();
    let hooks = env.client().list_webhooks().await.unwrap();
    assert!(hooks.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn a_huge_retry_after_is_clamped_in_the_error_it_ends_with() {
    let env = Env::start().await;
    // About 49 days: once handed on as is, it parked the chat's lane that long.
    env.faults(json!({"rate_limit": {"count": 1, "retry_after_s": 4_294_967u64}}))
        .await;
    let client = env.client_with(env.config().with_retry(fast_retry(0)));
    let err = client.chat_sources().await.unwrap_err();
    assert!(matches!(err, RadistError::RateLimited { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let env = Env::start().await;
    env.faults(json!({"server_error": {"count": 3, "status": 503}}))
        .await;
    let companies = env.client().list_companies(10, 0).await.unwrap();
    assert_eq!(companies.companies.len(), 1);
    assert_eq!(env.remaining_faults().await["server_error"]["count"], 0);
}

#[tokio::test]
async fn exhausted_retries_report_rate_limited_and_server() {
    let env = Env::start().await;
    env.faults(json!({"rate_limit": {"count": 10, "retry_after_s": 0}}))
        .await;
    let err = env.client().chat_sources().await.unwrap_err();
    assert!(matches!(err, RadistError::RateLimited { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert!(err.is_retryable());
    // One attempt plus three retries.
    assert_eq!(env.remaining_faults().await["rate_limit"]["count"], 6);

    env.faults(json!({"server_error": {"count": 10, "status": 502}}))
        .await;
    let err = env.client().chat_sources().await.unwrap_err();
    assert!(matches!(err, RadistError::Server { status: 502 }), "{err}");
    assert_eq!(env.remaining_faults().await["server_error"]["count"], 6);
}

#[tokio::test]
async fn a_retried_send_takes_effect_once() {
    let env = Env::start().await;
    let chat = env.inbound(WABA, "79005551234", "hello", NOW).await;
    env.faults(
        json!({"server_error": {"count": 1}, "rate_limit": {"count": 1, "retry_after_s": 0},
        "paths": ["/messaging/messages/"]}),
    )
    .await;
    let sent = env.send_text(chat, "exactly once").await.unwrap();
    let log = env.sent(Some(chat)).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["message_id"], json!(sent.message.message_id));
}

#[tokio::test]
async fn a_wrong_key_is_refused_without_retries() {
    let env = Env::start().await;
    let mut config = env.config();
    config.api_key = "wrong-key".into();
    let err = env.client_with(config).list_webhooks().await.unwrap_err();
    // The sandbox answers a wrong key with 403 and a missing key with 401.
    assert!(matches!(err, RadistError::Forbidden), "{err}");
    assert!(err.to_string().contains("X-Api-Key"), "{err}");
    assert!(!err.to_string().contains("wrong-key"), "{err}");
}

#[tokio::test]
async fn a_401_maps_to_unauthorized_after_one_attempt() {
    let canned = Canned::start("401 Unauthorized", &[], r#"{"detail":"Not authenticated"}"#).await;
    let client = canned.client();
    let err = client.list_companies(1, 0).await.unwrap_err();
    assert!(matches!(err, RadistError::Unauthorized), "{err}");
    assert!(err.to_string().contains("check the X-Api-Key"), "{err}");
    assert_eq!(canned.hits(), 1);
}

#[tokio::test]
async fn unexpected_statuses_keep_a_masked_bounded_excerpt() {
    let body = format!("conflict for key secret-key-42 {}", "x".repeat(2000));
    let canned = Canned::start("409 Conflict", &[], &body).await;
    let client = RadistClient::new(config_at(&canned.base_url, "secret-key-42")).unwrap();
    let err = client.list_webhooks().await.unwrap_err();
    let RadistError::UnexpectedStatus {
        status,
        body_excerpt,
    } = &err
    else {
        panic!("expected UnexpectedStatus, got {err}");
    };
    assert_eq!(*status, 409);
    assert!(
        body_excerpt.starts_with("conflict for key ***"),
        "{body_excerpt}"
    );
    assert!(body_excerpt.len() <= 512);
    assert!(!err.to_string().contains("secret-key-42"));
    assert_eq!(canned.hits(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let canned = Canned::start(
        "307 Temporary Redirect",
        &[("location", "http://elsewhere.invalid/")],
        "",
    )
    .await;
    let client = canned.client();
    let err = client.list_webhooks().await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err}");
    assert_eq!(canned.hits(), 1);
}

#[tokio::test]
async fn a_mismatched_response_names_the_json_path() {
    let body = r#"{"count": 1, "companies": [{"id": 1, "name": "A", "owner_id": "x"}]}"#;
    let canned = Canned::start("200 OK", &[], body).await;
    let client = canned.client();
    let err = client.list_companies(1, 0).await.unwrap_err();
    let RadistError::Decode { path, .. } = &err else {
        panic!("expected Decode, got {err}");
    };
    assert_eq!(path, "companies[0].owner_id");
}

#[tokio::test]
async fn an_http_date_retry_after_is_understood() {
    let past = [("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")];
    let canned = Canned::start("429 Too Many Requests", &past, "{}").await;
    let config = config_at(&canned.base_url, "k").with_retry(fast_retry(1));
    let err = RadistClient::new(config)
        .unwrap()
        .list_webhooks()
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::ZERO), "{err}");
    assert_eq!(canned.hits(), 2);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let env = Env::start().await;
    env.faults(json!({"latency_ms": 400})).await;
    let config = env
        .config()
        .with_timeout(Duration::from_millis(100))
        .with_retry(fast_retry(1));
    let err = env.client_with(config).chat_sources().await.unwrap_err();
    assert!(matches!(err, RadistError::Timeout), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported() {
    let config = config_at(&dead_base_url().await, "k").with_retry(fast_retry(2));
    let err = RadistClient::new(config)
        .unwrap()
        .list_webhooks()
        .await
        .unwrap_err();
    let RadistError::Connect(message) = &err else {
        panic!("expected Connect, got {err}");
    };
    assert!(!message.is_empty());
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_ambiguous_send_failure_is_not_repeated() {
    let env = Env::start().await;
    let chat = env.inbound(WABA, "79005551235", "hello", NOW).await;
    for status in [500, 502] {
        env.faults(json!({"server_error": {"count": 1, "status": status}, "paths": ["/messaging/messages/"]}))
            .await;
        let err = env.send_text(chat, "maybe sent").await.unwrap_err();
        assert!(
            matches!(err, RadistError::Server { status: s } if s == status),
            "{err}"
        );
        // One attempt only: the fault was consumed once and nothing was repeated.
        assert_eq!(env.remaining_faults().await["server_error"]["count"], 0);
    }
    // An idempotent read after the same fault is retried and succeeds.
    env.faults(json!({"server_error": {"count": 1, "status": 500}}))
        .await;
    env.client().chat_sources().await.unwrap();
}
