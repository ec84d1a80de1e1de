//! The CRM interfaces against the sandbox: `inbox.mark-answered`, `quick-replies.list`,
//! `notes` (list, add) and `tags` (add, remove: read-modify-write of the replaced set), each `denied` without its grant and outside its scope (connections,
//! read/write, the event's contact, length, rate), and an add left pending by an ambiguous
//! failure reconciled by reading the notes back instead of adding twice; two runs creating the
//! same missing tag at once both converge on it.

use radist_connector::models::{ChatId, ConnectionId, ContactId};
use serde_json::json;

use super::support::*;
use crate::capabilities::wit::inbox::Host as InboxHost;
use crate::capabilities::wit::notes::Host as NotesHost;
use crate::capabilities::wit::quick_replies::Host as QuickRepliesHost;
use crate::capabilities::wit::tags::Host as TagsHost;

#[tokio::test]
async fn mark_answered_needs_the_grant_and_a_granted_connection() {
    let h = Harness::start().await;
    let (chat, _) = h.inbound_chat(WHATSAPP, "79007770001", "price?").await;
    let none = h.plugin("");
    let mut state = h.run(&none, "i1", manual(), false);
    denied(
        no_trap(state.mark_answered(WHATSAPP, chat).await),
        "capabilities.inbox",
    );
    let other = h.plugin("inbox = { connections = [70001] }");
    let mut state = h.run(&other, "i2", manual(), false);
    denied(
        no_trap(state.mark_answered(WHATSAPP, chat).await),
        "capabilities.inbox.connections",
    );
    let granted = h.plugin("inbox = { connections = [70002] }");
    let mut state = h.run(&granted, "i3", manual(), false);
    no_trap(state.mark_answered(WHATSAPP, chat).await).expect("marked");
    let read = h
        .client()
        .get_chat(ConnectionId(WHATSAPP), ChatId(chat))
        .await
        .expect("chat");
    assert_eq!(read.unanswered_count, 0);
    h.clear_requests();
    let mut replay = h.run(&granted, "i3", manual(), false);
    no_trap(replay.mark_answered(WHATSAPP, chat).await).expect("replayed");
    assert!(
        h.requests().is_empty(),
        "answered from the ledger: {:?}",
        h.requests()
    );
}

#[tokio::test]
async fn quick_replies_are_listed_only_with_the_grant() {
    let h = Harness::start().await;
    let none = h.plugin("");
    let mut state = h.run(&none, "q1", manual(), false);
    denied(
        no_trap(QuickRepliesHost::list(&mut state).await),
        "capabilities.quick_replies",
    );
    let granted = h.plugin("quick_replies = true");
    let mut state = h.run(&granted, "q2", manual(), false);
    let replies = no_trap(QuickRepliesHost::list(&mut state).await).expect("listed");
    let names: Vec<String> = replies.into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["Hours"]);
}

#[tokio::test]
async fn notes_are_scoped_to_reachable_contacts_and_bounded() {
    let h = Harness::start().await;
    let (_, on_whatsapp) = h.inbound_chat(WHATSAPP, "79007770002", "price?").await;
    let (tg_chat, on_telegram) = h.inbound_chat(TELEGRAM, "79007770003", "price?").await;
    let none = h.plugin("");
    denied(
        no_trap(NotesHost::list(&mut h.run(&none, "n0", manual(), false), on_whatsapp).await),
        "capabilities.notes",
    );
    let read_only = h.plugin("notes = { connections = [70002] }");
    let mut state = h.run(&read_only, "n1", manual(), false);
    assert!(
        no_trap(NotesHost::list(&mut state, on_whatsapp).await)
            .expect("read")
            .is_empty()
    );
    denied(
        no_trap(NotesHost::add(&mut state, on_whatsapp, "hi".into()).await),
        "set `write = true`",
    );
    let caps = "notes = { write = true, connections = [70002], max_chars = 10, per_minute = 2 }";
    let writer = h.plugin(caps);
    let mut state = h.run(&writer, "n2", manual(), false);
    denied(
        no_trap(NotesHost::add(&mut state, on_telegram, "hi".into()).await),
        "no chat on a connection",
    );
    let long = no_trap(NotesHost::add(&mut state, on_whatsapp, "x".repeat(11)).await);
    assert!(
        matches!(&long, Err(Error::Invalid(f)) if f[0].path == "text"),
        "{long:?}"
    );
    let note =
        no_trap(NotesHost::add(&mut state, on_whatsapp, "order #42".into()).await).expect("added");
    assert_eq!(note.text, "order #42");
    // The event's own contact is always in scope.
    let mut event = received(TELEGRAM, tg_chat, None);
    if let crate::event::PluginEvent::MessageReceived(e) = &mut event {
        e.contact_id = Some(on_telegram);
    }
    let mut state = h.run(&writer, "n3", event, false);
    no_trap(NotesHost::add(&mut state, on_telegram, "from tg".into()).await)
        .expect("the event's contact");
    let limited = no_trap(NotesHost::add(&mut state, on_whatsapp, "third".into()).await);
    assert!(
        matches!(limited, Err(Error::RateLimited(ms)) if ms > 0),
        "{limited:?}"
    );
    let stored = h
        .client()
        .list_notes(ContactId(on_whatsapp))
        .await
        .expect("notes");
    assert_eq!(
        stored.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        ["order #42"]
    );
}

