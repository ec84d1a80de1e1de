//! Reconciling an action an earlier attempt left pending (intent recorded, no result) before
//! anything is resent, against the real sandbox. The pending entry is made the way it happens:
//! the first attempt's send is answered 500 (the sandbox's fault answers before the handler, so
//! nothing is stored), and a test that wants the message "delivered anyway" sends it to the chat
//! itself afterwards, as Radist would have stored it.

use radist_connector::models::{ChatId, SendMessageRequest};
use serde_json::json;

use super::support::*;
use crate::capabilities::wit::http::{Host as HttpHost, Method, Request};
use crate::capabilities::wit::messages::Host as MessagesHost;
use crate::config::ReconcilePolicy;

const CAPS: &str = "messages = { connections = [70003], types = [\"text\"] }";

/// A Telegram chat and an attempt of run `run` whose send of `body` failed with a 500, leaving
/// its intent pending in the journal.
async fn pending_send(h: &Harness, run: &str, body: &str) -> i64 {
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    let plugin = h.plugin(CAPS);
    let mut first = h.run(&plugin, run, received(TELEGRAM, chat, None), false);
    let fault =
        json!({"server_error": {"count": 1, "status": 500}, "paths": ["messaging/messages"]});
    h.faults(fault).await;
    let err =
        no_trap(MessagesHost::send(&mut first, text(TELEGRAM, chat, body)).await).expect_err("500");
    // Retried through the read-back, unless the policy says a pending send is never repeated.
    let retried = h.caches.ledger.reconcile != ReconcilePolicy::Fail;
    assert!(
        matches!(&err, Error::Upstream(u) if u.retryable == retried),
        "{err:?}"
    );
    let entry = h.journal().entry(run, 1).expect("the intent is recorded");
    assert_eq!(entry.result, None, "no result: pending");
    chat
}

/// Sends `body` to `chat` straight through the client (Radist got the message after all).
async fn deliver_directly(h: &Harness, chat: i64, body: &str) -> String {
    let request = SendMessageRequest::text(ChatId(chat), body);
    let sent = h
        .client()
        .send_message(&request)
        .await
        .expect("direct send");
    sent.message.message_id.0.to_string()
}

#[tokio::test]
async fn a_pending_send_found_in_the_chat_is_answered_from_it_and_not_resent() {
    let h = Harness::start().await;
    let chat = pending_send(&h, "run-r1", "Ваш заказ готов").await;
    let id = deliver_directly(&h, chat, "Ваш  заказ готов").await;
    let plugin = h.plugin(CAPS);
    let mut retry = h.run(&plugin, "run-r1", received(TELEGRAM, chat, None), false);
    let sent =
        no_trap(MessagesHost::send(&mut retry, text(TELEGRAM, chat, "Ваш заказ готов")).await)
            .expect("sent");
    assert!(sent.replayed);
    assert_eq!(sent.message_id, id);
    assert_eq!(h.sent(chat).await.len(), 1, "the customer got one message");
    let decision = format!("delivered: found message {id} in the chat");
    let record = &retry.ctx.recorder.into_records()[0];
    assert_eq!(record.decision.as_deref(), Some(decision.as_str()));
    assert_eq!(record.effect_id.as_deref(), Some(id.as_str()));
    assert!(record.replayed);
    let entry = h.journal().entry("run-r1", 1).expect("entry");
    assert_eq!(entry.decisions, [decision]);
    assert_eq!(entry.effect_id, Some(id));
}

#[tokio::test]
async fn a_pending_send_not_in_the_chat_is_sent_again() {
    let h = Harness::start().await;
    let chat = pending_send(&h, "run-r2", "hello").await;
    deliver_directly(&h, chat, "something else").await;
    let plugin = h.plugin(CAPS);
    let mut retry = h.run(&plugin, "run-r2", received(TELEGRAM, chat, None), false);
    let sent =
        no_trap(MessagesHost::send(&mut retry, text(TELEGRAM, chat, "hello")).await).expect("sent");
    assert!(!sent.replayed);
    let log = h.sent(chat).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[1]["message_id"].as_str(),
        Some(sent.message_id.as_str())
    );
    let record = &retry.ctx.recorder.into_records()[0];
    assert_eq!(
        record.decision.as_deref(),
        Some("not found in the chat: sent again")
    );
    let entry = h.journal().entry("run-r2", 1).expect("entry");
    assert_eq!(entry.effect_id, Some(sent.message_id));
}

