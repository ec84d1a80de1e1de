//! The WABA 24-hour window in `messages.send`: checked for chats the event marks WABA and for any
//! chat on a connection Radist reports as WABA (asked once per connection, shared by every run
//! and plugin); templates go through a closed window.

use serde_json::json;

use super::support::*;
use crate::capabilities::wit::chats::{ChatRef, ChatTarget, CreateChatRequest, Host as _};
use crate::capabilities::wit::messages::Host as _;
use crate::event::SourceType;
use crate::state::HostState;

const WABA_CAPS: &str = "messages = { connections = [70001], types = [\"text\", \"waba_template\"] }\n\
                         chats = { connections = [70001] }";

#[tokio::test]
async fn a_closed_window_refuses_free_form_but_not_templates() {
    let h = Harness::start().await;
    let chat = h.chat_with(WABA, json!({"phone": "79001112233"}), 25).await;
    let plugin = h.plugin(WABA_CAPS);
    let mut state = h.run(
        &plugin,
        "r1",
        received(WABA, chat, Some(SourceType::Waba)),
        false,
    );
    let err = no_trap(state.send(text(WABA, chat, "hi")).await).expect_err("window closed");
    let Error::WindowClosed(details) = err else {
        panic!("expected window-closed, got {err:?}")
    };
    let expires = details.expires_at.expect("expires_at").seconds;
    let expected = chrono::Utc::now().timestamp() - 3600;
    assert!((expires - expected).abs() < 120, "{expires} vs {expected}");
    assert!(details.dialogs_available);
    assert!(!details.auto_templates_enabled);
    assert!(h.sent(chat).await.is_empty(), "nothing may be sent");
    no_trap(state.send(order_ready(WABA, chat)).await).expect("templates ignore the window");
    let sent = h.sent(chat).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["request"]["message_type"], "waba_template");
}

#[tokio::test]
async fn an_open_window_lets_free_form_through() {
    let h = Harness::start().await;
    let chat = h.chat_with(WABA, json!({"phone": "79001112233"}), 1).await;
    let plugin = h.plugin(WABA_CAPS);
    let mut state = h.run(&plugin, "r1", received(WABA, chat, None), false);
    no_trap(state.send(text(WABA, chat, "hi")).await).expect("window open");
    assert_eq!(h.sent(chat).await.len(), 1);
}

#[tokio::test]
async fn chats_on_a_waba_connection_are_checked_without_the_event_saying_so() {
    let h = Harness::start().await;
    let mut state = h.manual_run(WABA_CAPS);
    let chat = new_chat(&mut state, "+7 900 555-44-33").await;
    assert!(chat.created_chat);
    let err = no_trap(state.send(text(WABA, chat.chat_id, "hi")).await).expect_err("closed");
    assert!(matches!(err, Error::WindowClosed(_)), "{err:?}");
    assert!(h.sent(chat.chat_id).await.is_empty());
    // Another run of another plugin sees the learnt kind: no second connection lookup.
    let other = h.plugin(WABA_CAPS);
    let mut later = h.run(&other, "r2", manual(), false);
    let err = no_trap(later.send(text(WABA, chat.chat_id, "hi")).await).expect_err("closed");
    assert!(matches!(err, Error::WindowClosed(_)), "{err:?}");
    let lookups = connection_lookups(&h);
    assert_eq!(lookups, 1, "{:?}", h.requests());
    assert!(h.sent(chat.chat_id).await.is_empty());
    // The service's intake reads the same directory: it knows the connection without asking.
    let source = h.caches.connections.source_type(WABA).await;
    assert_eq!(source, Some(crate::event::SourceType::Waba));
}

#[tokio::test]
async fn runs_use_the_connection_list_the_service_read() {
    let h = Harness::start().await;
    h.caches.connections.ask(h.client.clone());
    let known = h
        .caches
        .connections
        .refresh()
        .await
        .expect("connection list");
    assert!(known > 0);
    let mut state = h.manual_run(WABA_CAPS);
    let chat = new_chat(&mut state, "+7 900 555-44-32").await;
    let err = no_trap(state.send(text(WABA, chat.chat_id, "hi")).await).expect_err("closed");
    assert!(matches!(err, Error::WindowClosed(_)), "{err:?}");
    let lookups = connection_lookups(&h);
    assert_eq!(lookups, 0, "{:?}", h.requests());
}

/// A new chat with `phone` on the WABA connection, created by the run's `chats.create`.
async fn new_chat(state: &mut HostState, phone: &str) -> ChatRef {
    let request = CreateChatRequest {
        connection_id: WABA,
        target: ChatTarget::Phone(phone.to_owned()),
        contact_id: None,
        name: None,
    };
    no_trap(state.create_chat(request).await).expect("created")
}

/// How often the runs asked Radist for the WABA connection.
fn connection_lookups(h: &Harness) -> usize {
    h.requests()
        .iter()
        .filter(|r| r.ends_with("/connections/70001"))
        .count()
}
