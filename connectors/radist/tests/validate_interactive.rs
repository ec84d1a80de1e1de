//! `validate_send` on `waba_interactive`: reply buttons, lists, headers and WhatsApp's
//! interactive rules (LIMITS.md §1.2, §1.3).

use radist_connector::models::{ChatSourceType, SendMessageRequest};
use radist_connector::validate::{ValidateOptions, validate_send};
use serde_json::{Value, json};

mod validate_support;

/// Validates `interactive` (the `waba_interactive` object) with `opts`, comparing every
/// violation in order.
fn check_with(opts: &ValidateOptions, interactive: Value, expected: &[(&str, &str)]) {
    let request = json!({"chat_id": 38000001, "message_type": "waba_interactive",
                         "waba_interactive": interactive});
    validate_support::check_request(opts, request, expected);
}

fn check(interactive: Value, expected: &[(&str, &str)]) {
    check_with(&ValidateOptions::default(), interactive, expected);
}

fn buttons(buttons: Value) -> Value {
    json!({"type": "button", "body": "Pick one", "action": {"buttons": buttons}})
}

fn reply(id: &str, title: &str) -> Value {
    json!({"type": "reply", "reply": {"id": id, "title": title}})
}

fn row(id: &str, title: &str) -> Value {
    json!({"id": id, "title": title})
}

fn list(sections: Value) -> Value {
    json!({"type": "list", "body": "Menu", "action": {"sections": {"button": "Open", "sections": sections}}})
}

const P: &str = "waba_interactive.action.sections.sections";

#[test]
fn valid_buttons_and_list_pass() {
    check(
        buttons(json!([reply("yes", "Yes"), reply("no", "No")])),
        &[],
    );
    check(
        list(json!([{"title": "Drinks", "rows": [row("tea", "Tea"), row("coffee", "Coffee")]}])),
        &[],
    );
    check(list(json!([{"rows": [row("tea", "Tea")]}])), &[]);
}

#[test]
fn button_count_title_and_id_limits() {
    check(
        buttons(json!([])),
        &[(
            "waba_interactive.action.buttons",
            "must have at least 1 button (got 0)",
        )],
    );
    let long_id = "i".repeat(201);
    check(
        buttons(json!([reply(&long_id, ""), {"type": "reply", "reply": {"title": "No id"}}])),
        &[
            (
                "waba_interactive.action.buttons[0].reply.title",
                "must be at least 1 character (got 0)",
            ),
            (
                "waba_interactive.action.buttons[0].reply.id",
                "must be at most 200 characters (got 201)",
            ),
        ],
    );
}

#[test]
fn a_long_title_past_the_button_limit_is_reported_beside_the_count() {
    let long = "t".repeat(21);
    check(
        buttons(json!([
            reply("a", "A"),
            reply("b", "B"),
            reply("c", "C"),
            reply("d", &long)
        ])),
        &[
            (
                "waba_interactive.action.buttons",
                "must have at most 3 buttons (got 4)",
            ),
            (
                "waba_interactive.action.buttons[3].reply.title",
                "must be at most 20 characters (got 21)",
            ),
        ],
    );
}

#[test]
fn ids_are_unique_across_buttons_and_rows_and_have_no_outer_spaces() {
    let sections =
        json!([{"title": "A", "rows": [row("x", "One"), row("x", "Two"), row("y ", "Three")]}]);
    check(
        list(sections),
        &[
            (
                &format!("{P}[0].rows[1].id"),
                "must be unique in the message (\"x\" is also at waba_interactive.action.sections.sections[0].rows[0].id)",
            ),
            (
                &format!("{P}[0].rows[2].id"),
                "must not start or end with whitespace (got \"y \")",
            ),
        ],
    );
}

#[test]
fn body_footer_and_header_limits() {
    let mut message = buttons(json!([reply("a", "A")]));
    message["body"] = json!("b".repeat(1025));
    message["footer"] = json!("");
    message["header"] = json!({"type": "document", "url": "https://cdn.example/a.pdf", "filename": "f".repeat(129)});
    check(
        message,
        &[
            (
                "waba_interactive.body",
                "must be at most 1024 characters (got 1025)",
            ),
            (
                "waba_interactive.footer",
                "must be at least 1 character (got 0)",
            ),
            (
                "waba_interactive.header.filename",
                "must be at most 128 characters (got 129)",
            ),
        ],
    );
    let headers_missing_their_content = [
        (
            json!({"type": "image"}),
            "waba_interactive.header.url",
            "is required for a media header (`image`)",
        ),
        (
            json!({"type": "text"}),
            "waba_interactive.header.text",
            "is required for a `text` header",
        ),
    ];
    for (header, path, message) in headers_missing_their_content {
        let mut body = buttons(json!([reply("a", "A")]));
        body["header"] = header;
        check(body, &[(path, message)]);
    }
}

