//! `validate_send`: request-level rules (chat id, message type vs content, channels), text,
//! media and markup, and one request with many violations at once.

use radist_connector::models::{ChatId, ChatSourceType, MessageType, SendMessageRequest};
use radist_connector::validate::{CharCount, ValidateOptions, validate_send};
use serde_json::{Value, json};

mod validate_support;

/// Validates `request` with `opts` and compares every violation, in order.
fn check_with(opts: &ValidateOptions, request: Value, expected: &[(&str, &str)]) {
    validate_support::check_request(opts, request, expected);
}

fn check(request: Value, expected: &[(&str, &str)]) {
    check_with(&ValidateOptions::default(), request, expected);
}

fn on(channel: ChatSourceType) -> ValidateOptions {
    ValidateOptions::for_channel(channel)
}

fn text(body: &str) -> Value {
    json!({"chat_id": 38000001, "message_type": "text", "text": {"text": body}})
}

fn media(kind: &str, caption: &str) -> Value {
    let mut request = json!({"chat_id": 38000001, "message_type": kind});
    request[kind] = json!({"url": "https://cdn.example/f", "caption": caption});
    request
}

#[test]
fn valid_text_has_no_violations() {
    check(text("Hello"), &[]);
    check_with(&on(ChatSourceType::Waba), text(&"a".repeat(4096)), &[]);
}

#[test]
fn chat_id_must_be_in_range() {
    let mut request = text("Hi");
    request["chat_id"] = json!(0);
    check(
        request.clone(),
        &[("chat_id", "must be between 1 and 2147483647 (got 0)")],
    );
    request["chat_id"] = json!(2147483648_i64);
    check(
        request,
        &[(
            "chat_id",
            "must be between 1 and 2147483647 (got 2147483648)",
        )],
    );
}

#[test]
fn text_length_follows_the_spec_and_the_known_messenger() {
    check(
        text(""),
        &[("text.text", "must be at least 1 character (got 0)")],
    );
    check(
        text(&"a".repeat(8193)),
        &[("text.text", "must be at most 8192 characters (got 8193)")],
    );
    let long = text(&"a".repeat(4097));
    check(long.clone(), &[]);
    let whatsapp = [(
        "text.text",
        "must be at most 4096 characters on whatsapp (got 4097)",
    )];
    check_with(&on(ChatSourceType::Whatsapp), long.clone(), &whatsapp);
    let telegram = [(
        "text.text",
        "must be at most 4096 characters on telegram_bot (got 4097)",
    )];
    check_with(&on(ChatSourceType::TelegramBot), long.clone(), &telegram);
    check_with(&on(ChatSourceType::MaxBot), long.clone(), &[]);
    let no_whatsapp = ValidateOptions {
        whatsapp_rules: false,
        ..on(ChatSourceType::Waba)
    };
    check_with(&no_whatsapp, long, &[]);
}

#[test]
fn utf16_counting_is_stricter_for_emoji() {
    let emoji = "😀".repeat(2100);
    check_with(&on(ChatSourceType::Waba), text(&emoji), &[]);
    let strict = ValidateOptions {
        count: CharCount::Utf16,
        ..on(ChatSourceType::Waba)
    };
    let expected = [(
        "text.text",
        "must be at most 4096 utf-16 code units on waba (got 4200)",
    )];
    check_with(&strict, text(&emoji), &expected);
}

#[test]
fn content_must_match_message_type() {
    check(
        json!({"chat_id": 1, "message_type": "text", "image": {"url": "https://cdn.example/a"}}),
        &[
            ("text", "is required when message_type is `text`"),
            ("image", "must be absent when message_type is `text`"),
        ],
    );
}

#[test]
fn orders_cannot_be_sent() {
    for kind in ["radist_order", "waba_order"] {
        let message = format!("`{kind}` messages cannot be sent");
        check(
            json!({"chat_id": 1, "message_type": kind}),
            &[("message_type", &message)],
        );
    }
}

#[test]
fn unknown_message_types_cannot_be_sent() {
    let mut request = SendMessageRequest::text(ChatId(1), "Hi");
    request.message_type = MessageType::Unknown;
    let actual = validate_send(&request, &ValidateOptions::default());
    let messages: Vec<String> = actual.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "message_type: `unknown` messages cannot be sent",
            "text: must be absent when message_type is `unknown`",
        ]
    );
}