#[tokio::test]
async fn a_note_add_left_pending_is_read_back_not_added_twice() {
    let h = Harness::start().await;
    let (_, contact) = h.inbound_chat(WHATSAPP, "79007770004", "price?").await;
    let plugin = h.plugin("notes = { write = true, connections = [70002] }");
    h.faults(json!({"drop_response": {"count": 1}, "paths": ["/notes/"]}))
        .await;
    let mut first = h.run(&plugin, "p1", manual(), false);
    let err = no_trap(NotesHost::add(&mut first, contact, "CRM lead 17".into()).await)
        .expect_err("no answer");
    assert!(matches!(&err, Error::Upstream(u) if u.retryable), "{err:?}");
    assert_eq!(
        h.journal().entry("p1", 1).expect("intent").result,
        None,
        "pending"
    );
    h.clear_requests();
    let mut retry = h.run(&plugin, "p1", manual(), false);
    let note = no_trap(NotesHost::add(&mut retry, contact, "CRM lead 17".into()).await)
        .expect("reconciled");
    assert!(
        !h.requests().iter().any(|r| r.starts_with("POST")),
        "{:?}",
        h.requests()
    );
    let stored = h
        .client()
        .list_notes(ContactId(contact))
        .await
        .expect("notes");
    assert_eq!((stored.len(), stored[0].id.0), (1, note.id), "one note");
    let record = &retry.ctx.recorder.into_records()[0];
    let decision = format!("outcome unknown: note {} found; not added again", note.id);
    assert_eq!(record.decision.as_deref(), Some(decision.as_str()));
}

#[tokio::test]
async fn tags_change_only_allowed_names_and_keep_a_tag_added_in_between() {
    let h = Harness::start().await;
    let (_, contact) = h.inbound_chat(WHATSAPP, "79007770005", "price?").await;
    let none = h.plugin("");
    denied(
        no_trap(
            TagsHost::add(
                &mut h.run(&none, "t0", manual(), false),
                contact,
                vec!["lead".into()],
            )
            .await,
        ),
        "capabilities.tags",
    );
    let caps =
        "tags = { write = true, connections = [70002], allow = [\"lead\"], create_missing = true }";
    let plugin = h.plugin(caps);
    let mut state = h.run(&plugin, "t1", manual(), false);
    denied(
        no_trap(TagsHost::add(&mut state, contact, vec!["vip".into()]).await),
        "capabilities.tags.allow",
    );
    let set =
        no_trap(TagsHost::add(&mut state, contact, vec!["lead".into()]).await).expect("added");
    assert_eq!(set, ["lead"], "lead was created and added");
    // A person tags the contact `vip` (seeded tag 1001) in the meantime.
    let lead = h
        .client()
        .get_contact(ContactId(contact))
        .await
        .expect("contact")
        .tags[0]
        .id;
    let both = [
        radist_connector::models::TagId(lead),
        radist_connector::models::TagId(1001),
    ];
    h.client()
        .set_contact_tags(ContactId(contact), &both)
        .await
        .expect("human edit");
    let set =
        no_trap(TagsHost::remove(&mut state, contact, vec!["lead".into()]).await).expect("removed");
    assert_eq!(set, ["vip"], "the tag a person added stays");
    h.clear_requests();
    let mut replay = h.run(&plugin, "t1", manual(), false);
    let refused = TagsHost::add(&mut replay, contact, vec!["vip".into()]).await;
    denied(no_trap(refused), "capabilities.tags.allow");
    let again =
        no_trap(TagsHost::add(&mut replay, contact, vec!["lead".into()]).await).expect("replayed");
    assert_eq!(again, ["lead"], "answered from the ledger's recorded set");
    assert!(
        !h.requests().iter().any(|r| r.starts_with("PUT")),
        "{:?}",
        h.requests()
    );
}

#[tokio::test]
async fn two_runs_creating_the_same_missing_tag_both_converge() {
    let h = Harness::start().await;
    let (_, first) = h.inbound_chat(WHATSAPP, "79007770006", "price?").await;
    let (_, second) = h.inbound_chat(WHATSAPP, "79007770007", "price?").await;
    let caps =
        "tags = { write = true, connections = [70002], allow = [\"hot\"], create_missing = true }";
    let plugin = h.plugin(caps);
    // Both runs list the tags (no `hot` yet) before either create lands.
    h.faults(json!({"latency_ms": 300, "paths": ["/tags/"]}))
        .await;
    let mut a = h.run(&plugin, "r1", manual(), false);
    let mut b = h.run(&plugin, "r2", manual(), false);
    let (set_a, set_b) = tokio::join!(
        TagsHost::add(&mut a, first, vec!["hot".into()]),
        TagsHost::add(&mut b, second, vec!["hot".into()]),
    );
    assert_eq!(no_trap(set_a).expect("first run"), ["hot"]);
    assert_eq!(no_trap(set_b).expect("second run"), ["hot"]);
    let creates = h
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with("/tags/"))
        .count();
    assert_eq!(
        creates,
        2,
        "both runs tried to create it: {:?}",
        h.requests()
    );
}