#[test]
fn action_must_match_the_type() {
    check(
        json!({"type": "button", "body": "Hi", "action": {"sections": {"button": "Open", "sections": []}}}),
        &[
            (
                "waba_interactive.action.sections",
                "must be absent for a `button` message",
            ),
            (
                "waba_interactive.action.buttons",
                "is required for a `button` message",
            ),
        ],
    );
    check(
        json!({"type": "list", "body": "Hi", "action": {}}),
        &[(
            "waba_interactive.action.sections",
            "is required for a `list` message",
        )],
    );
}

#[test]
fn list_button_sections_and_rows_limits() {
    let mut message = list(json!([]));
    message["action"]["sections"]["button"] = json!("Open the full menu now");
    check(
        message,
        &[
            (
                "waba_interactive.action.sections.button",
                "must be at most 20 characters (got 22)",
            ),
            (P, "must have at least 1 section (got 0)"),
        ],
    );
    let eleven: Vec<Value> = (0..11).map(|i| row(&format!("r{i}"), "Row")).collect();
    let sections =
        json!([{"title": "t".repeat(25), "rows": eleven}, {"title": "Empty", "rows": []}]);
    check(
        list(sections),
        &[
            (P, "must have at most 10 rows in total (got 11)"),
            (
                &format!("{P}[0].title"),
                "must be at most 24 characters (got 25)",
            ),
            (
                &format!("{P}[0].rows"),
                "must have at most 10 rows (got 11)",
            ),
            (&format!("{P}[1].rows"), "must have at least 1 row (got 0)"),
        ],
    );
    let many: Vec<Value> = (0..11)
        .map(|i| json!({"title": format!("S{i}"), "rows": []}))
        .collect();
    let mut message = list(Value::Array(many));
    message["action"]["sections"]["sections"][0]["rows"] = json!([row("a", "A")]);
    let violations = validate(message);
    assert_eq!(
        violations[0],
        (
            P.to_owned(),
            "must have at most 10 sections (got 11)".to_owned()
        )
    );
}

#[test]
fn row_title_and_description_limits() {
    let sections = json!([{"rows": [{"id": "a", "title": "r".repeat(25), "description": "d".repeat(73)},
                                    {"id": "b", "title": "Ok", "description": ""}]}]);
    check(
        list(sections),
        &[
            (
                &format!("{P}[0].rows[0].title"),
                "must be at most 24 characters (got 25)",
            ),
            (
                &format!("{P}[0].rows[0].description"),
                "must be at most 72 characters (got 73)",
            ),
        ],
    );
}

#[test]
fn several_sections_need_titles_on_whatsapp() {
    let sections = json!([{"title": "A", "rows": [row("a", "A")]}, {"rows": [row("b", "B")]}]);
    let expected = [(
        &*format!("{P}[1].title"),
        "is required when the list has more than one section",
    )];
    check(list(sections.clone()), &expected);
    check_with(
        &ValidateOptions::for_channel(ChatSourceType::Waba),
        list(sections.clone()),
        &expected,
    );
    let spec_only = ValidateOptions {
        whatsapp_rules: false,
        ..ValidateOptions::default()
    };
    check_with(&spec_only, list(sections), &[]);
}

#[test]
fn list_header_must_be_text_on_whatsapp() {
    let mut message = list(json!([{"rows": [row("a", "A")]}]));
    message["header"] = json!({"type": "video", "url": "https://cdn.example/v.mp4"});
    check(
        message.clone(),
        &[(
            "waba_interactive.header.type",
            "must be `text` for a `list` message (got `video`)",
        )],
    );
    let spec_only = ValidateOptions {
        whatsapp_rules: false,
        ..ValidateOptions::default()
    };
    check_with(&spec_only, message, &[]);
}

#[test]
fn list_body_limit_is_configurable() {
    let mut message = list(json!([{"rows": [row("a", "A")]}]));
    message["body"] = json!("b".repeat(2000));
    check(
        message.clone(),
        &[(
            "waba_interactive.body",
            "must be at most 1024 characters (got 2000)",
        )],
    );
    let wide = ValidateOptions {
        list_body_max: 4096,
        ..ValidateOptions::default()
    };
    check_with(&wide, message.clone(), &[]);
    let mut button = buttons(json!([reply("a", "A")]));
    button["body"] = message["body"].clone();
    check_with(
        &wide,
        button,
        &[(
            "waba_interactive.body",
            "must be at most 1024 characters (got 2000)",
        )],
    );
}

fn validate(interactive: Value) -> Vec<(String, String)> {
    let request =
        json!({"chat_id": 1, "message_type": "waba_interactive", "waba_interactive": interactive});
    let request: SendMessageRequest = serde_json::from_value(request).expect("request parses");
    validate_send(&request, &ValidateOptions::default())
        .into_iter()
        .map(|v| (v.path, v.message))
        .collect()
}
