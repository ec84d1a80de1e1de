//! Unit tests of the paging bookkeeping (no server): cursor loops, `until` progress, dedupe.

use chrono::TimeZone;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn message(n: u128, second: u32) -> Message {
    let created = Utc.with_ymd_and_hms(2026, 2, 19, 13, 0, second).unwrap();
    serde_json::from_value(json!({
        "message_id": Uuid::from_u128(n).to_string(),
        "chat_id": "79000000000",
        "direction": "inbound",
        "message_type": "text",
        "created_at": time::format(&created),
        "text": {"text": format!("m{n}")},
    }))
    .unwrap()
}

fn ids(messages: &[Message]) -> Vec<u128> {
    messages
        .iter()
        .map(|m| m.message_id.get().as_u128())
        .collect()
}

#[test]
fn full_pages_continue_from_the_oldest_timestamp() {
    let mut pager = MessagePager::new(2, None);
    assert_eq!(pager.next_request(), Some(None));
    let got = pager.accept(vec![message(5, 50), message(4, 40)]);
    assert_eq!(ids(&got), [5, 4]);
    let oldest = Utc.with_ymd_and_hms(2026, 2, 19, 13, 0, 40).unwrap();
    let expected = oldest + chrono::TimeDelta::microseconds(1);
    assert_eq!(pager.next_request(), Some(Some(expected)));
}

#[test]
fn an_inclusive_until_is_deduplicated_and_a_short_page_ends() {
    let mut pager = MessagePager::new(2, None);
    pager.accept(vec![message(5, 50), message(4, 40)]);
    let got = pager.accept(vec![message(4, 40), message(3, 30)]);
    assert_eq!(ids(&got), [3]);
    assert!(pager.next_request().is_some());
    let got = pager.accept(vec![message(2, 20)]);
    assert_eq!(ids(&got), [2]);
    assert_eq!(pager.next_request(), None);
}

#[test]
fn a_server_repeating_the_same_page_is_stopped() {
    let mut pager = MessagePager::new(2, None);
    pager.accept(vec![message(5, 50), message(4, 40)]);
    let got = pager.accept(vec![message(5, 50), message(4, 40)]);
    assert!(got.is_empty());
    assert_eq!(pager.next_request(), None);
}

#[test]
fn an_empty_page_ends() {
    let mut pager = MessagePager::new(50, None);
    assert!(pager.accept(vec![]).is_empty());
    assert_eq!(pager.next_request(), None);
}

#[test]
fn cursors_end_on_empty_or_repeated() {
    let mut pager = CursorPager::default();
    assert_eq!(pager.next_cursor(Some("a")), Some("a".to_owned()));
    assert_eq!(pager.next_cursor(Some("b")), Some("b".to_owned()));
    assert_eq!(pager.next_cursor(Some("a")), None);
    assert_eq!(pager.next_cursor(None), None);
}

#[test]
fn contacts_are_yielded_once() {
    let entry = |id: i64| -> ContactWithChats {
        serde_json::from_value(json!({"contact_id": id, "contact_name": "C",
            "unanswered_count": 0, "last_chat_updated_at": "2026-02-19T13:07:03Z", "chats": []}))
        .unwrap()
    };
    let mut pager = CursorPager::default();
    assert_eq!(pager.fresh(vec![entry(1), entry(2)]).len(), 2);
    let again = pager.fresh(vec![entry(2), entry(3)]);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].contact_id, ContactId(3));
}
