//! `contacts` and `history` against the sandbox: each `denied` without its grant, the scope
//! limits with it (contacts outside the granted connections are invisible and unwritable, read
//! and write granted separately, a history page cut to the run's bound), and a contact create
//! left pending by an ambiguous failure found by phone instead of created twice.

use radist_connector::client::ContactSearch;
use radist_connector::models::{ChatId, ConnectionId, ContactId};
use serde_json::json;

use super::support::*;
use crate::capabilities::wit::contacts::{ContactUpdate, Host as ContactsHost, Lookup, NewContact};
use crate::capabilities::wit::history::Host as HistoryHost;
use crate::capabilities::wit::types::MessageContent;

fn new_contact(name: &str, phone: &str) -> NewContact {
    NewContact {
        name: name.to_owned(),
        phones: vec![phone.to_owned()],
        emails: Vec::new(),
    }
}

fn rename(name: &str) -> ContactUpdate {
    ContactUpdate {
        name: Some(name.to_owned()),
        phones: None,
        emails: None,
    }
}

#[tokio::test]
async fn contacts_are_found_and_changed_only_within_the_grant() {
    let h = Harness::start().await;
    let (_, on_whatsapp) = h.inbound_chat(WHATSAPP, "79007780001", "hi").await;
    let (_, on_telegram) = h.inbound_chat(TELEGRAM, "79007780002", "hi").await;
    let none = h.plugin("");
    let mut state = h.run(&none, "c0", manual(), false);
    denied(
        no_trap(state.find(Lookup::Id(on_whatsapp)).await),
        "capabilities.contacts",
    );
    let reader = h.plugin("contacts = { connections = [70002] }");
    let mut state = h.run(&reader, "c1", manual(), false);
    let found = no_trap(state.find(Lookup::Phone("79007780001".into())).await).expect("read");
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        [on_whatsapp]
    );
    assert_eq!(found[0].chats[0].connection_id, WHATSAPP);
    let hidden = no_trap(state.find(Lookup::Id(on_telegram)).await).expect("read");
    assert!(
        hidden.is_empty(),
        "a contact only on telegram is out of scope"
    );
    let short = no_trap(state.find(Lookup::Phone("123".into())).await);
    assert!(
        matches!(&short, Err(Error::Invalid(f)) if f[0].path == "phone"),
        "{short:?}"
    );
    denied(
        no_trap(state.create(new_contact("Ann", "79007780003")).await),
        "set `write = true`",
    );
    let writer = h.plugin("contacts = { write = true, connections = [70002] }");
    let mut state = h.run(&writer, "c2", manual(), false);
    denied(
        no_trap(state.update(on_telegram, rename("Bob")).await),
        "no chat on a connection",
    );
    let made = no_trap(state.create(new_contact("Ann", "79007780003")).await).expect("created");
    let renamed = no_trap(state.update(made.id, rename("Ann B")).await).expect("created here");
    assert_eq!((renamed.id, renamed.name.as_str()), (made.id, "Ann B"));
    no_trap(state.update(on_whatsapp, rename("Carl")).await).expect("in scope");
    let stored = h
        .client()
        .get_contact(ContactId(on_whatsapp))
        .await
        .expect("contact");
    assert_eq!(stored.name, "Carl");
}

#[tokio::test]
async fn a_contact_create_left_pending_is_found_by_phone_not_created_twice() {
    let h = Harness::start().await;
    let plugin = h.plugin("contacts = { write = true, connections = [70002] }");
    h.faults(json!({"drop_response": {"count": 1}, "paths": ["/contacts/"]}))
        .await;
    let mut first = h.run(&plugin, "k1", manual(), false);
    let err =
        no_trap(first.create(new_contact("Dana", "79007780010")).await).expect_err("no answer");
    assert!(matches!(&err, Error::Upstream(u) if u.retryable), "{err:?}");
    h.clear_requests();
    let mut retry = h.run(&plugin, "k1", manual(), false);
    let made = no_trap(retry.create(new_contact("Dana", "79007780010")).await).expect("reconciled");
    assert!(
        !h.requests().iter().any(|r| r.starts_with("POST")),
        "{:?}",
        h.requests()
    );
    let search = ContactSearch::Phone("79007780010".into());
    let stored = h.client().search_contacts(search).await.expect("search");
    assert_eq!(stored.items.len(), 1, "one contact");
    assert_eq!(stored.items[0].id.0, made.id);
    let record = &retry.ctx.recorder.into_records()[0];
    let decision = format!(
        "outcome unknown: contact {} found; not created again",
        made.id
    );
    assert_eq!(record.decision.as_deref(), Some(decision.as_str()));
}

#[tokio::test]
async fn history_pages_backwards_within_the_grant_and_summarizes_the_chat() {
    let h = Harness::start().await;
    let phone = json!({"phone": "79007780020"});
    let chat = h.chat_with(WHATSAPP, phone.clone(), 3).await;
    h.chat_with(WHATSAPP, phone.clone(), 2).await;
    let (_, _) = h.inbound_chat(WHATSAPP, "79007780020", "newest").await;
    let none = h.plugin("");
    let mut state = h.run(&none, "h0", manual(), false);
    denied(
        no_trap(state.summary(WHATSAPP, chat).await),
        "capabilities.history",
    );
    let other = h.plugin("history = { connections = [70001] }");
    let mut state = h.run(&other, "h1", manual(), false);
    denied(
        no_trap(state.messages(WHATSAPP, chat, None, 10).await),
        "capabilities.history.connections",
    );
    let plugin = h.plugin("history = { connections = [70002], max_messages = 3 }");
    let mut state = h.run(&plugin, "h2", manual(), false);
    let summary = no_trap(state.summary(WHATSAPP, chat).await).expect("summary");
    assert_eq!(summary.unanswered_count, 3);
    let last = summary.last_message.expect("last message").content;
    assert!(
        matches!(&last, MessageContent::Text(t) if t == "newest"),
        "{last:?}"
    );
    let big = no_trap(state.messages(WHATSAPP, chat, None, 101).await);
    assert!(
        matches!(&big, Err(Error::Invalid(f)) if f[0].path == "limit"),
        "{big:?}"
    );
    let page = no_trap(state.messages(WHATSAPP, chat, None, 2).await).expect("newest page");
    assert_eq!(page.messages.len(), 2);
    assert!(matches!(&page.messages[0].content, MessageContent::Text(t) if t == "newest"));
    let before = page.next_before.expect("an older page");
    let older = no_trap(state.messages(WHATSAPP, chat, Some(before), 2).await).expect("older");
    assert_eq!(
        older.messages.len(),
        1,
        "cut to the one message left of max_messages"
    );
    assert!(older.messages[0].created_at.seconds < before.seconds);
    denied(
        no_trap(state.messages(WHATSAPP, chat, None, 1).await),
        "capabilities.history.max_messages",
    );
    let read = h
        .client()
        .get_chat(ConnectionId(WHATSAPP), ChatId(chat))
        .await
        .expect("chat");
    assert_eq!(read.unanswered_count, 3, "reading history changes nothing");
}
