//! The action journal across attempts of one run: completed actions (same run id, sequence
//! number and request) are answered with `replayed = true` and the sandbox sees them once; a
//! different request at the same position traps the run as non-deterministic; a send cut off
//! after it left stays in the run as in flight and still reaches the journal.

use std::time::Duration;

use serde_json::json;

use super::support::*;
use crate::ActionOutcome;
use crate::capabilities::wit::chats::{ChatRef, ChatTarget, CreateChatRequest, Host as _};
use crate::capabilities::wit::messages::{Host as _, Sent};
use crate::state::HostState;

const CAPS: &str = "chats = { connections = [70002] }\n\
                    messages = { connections = [70002], types = [\"text\"] }";

fn create_request() -> CreateChatRequest {
    CreateChatRequest {
        connection_id: WHATSAPP,
        target: ChatTarget::Phone("79005550009".to_owned()),
        contact_id: None,
        name: None,
    }
}

/// One attempt: create the chat, then greet it.
async fn attempt(state: &mut HostState, greeting: &str) -> (ChatRef, Sent) {
    let chat = no_trap(state.create_chat(create_request()).await).expect("chat");
    let sent = no_trap(state.send(text(WHATSAPP, chat.chat_id, greeting)).await).expect("sent");
    (chat, sent)
}

#[tokio::test]
async fn a_second_attempt_is_answered_from_the_journal_and_sends_once() {
    let h = Harness::start().await;
    let plugin = h.plugin(CAPS);
    let mut first = h.run(&plugin, "run-7", manual(), false);
    let (chat, sent) = attempt(&mut first, "hello").await;
    assert!(!sent.replayed);
    let mut second = h.run(&plugin, "run-7", manual(), false);
    let (chat2, sent2) = attempt(&mut second, "hello").await;
    assert_eq!(chat2.chat_id, chat.chat_id);
    assert!(sent2.replayed, "{sent2:?}");
    assert_eq!(sent2.message_id, sent.message_id);
    let records = second.ctx.recorder.into_records();
    assert!(records.iter().all(|r| r.replayed), "{records:?}");
    let chat_id = chat.chat_id.to_string();
    assert_eq!(records[0].effect_id.as_deref(), Some(chat_id.as_str()));
    assert_eq!(
        records[1].effect_id.as_deref(),
        Some(sent.message_id.as_str())
    );
    assert_eq!(
        h.sent(chat.chat_id).await.len(),
        1,
        "the customer got one message"
    );
}

#[tokio::test]
async fn a_changed_request_at_the_same_position_traps_the_run_as_non_deterministic() {
    let h = Harness::start().await;
    let plugin = h.plugin(CAPS);
    let mut first = h.run(&plugin, "run-8", manual(), false);
    let (chat, _) = attempt(&mut first, "hello").await;
    let mut changed = h.run(&plugin, "run-8", manual(), false);
    no_trap(changed.create_chat(create_request()).await).expect("replayed chat");
    let trap = changed
        .send(text(WHATSAPP, chat.chat_id, "hello again"))
        .await
        .expect_err("a different send at #2 traps");
    let message = format!("{trap:#}");
    assert!(
        message.contains("non-deterministic run: action #2 (messages.send)"),
        "{message}"
    );
    let mut other = h.run(&plugin, "run-9", manual(), false);
    let (_, sent) = attempt(&mut other, "hello").await;
    assert!(!sent.replayed, "another run is new");
    assert_eq!(h.sent(chat.chat_id).await.len(), 2);
}

#[tokio::test]
async fn a_send_cut_off_on_the_wire_stays_in_flight_and_is_journaled_when_it_returns() {
    let h = Harness::start().await;
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    let plugin = h.plugin("messages = { connections = [70003], types = [\"text\"] }");
    let mut state = h.run(&plugin, "run-slow", received(TELEGRAM, chat, None), false);
    h.faults(json!({"latency_ms": 1500, "paths": ["messaging/messages"]}))
        .await;
    h.clear_requests();
    {
        // Drop the call once the send reached Radist, as the run's timeout would.
        let call = state.send(text(TELEGRAM, chat, "slow hello"));
        tokio::select! {
            biased;
            () = h.arrival("/messaging/messages/") => {}
            _ = call => panic!("the send finished despite the sandbox's latency"),
        }
    }
    let records = state.ctx.recorder.into_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, ActionOutcome::InFlight);
    assert!(records[0].latency > Duration::ZERO);
    let entry = h.journal().settled("run-slow", 1).await;
    let id = entry.effect_id.expect("the journal has the message id");
    let delivered = h.sent(chat).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["message_id"].as_str(), Some(id.as_str()));
}
