//! `messages.send` against the sandbox: delivery, grant and scope refusals, validator errors,
//! the send rate, and the (connection, chat) ownership check. Nothing refused reaches Radist.

use serde_json::json;

use super::support::*;
use std::sync::Arc;
use std::time::Duration;

use crate::capabilities::wit::messages::{Host, MediaKind, MediaMessage};
use crate::event::SourceType;
use crate::state::{HostState, PluginShared};
use crate::{ActionOutcome, RetryClass, RunStatus};

const TEXT_ON_TELEGRAM: &str = "messages = { connections = [70003], types = [\"text\"] }";

#[tokio::test]
async fn a_granted_text_reaches_the_chat() {
    let (h, chat, _, mut state) = ivan_run(TEXT_ON_TELEGRAM).await;
    h.clear_requests();
    let sent = no_trap(state.send(text(TELEGRAM, chat, "Здравствуйте!")).await).expect("sent");
    assert!(!sent.replayed);
    let log = h.sent(chat).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["request"]["text"]["text"], "Здравствуйте!");
    assert_eq!(
        log[0]["message_id"].as_str(),
        Some(sent.message_id.as_str())
    );
    let requests = h.requests();
    assert!(
        requests.iter().all(|r| !r.ends_with("/availability")),
        "a telegram chat has no window: {requests:?}"
    );
    assert_eq!(status_of(&state), RunStatus::Succeeded);
}

#[tokio::test]
async fn missing_grants_and_scopes_are_denied_before_radist() {
    let h = Harness::start().await;
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    let cases = [
        (
            "kv = true",
            text(TELEGRAM, chat, "hi"),
            "`capabilities.messages` is not granted",
        ),
        (
            "messages = { connections = [70004], types = [\"text\"] }",
            text(TELEGRAM, chat, "hi"),
            "connection 70003 is not in `capabilities.messages.connections`",
        ),
        (
            TEXT_ON_TELEGRAM,
            image(TELEGRAM, chat, "https://x.example/a.png", ""),
            "`image`",
        ),
    ];
    h.clear_requests();
    for (caps, msg, expected) in cases {
        let plugin = h.plugin(caps);
        let mut state = h.run(&plugin, "r1", received(TELEGRAM, chat, None), false);
        let err = no_trap(state.send(msg).await).expect_err("denied");
        assert!(
            matches!(&err, Error::Denied(m) if m.contains(expected)),
            "{caps}: {err:?}"
        );
        assert!(matches!(status_of(&state), RunStatus::Denied(_)), "{caps}");
    }
    assert_eq!(h.requests(), Vec::<String>::new());
    assert!(h.sent(chat).await.is_empty());
}

#[tokio::test]
async fn validator_errors_name_every_field_and_send_nothing() {
    let caps = "messages = { connections = [70003], types = [\"text\", \"image\"] }";
    let (h, chat, _, mut state) = ivan_run(caps).await;
    h.clear_requests();
    let long_caption = "x".repeat(1025);
    let err = no_trap(state.send(image(TELEGRAM, chat, " ", &long_caption)).await);
    let Err(Error::Invalid(fields)) = err else {
        panic!("expected invalid, got {err:?}")
    };
    let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["image.url", "image.caption"]);
    let err = no_trap(state.send(text(TELEGRAM, chat, "")).await);
    assert!(
        matches!(&err, Err(Error::Invalid(f)) if f[0].path == "text.text"),
        "{err:?}"
    );
    assert_eq!(h.requests(), Vec::<String>::new());
    assert!(h.sent(chat).await.is_empty());
    assert_eq!(
        status_of(&state),
        RunStatus::Succeeded,
        "invalid is not denied"
    );
}

