//! The chat timeline (`/ui/chats/{connection}/{chat}`): the customer's messages, the plugins'
//! replies (from the action ledger), delivery, read and failed receipts, and the runs, in time
//! order; for a WABA chat, the 24-hour customer-service window (open until when; templates only
//! after it closes).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use switchboard_manifest::SourceType;
use switchboard_store::{EventRecord, LedgerEntry, RunSummary};

use super::pages::{Nav, at, clip};
use super::{UiState, html, store_failure};

/// Events and runs read for one timeline (the newest of each), in one store call.
const DEPTH: usize = 200;

/// How long WhatsApp Business keeps a chat open for free-form messages after the customer wrote.
const WABA_WINDOW: TimeDelta = TimeDelta::hours(24);

/// One line of the timeline.
pub struct Item {
    pub at: DateTime<Utc>,
    pub when: String,
    /// CSS class and label: `customer`, `reply`, `receipt`, `run`.
    pub class: &'static str,
    pub label: String,
    pub text: String,
    pub link: String,
}

#[derive(Template)]
#[template(path = "ui/chat.html")]
pub struct ChatPage {
    pub nav: Nav,
    pub connection: i64,
    pub chat: i64,
    pub items: Vec<Item>,
    /// For WABA chats: `(open, until)`.
    pub window: Option<(bool, String)>,
    pub runs_link: String,
}

/// `GET /ui/chats/{connection}/{chat}`.
pub async fn page(
    State(ui): State<UiState>,
    Path((connection, chat)): Path<(i64, i64)>,
) -> Response {
    let timeline = match ui.admin.store.chat_timeline(connection, chat, DEPTH).await {
        Ok(t) => t,
        Err(err) => return store_failure(&err),
    };
    let (events, runs) = (&timeline.events, &timeline.runs);
    let mut items: Vec<Item> = events.iter().filter_map(event_item).collect();
    items.extend(runs.iter().map(run_item));
    for l in &timeline.ledger {
        if let Some(run) = runs.iter().find(|r| r.run_id == l.intent.run_id) {
            items.extend(reply_item(run, l));
        }
    }
    items.sort_by_key(|i| i.at);
    html(&ChatPage {
        nav: Nav::Runs,
        connection,
        chat,
        window: waba_window(events, Utc::now()),
        items,
        runs_link: format!("/ui/runs?chat={connection}%3A{chat}"),
    })
}

/// A customer message, an outbound message from someone else, or a receipt.
fn event_item(record: &EventRecord) -> Option<Item> {
    let e = &record.event;
    let payload: Value = serde_json::from_str(&e.payload).ok()?;
    let event = &payload["event"];
    let message = &event["message"];
    let text = message["text"]["text"].as_str().unwrap_or_default();
    let (class, label, text) = match e.kind.as_str() {
        "message.received" => ("customer", "customer".to_owned(), text.to_owned()),
        "message.sent" if payload["own_echo"] == Value::Bool(true) => return None,
        "message.sent" => (
            "receipt",
            "sent by someone else".to_owned(),
            text.to_owned(),
        ),
        "message.delivered" | "message.read" | "message.failed" => {
            let id = event["delivery"]["message_id"].as_str().unwrap_or_default();
            (
                "receipt",
                e.kind.trim_start_matches("message.").to_owned(),
                format!("message {id}"),
            )
        }
        _ => ("receipt", e.kind.clone(), String::new()),
    };
    Some(Item {
        at: e.received_at,
        when: at(&e.received_at),
        class,
        label,
        text,
        link: format!("/ui/events/{}", record.id.0),
    })
}

fn run_item(r: &RunSummary) -> Item {
    Item {
        at: r.created_at,
        when: at(&r.created_at),
        class: "run",
        label: format!("run {}", r.status.as_str()),
        text: format!(
            "{} on {}{}",
            r.plugin,
            r.event_kind,
            if r.is_replay { " (replay)" } else { "" }
        ),
        link: format!("/ui/runs/{}", r.run_id.0),
    }
}

/// A message a plugin sent, as its ledger row recorded it.
fn reply_item(run: &RunSummary, l: &LedgerEntry) -> Option<Item> {
    if !l.intent.kind.starts_with("messages.") {
        return None;
    }
    let request: Value = serde_json::from_str(&l.intent.request).unwrap_or(Value::Null);
    let text = first_text(&request, 0)
        .map(str::to_owned)
        .unwrap_or_else(|| clip(&l.intent.request, 300));
    let state = if l.result.is_some() {
        ""
    } else {
        " (outcome unknown)"
    };
    Some(Item {
        at: l.intent.at,
        when: at(&l.intent.at),
        class: "reply",
        label: format!("{}{state}", run.plugin),
        text,
        link: format!("/ui/runs/{}", run.run_id.0),
    })
}

/// The first `text` string in a request (`text.text`, an interactive body's text...), searched
/// a few levels deep.
fn first_text(v: &Value, depth: usize) -> Option<&str> {
    let map = v.as_object()?;
    if let Some(text) = map.get("text").and_then(Value::as_str) {
        return Some(text);
    }
    if depth >= 4 {
        return None;
    }
    map.values().find_map(|inner| first_text(inner, depth + 1))
}

/// For a WABA chat: whether free-form messages may still be sent, and until when (24 h after
/// the customer's last message).
fn waba_window(events: &[EventRecord], now: DateTime<Utc>) -> Option<(bool, String)> {
    let waba = events.iter().any(|e| {
        serde_json::from_str::<Value>(&e.event.payload)
            .is_ok_and(|p| p["source_type"] == SourceType::Waba.as_str())
    });
    if !waba {
        return None;
    }
    let last = events
        .iter()
        .filter(|e| e.event.kind == "message.received")
        .map(|e| e.event.received_at)
        .max()?;
    let until = last + WABA_WINDOW;
    Some((until > now, at(&until)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::{EventId, NewEvent};

    fn received(at: DateTime<Utc>) -> EventRecord {
        EventRecord {
            id: EventId(1),
            event: NewEvent {
                dedupe_key: "k".into(),
                kind: "message.received".into(),
                connection_id: Some(70001),
                chat_id: Some(5),
                payload: r#"{"source":"webhook","event":{},"source_type":"waba"}"#.into(),
                received_at: at,
            },
        }
    }

    #[test]
    fn the_waba_window_closes_a_day_after_the_customer_wrote() {
        let t = DateTime::UNIX_EPOCH + TimeDelta::days(100);
        let events = [received(t)];
        assert_eq!(
            waba_window(&events, t + TimeDelta::hours(23)).map(|w| w.0),
            Some(true)
        );
        assert_eq!(
            waba_window(&events, t + TimeDelta::hours(25)).map(|w| w.0),
            Some(false)
        );
        let mut telegram = received(t);
        telegram.event.payload = r#"{"source":"webhook","event":{}}"#.into();
        assert_eq!(waba_window(&[telegram], t), None);
        let mut spaced = received(t);
        spaced.event.payload =
            r#"{"source": "webhook", "event": {}, "source_type": "waba"}"#.into();
        assert!(waba_window(&[spaced], t).is_some());
        let mut quoted = received(t);
        let text = r#"{\"source_type\":\"waba\"}"#;
        quoted.event.payload = format!(r#"{{"source":"webhook","event":{{"text":"{text}"}}}}"#);
        assert_eq!(waba_window(&[quoted], t), None);
    }
}
