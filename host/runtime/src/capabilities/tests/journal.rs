//! The action journal across attempts of one run: completed actions (same run id, sequence
//! number and request) are answered with `replayed = true`, and the sandbox sees them once.

use super::support::*;
use crate::capabilities::wit::chats::{ChatRef, ChatTarget, CreateChatRequest, Host as _};
use crate::capabilities::wit::messages::{Host as _, Sent};
use crate::state::HostState;

const CAPS: &str = "chats = { connections = [70002] }\n\
                    messages = { connections = [70002], types = [\"text\"] }";

/// One attempt: create the chat, then greet it.
async fn attempt(state: &mut HostState, greeting: &str) -> (ChatRef, Sent) {
    let req = CreateChatRequest {
        connection_id: WHATSAPP,
        target: ChatTarget::Phone("79005550009".to_owned()),
        contact_id: None,
        name: None,
    };
    let chat = no_trap(state.create_chat(req).await).expect("chat");
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
    assert_eq!(
        h.sent(chat.chat_id).await.len(),
        1,
        "the customer got one message"
    );
}

#[tokio::test]
async fn a_changed_request_or_another_run_is_not_replayed() {
    let h = Harness::start().await;
    let plugin = h.plugin(CAPS);
    let mut first = h.run(&plugin, "run-8", manual(), false);
    let (chat, _) = attempt(&mut first, "hello").await;
    let mut changed = h.run(&plugin, "run-8", manual(), false);
    let (_, sent) = attempt(&mut changed, "hello again").await;
    assert!(!sent.replayed, "a different request at the same seq is new");
    let mut other = h.run(&plugin, "run-9", manual(), false);
    let (_, sent) = attempt(&mut other, "hello").await;
    assert!(!sent.replayed, "another run is new");
    assert_eq!(h.sent(chat.chat_id).await.len(), 3);
}
