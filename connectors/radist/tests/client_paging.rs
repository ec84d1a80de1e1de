//! Paged streams: the `with_contacts` inbox over several cursor pages and a chat's messages
//! over several `until` pages (real sandbox), and the guards against a server that repeats
//! itself (canned server).

mod client_support;

use std::collections::HashSet;

use client_support::{Canned, Env, WHATSAPP};
use futures::{Stream, TryStreamExt};
use radist_connector::RadistError;
use radist_connector::client::{ChatsQuery, MessagesQuery};
use radist_connector::models::{ChatId, ContactId, time};
use serde_json::json;

/// Every item of a paged stream; the test fails on the first error.
async fn every_item<T>(stream: impl Stream<Item = Result<T, RadistError>>) -> Vec<T> {
    stream.try_collect().await.expect("every page reads")
}

/// The newest messages first, in pages of `page_size`.
fn newest(page_size: u32) -> MessagesQuery {
    MessagesQuery {
        page_size,
        until: None,
    }
}

fn at(second: u32) -> String {
    format!("2099-01-01T00:00:{second:02}Z")
}

#[tokio::test]
async fn inbox_stream_follows_cursors_in_order_without_dupes() {
    let env = Env::start().await;
    for i in 0..7 {
        let phone = format!("7900555{i:04}");
        env.inbound(WHATSAPP, &phone, "hi", &at(10 + i)).await;
    }
    let client = env.client();
    let query = ChatsQuery {
        limit: 3,
        ..ChatsQuery::default()
    };
    let first = client.chats_with_contacts_page(&query, None).await.unwrap();
    assert_eq!(first.data.len(), 3);
    assert!(first.response_metadata.next().is_some());

    let all = every_item(client.chats_with_contacts(query)).await;
    let ids: Vec<ContactId> = all.iter().map(|c| c.contact_id).collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        7,
        "dupes: {ids:?}"
    );

    let one_page = ChatsQuery {
        limit: 100,
        ..ChatsQuery::default()
    };
    let reference = client
        .chats_with_contacts_page(&one_page, None)
        .await
        .unwrap();
    let expected: Vec<ContactId> = reference.data.iter().map(|c| c.contact_id).collect();
    assert_eq!(ids, expected);
    assert!(reference.response_metadata.next().is_none());

    let single = ChatsQuery {
        contact_id: Some(ids[4]),
        ..ChatsQuery::default()
    };
    let only = every_item(client.chats_with_contacts(single)).await;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].contact_id, ids[4]);
}

async fn seed_chat(env: &Env, count: u32) -> ChatId {
    let mut chat = None;
    for i in 0..count {
        let text = format!("m{i}");
        chat = Some(env.inbound(WHATSAPP, "79005559999", &text, &at(i)).await);
    }
    chat.expect("at least one message")
}

#[tokio::test]
async fn message_stream_pages_by_until_newest_first() {
    let env = Env::start().await;
    let chat = seed_chat(&env, 7).await;
    let client = env.client();
    let all = every_item(client.messages(chat, newest(3))).await;
    let texts: Vec<&str> = all.iter().filter_map(|m| m.body_text()).collect();
    assert_eq!(texts, ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]);

    // A page size that divides the total exactly ends on the empty page.
    let again = every_item(client.messages(chat, newest(7))).await;
    assert_eq!(again.len(), 7);

    let older = MessagesQuery {
        page_size: 2,
        until: Some(time::parse(&at(4)).unwrap()),
    };
    let tail = every_item(client.messages(chat, older)).await;
    let texts: Vec<&str> = tail.iter().filter_map(|m| m.body_text()).collect();
    assert_eq!(texts, ["m3", "m2", "m1", "m0"]);
}

fn message_json(n: u128) -> serde_json::Value {
    json!({"message_id": uuid::Uuid::from_u128(n).to_string(), "chat_id": "7900",
        "direction": "inbound", "message_type": "text", "created_at": at(n as u32),
        "text": {"text": format!("m{n}")}})
}

#[tokio::test]
async fn a_server_repeating_the_same_message_page_is_stopped() {
    let page = json!([message_json(2), message_json(1)]);
    let canned = Canned::ok_json(&page).await;
    let client = canned.client();
    let all = every_item(client.messages(ChatId(5), newest(2))).await;
    assert_eq!(all.len(), 2);
    assert_eq!(canned.hits(), 2);
}

#[tokio::test]
async fn a_server_repeating_the_same_cursor_is_stopped() {
    let entry = json!({"contact_id": 1, "contact_name": "C", "unanswered_count": 0,
        "last_chat_updated_at": at(1), "chats": []});
    let page = json!({"data": [entry], "response_metadata": {"next_cursor": "same"}});
    let canned = Canned::ok_json(&page).await;
    let client = canned.client();
    let all = every_item(client.chats_with_contacts(ChatsQuery::default())).await;
    assert_eq!(all.len(), 1);
    assert_eq!(canned.hits(), 2);
}

#[tokio::test]
async fn messages_sharing_a_timestamp_across_a_page_boundary_are_all_listed() {
    let env = Env::start().await;
    // Newest first: m4 (s3), m3 (s2), m2 and m1 (both s1), m0 (s0); a page of 3 ends inside
    // the tie, so the next page must start at s1 again, not before it.
    let mut chat = None;
    for (text, second) in [("m0", 0), ("m1", 1), ("m2", 1), ("m3", 2), ("m4", 3)] {
        chat = Some(
            env.inbound(WHATSAPP, "79005558888", text, &at(second))
                .await,
        );
    }
    let chat = chat.expect("chat");
    let all = every_item(env.client().messages(chat, newest(3))).await;
    let texts: Vec<&str> = all.iter().filter_map(|m| m.body_text()).collect();
    assert_eq!(texts, ["m4", "m3", "m2", "m1", "m0"]);
}