#[tokio::test]
async fn a_matching_message_older_than_the_intent_does_not_count() {
    let mut h = Harness::start().await;
    h.caches.ledger.skew = chrono::Duration::zero();
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    deliver_directly(&h, chat, "hello").await;
    let plugin = h.plugin(CAPS);
    let mut first = h.run(&plugin, "run-r3", received(TELEGRAM, chat, None), false);
    let fault =
        json!({"server_error": {"count": 1, "status": 500}, "paths": ["messaging/messages"]});
    h.faults(fault).await;
    no_trap(MessagesHost::send(&mut first, text(TELEGRAM, chat, "hello")).await).expect_err("500");
    let mut retry = h.run(&plugin, "run-r3", received(TELEGRAM, chat, None), false);
    let sent =
        no_trap(MessagesHost::send(&mut retry, text(TELEGRAM, chat, "hello")).await).expect("sent");
    assert!(!sent.replayed, "the earlier message predates the intent");
    assert_eq!(h.sent(chat).await.len(), 2);
}

#[tokio::test]
async fn the_fail_policy_refuses_a_pending_send_without_reading_or_sending() {
    let mut h = Harness::start().await;
    h.caches.ledger.reconcile = ReconcilePolicy::Fail;
    let chat = pending_send(&h, "run-r4", "hello").await;
    let plugin = h.plugin(CAPS);
    let mut retry = h.run(&plugin, "run-r4", received(TELEGRAM, chat, None), false);
    h.clear_requests();
    let err = no_trap(MessagesHost::send(&mut retry, text(TELEGRAM, chat, "hello")).await)
        .expect_err("refused");
    assert!(
        matches!(&err, Error::Upstream(u) if !u.retryable),
        "{err:?}"
    );
    assert_eq!(h.requests(), Vec::<String>::new());
    let record = &retry.ctx.recorder.into_records()[0];
    let decision = record.decision.as_deref().unwrap_or_default();
    assert!(decision.contains("not sent again"), "{decision}");
}

#[tokio::test]
async fn a_pending_http_post_fails_as_outcome_unknown_unless_configured_to_resend() {
    let mut h = Harness::start().await;
    // A port nothing listens on: the first attempt's post fails on the wire, leaving it pending.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let origin = format!("http://127.0.0.1:{port}");
    let plugin = h.plugin(&format!("http = {{ allow = [\"{origin}\"] }}"));
    let post = || Request {
        method: Method::Post,
        url: format!("{origin}/hook"),
        headers: vec![],
        body: Some(b"{}".to_vec()),
    };
    let mut first = h.run(&plugin, "run-h", manual(), false);
    no_trap(HttpHost::send(&mut first, post()).await).expect_err("nothing listens");
    let mut retry = h.run(&plugin, "run-h", manual(), false);
    let err = no_trap(HttpHost::send(&mut retry, post()).await).expect_err("outcome unknown");
    assert!(
        matches!(&err, Error::Upstream(u) if !u.retryable && u.message.starts_with("outcome unknown")),
        "{err:?}"
    );
    h.caches.ledger.resend_pending_http = true;
    let mut resend = h.run(&plugin, "run-h", manual(), false);
    let err = no_trap(HttpHost::send(&mut resend, post()).await)
        .expect_err("sent again, still nothing listens");
    assert!(!matches!(&err, Error::Upstream(u) if u.message.starts_with("outcome unknown")));
    let record = &resend.ctx.recorder.into_records()[0];
    let decision = record.decision.as_deref().unwrap_or_default();
    assert!(decision.contains("sent again"), "{decision}");
}