#[tokio::test]
async fn sends_past_per_minute_are_rate_limited_across_runs_not_denied() {
    let caps = "messages = { connections = [70003], types = [\"text\"], per_minute = 2 }";
    let (h, chat, plugin, mut first) = ivan_run(caps).await;
    for n in 0..2 {
        no_trap(first.send(text(TELEGRAM, chat, &format!("n{n}"))).await).expect("within rate");
    }
    let err = no_trap(first.send(text(TELEGRAM, chat, "n2")).await).expect_err("limited");
    assert!(
        matches!(err, Error::RateLimited(ms) if ms > 1000),
        "{err:?}"
    );
    assert_eq!(
        status_of(&first),
        RunStatus::Succeeded,
        "rate-limited is not denied"
    );
    let mut second = h.run(&plugin, "r2", received(TELEGRAM, chat, None), false);
    let err = no_trap(second.send(text(TELEGRAM, chat, "n3")).await).expect_err("shared bucket");
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(h.sent(chat).await.len(), 2);
    // The budget is checked before the intent: nothing to reconcile on the next attempt, and
    // the action says the plugin's own budget stood in the way (the run waits, not retries).
    assert!(
        h.journal().entry("r1", 3).is_none(),
        "no intent for a send over budget"
    );
    assert!(h.journal().entry("r1", 2).is_some());
    let records = first.ctx.recorder.into_records();
    let ActionOutcome::Error(error) = &records[2].outcome else {
        panic!("{:?}", records[2].outcome);
    };
    assert!(matches!(error.retry, RetryClass::Budget { wait } if wait > Duration::from_secs(1)));
}

#[tokio::test]
async fn a_send_answered_from_the_journal_gives_its_token_back() {
    let caps = "messages = { connections = [70003], types = [\"text\"], per_minute = 2 }";
    let (h, chat, plugin, mut first) = ivan_run(caps).await;
    no_trap(first.send(text(TELEGRAM, chat, "once")).await).expect("within budget");
    let mut again = h.run(&plugin, "r1", received(TELEGRAM, chat, None), false);
    let replayed = no_trap(again.send(text(TELEGRAM, chat, "once")).await);
    assert!(replayed.expect("answered from the journal").replayed);
    let mut other = h.run(&plugin, "r2", received(TELEGRAM, chat, None), false);
    no_trap(other.send(text(TELEGRAM, chat, "two")).await).expect("the replay's token is back");
    let err = no_trap(other.send(text(TELEGRAM, chat, "three")).await).expect_err("spent");
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(h.sent(chat).await.len(), 2);
}

#[tokio::test]
async fn an_unknown_chat_is_not_found() {
    let h = Harness::start().await;
    let mut state = h.manual_run(TEXT_ON_TELEGRAM);
    let err = no_trap(state.send(text(TELEGRAM, 99_999_999, "hi")).await).expect_err("unknown");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(h.sent(99_999_999).await.is_empty());
}

#[tokio::test]
async fn a_chat_on_another_connection_is_refused() {
    let h = Harness::start().await;
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    let caps = "messages = { connections = [70003, 70004], types = [\"text\"] }";
    let plugin = h.plugin(caps);
    // The event vouches for (70003, chat) only; claiming the chat is on 70004 must not pass.
    let event = received(TELEGRAM, chat, Some(SourceType::Telegram));
    let mut state = h.run(&plugin, "r1", event, false);
    let err = no_trap(state.send(text(TELEGRAM_BOT, chat, "hi")).await).expect_err("not ours");
    assert!(
        matches!(&err, Error::NotFound(m) if m.contains("70004")),
        "{err:?}"
    );
    assert!(h.sent(chat).await.is_empty());
    no_trap(state.send(text(TELEGRAM, chat, "hi")).await).expect("the true pair works");
    assert_eq!(h.sent(chat).await.len(), 1);
}

/// A harness with a Telegram chat with `ivan`, a plugin granted `caps`, and its run `r1` on a
/// message in that chat.
async fn ivan_run(caps: &str) -> (Harness, i64, Arc<PluginShared>, HostState) {
    let h = Harness::start().await;
    let chat = h.chat_with(TELEGRAM, json!({"username": "ivan"}), 0).await;
    let plugin = h.plugin(caps);
    let state = h.run(&plugin, "r1", received(TELEGRAM, chat, None), false);
    (h, chat, plugin, state)
}

fn image(connection: i64, chat: i64, url: &str, caption: &str) -> Outgoing {
    let media = MediaMessage {
        kind: MediaKind::Image,
        url: url.to_owned(),
        caption: caption.to_owned(),
    };
    outgoing(connection, chat, Content::Media(media))
}