#[test]
fn waba_only_types_need_a_waba_chat() {
    let request = json!({"chat_id": 1, "message_type": "waba_template",
        "waba_template": {"template_name": "hello", "template_locale": "en"}});
    check_with(&on(ChatSourceType::Waba), request.clone(), &[]);
    check(request.clone(), &[]);
    check_with(
        &on(ChatSourceType::Whatsapp),
        request,
        &[(
            "message_type",
            "`waba_template` can only be sent to waba chats (chat is whatsapp)",
        )],
    );
}

#[test]
fn captions_are_limited_and_refused_on_waba_audio() {
    check(media("image", &"c".repeat(1024)), &[]);
    check(
        media("video", &"c".repeat(1025)),
        &[(
            "video.caption",
            "must be at most 1024 characters (got 1025)",
        )],
    );
    let audio = [(
        "audio.caption",
        "must be empty for audio messages on waba (got 4 characters)",
    )];
    check(media("audio", "song"), &audio);
    check_with(&on(ChatSourceType::Waba), media("audio", "song"), &audio);
    let voice = [(
        "voice.caption",
        "must be empty for voice messages on waba (got 2 characters)",
    )];
    check(media("voice", "hi"), &voice);
    check_with(&on(ChatSourceType::Telegram), media("audio", "song"), &[]);
    check_with(&on(ChatSourceType::Whatsapp), media("audio", "song"), &[]);
    check(media("voice", ""), &[]);
}

#[test]
fn media_url_must_not_be_empty() {
    let mut request = media("file", "");
    request["file"]["url"] = json!(" ");
    check(request, &[("file.url", "must not be empty")]);
}

#[test]
fn markup_buttons_are_limited() {
    let mut request = text("Pick");
    let buttons: Vec<Value> = (0..101).map(|i| json!({"text": format!("b{i}")})).collect();
    request["markup"] = json!({"type": "inline_buttons", "inline_buttons": buttons});
    request["markup"]["inline_buttons"][3]["text"] = json!("");
    request["markup"]["inline_buttons"][7]["text"] = json!("x".repeat(65));
    check(
        request,
        &[
            (
                "markup.inline_buttons",
                "must have at most 100 buttons (got 101)",
            ),
            (
                "markup.inline_buttons[3].text",
                "must be at least 1 character (got 0)",
            ),
            (
                "markup.inline_buttons[7].text",
                "must be at most 64 characters (got 65)",
            ),
        ],
    );
}

#[test]
fn every_violation_is_reported_in_request_order() {
    let request = json!({
        "chat_id": -5, "message_type": "waba_interactive",
        "text": {"text": "stray"},
        "waba_interactive": {
            "type": "button",
            "header": {"type": "text", "text": "h".repeat(61)},
            "body": "",
            "footer": "f".repeat(61),
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": " yes", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "no", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "no", "title": "Definitely not, never"}},
                {"type": "reply", "reply": {"title": "Later"}}
            ]}
        },
        "markup": {"type": "inline_buttons", "inline_buttons": [{"text": ""}]}
    });
    check_with(
        &on(ChatSourceType::Telegram),
        request,
        &[
            ("chat_id", "must be between 1 and 2147483647 (got -5)"),
            (
                "message_type",
                "`waba_interactive` can only be sent to waba chats (chat is telegram)",
            ),
            (
                "text",
                "must be absent when message_type is `waba_interactive`",
            ),
            (
                "waba_interactive.body",
                "must be at least 1 character (got 0)",
            ),
            (
                "waba_interactive.footer",
                "must be at most 60 characters (got 61)",
            ),
            (
                "waba_interactive.header.text",
                "must be at most 60 characters (got 61)",
            ),
            (
                "waba_interactive.action.buttons",
                "must have at most 3 buttons (got 4)",
            ),
            (
                "waba_interactive.action.buttons[0].reply.id",
                "must not start or end with whitespace (got \" yes\")",
            ),
            (
                "waba_interactive.action.buttons[1].reply.title",
                "must be unique among the buttons (\"Yes\" is also at waba_interactive.action.buttons[0].reply.title)",
            ),
            (
                "waba_interactive.action.buttons[2].reply.title",
                "must be at most 20 characters (got 21)",
            ),
            (
                "waba_interactive.action.buttons[2].reply.id",
                "must be unique in the message (\"no\" is also at waba_interactive.action.buttons[1].reply.id)",
            ),
            (
                "markup.inline_buttons[0].text",
                "must be at least 1 character (got 0)",
            ),
        ],
    );
}
