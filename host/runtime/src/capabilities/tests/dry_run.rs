//! Dry runs: every Radist-backed capability answers with plausible synthetic data — ids unique
//! per action and stable when the run is replayed — and no request reaches the sandbox.

use std::collections::HashSet;

use super::support::*;
use crate::capabilities::wit::availability::Host as _;
use crate::capabilities::wit::chats::{ChatTarget, CreateChatRequest, Host as _};
use crate::capabilities::wit::files::Host as _;
use crate::capabilities::wit::messages::Host as _;
use crate::capabilities::wit::templates::Host as _;
use crate::state::HostState;

const CAPS: &str = "chats = { connections = [70001] }\n\
                    messages = { connections = [70001], types = [\"text\"] }\n\
                    files = { max_bytes = 1024 }\n\
                    availability = { connections = [70001] }\n\
                    templates = { connections = [70001] }";

/// What one dry run answered: chat ids, contact ids, message ids.
async fn dry_run(state: &mut HostState) -> (Vec<i64>, Vec<i64>, Vec<String>) {
    let (mut chats, mut contacts, mut messages) = (Vec::new(), Vec::new(), Vec::new());
    for phone in ["79005550001", "79005550002"] {
        let req = CreateChatRequest {
            connection_id: WABA,
            target: ChatTarget::Phone(phone.to_owned()),
            contact_id: None,
            name: None,
        };
        let chat = no_trap(state.create_chat(req).await).expect("chat");
        chats.push(chat.chat_id);
        contacts.push(chat.contact_id.expect("contact"));
    }
    for body in ["one", "two"] {
        let sent = no_trap(state.send(text(WABA, chats[0], body)).await).expect("sent");
        messages.push(sent.message_id);
    }
    (chats, contacts, messages)
}

#[tokio::test]
async fn dry_runs_answer_unique_plausible_ids_without_reaching_radist() {
    let h = Harness::start().await;
    let plugin = h.plugin(CAPS);
    h.clear_requests();
    let mut state = h.run(&plugin, "dry-1", manual(), true);
    let (chats, contacts, messages) = dry_run(&mut state).await;
    for id in chats.iter().chain(&contacts) {
        assert!((1_000_000_000..2_000_000_000).contains(id), "{id}");
    }
    assert_ne!(chats[0], chats[1]);
    assert_ne!(contacts[0], contacts[1]);
    assert_ne!(messages[0], messages[1]);
    for id in &messages {
        let shape: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(shape, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
    }
    let url = no_trap(
        state
            .upload("a.txt".into(), "text/plain".into(), b"x".to_vec())
            .await,
    );
    assert!(url.expect("url").starts_with("https://"));
    no_trap(state.check(WABA, chats[0]).await).expect("availability");
    no_trap(state.list(WABA).await).expect("templates");
    assert!(state.ctx.recorder.into_records().iter().all(|r| r.dry_run));
    let mut replay = h.run(&plugin, "dry-1", manual(), true);
    assert_eq!(
        dry_run(&mut replay).await,
        (chats.clone(), contacts, messages.clone())
    );
    let mut other = h.run(&plugin, "dry-2", manual(), true);
    let (other_chats, _, other_messages) = dry_run(&mut other).await;
    let all: HashSet<&String> = messages.iter().chain(&other_messages).collect();
    assert_eq!(all.len(), 4, "message ids are unique across runs");
    assert_ne!(other_chats, chats);
    assert_eq!(
        h.requests(),
        Vec::<String>::new(),
        "a dry run never reaches radist"
    );
    assert!(h.sent(chats[0]).await.is_empty());
}
