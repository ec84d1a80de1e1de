//! `waba_template` rules of `validate_send` (spec limits, WhatsApp name, language and
//! parameter whitespace) and `validate_template_params` against a template definition.

use radist_connector::models::{WabaTemplateIn, WabaTemplateMessageOut};
use radist_connector::validate::{ValidateOptions, WHATSAPP_LOCALES, validate_template_params};
use serde_json::{Value, json};

mod validate_support;

/// Validates a request carrying `template` (the `waba_template` object).
fn check_with(opts: &ValidateOptions, template: Value, expected: &[(&str, &str)]) {
    let request =
        json!({"chat_id": 38000001, "message_type": "waba_template", "waba_template": template});
    validate_support::check_request(opts, request, expected);
}

fn check(template: Value, expected: &[(&str, &str)]) {
    check_with(&ValidateOptions::default(), template, expected);
}

/// Checks `request` against the template `definition` (messaging view).
fn check_params(request: Value, definition: Value, expected: &[(&str, &str)]) {
    let request: WabaTemplateIn = serde_json::from_value(request).expect("request parses");
    let definition: WabaTemplateMessageOut =
        serde_json::from_value(definition).expect("template parses");
    validate_support::assert_violations(validate_template_params(&request, &definition), expected);
}

fn spec_only() -> ValidateOptions {
    ValidateOptions {
        whatsapp_rules: false,
        ..ValidateOptions::default()
    }
}

#[test]
fn name_and_locale_limits() {
    check(
        json!({"template_name": "order_ready", "template_locale": "pt_BR"}),
        &[],
    );
    check_with(
        &spec_only(),
        json!({"template_name": "", "template_locale": "r"}),
        &[
            (
                "waba_template.template_name",
                "must be at least 1 character (got 0)",
            ),
            (
                "waba_template.template_locale",
                "must be at least 2 characters (got 1)",
            ),
        ],
    );
    check_with(
        &spec_only(),
        json!({"template_name": "n".repeat(257), "template_locale": "x".repeat(17)}),
        &[
            (
                "waba_template.template_name",
                "must be at most 256 characters (got 257)",
            ),
            (
                "waba_template.template_locale",
                "must be at most 16 characters (got 17)",
            ),
        ],
    );
}

#[test]
fn whatsapp_names_and_languages() {
    check(
        json!({"template_name": "Order-Ready", "template_locale": "english"}),
        &[
            (
                "waba_template.template_name",
                "must contain only lowercase letters, digits and underscores (got \"Order-Ready\")",
            ),
            (
                "waba_template.template_locale",
                "must be a whatsapp language code such as `en_US` or `ru` (got \"english\")",
            ),
        ],
    );
    check_with(
        &spec_only(),
        json!({"template_name": "Order-Ready", "template_locale": "english"}),
        &[],
    );
    assert_eq!(WHATSAPP_LOCALES.len(), 111);
    for locale in ["en", "en_US", "ru", "kk", "uz", "prs_AF", "zh_TW"] {
        assert!(WHATSAPP_LOCALES.contains(&locale), "{locale}");
    }
    check(
        json!({"template_name": "hello", "template_locale": "en_us"}),
        &[(
            "waba_template.template_locale",
            "must be a whatsapp language code such as `en_US` or `ru` (got \"en_us\")",
        )],
    );
}

#[test]
fn parameter_counts_and_lengths() {
    let body: Vec<String> = (0..257).map(|i| i.to_string()).collect();
    let header: Vec<Value> = (0..257)
        .map(|_| json!({"url": "https://cdn.example/h.png"}))
        .collect();
    check(
        json!({"template_name": "t", "template_locale": "en", "header_params": header,
               "body_params": body, "button_params": ["a", "b", "c"]}),
        &[
            (
                "waba_template.header_params",
                "must have at most 256 parameters (got 257)",
            ),
            (
                "waba_template.body_params",
                "must have at most 256 values (got 257)",
            ),
            (
                "waba_template.button_params",
                "must have at most 2 values (got 3)",
            ),
        ],
    );
    check(
        json!({"template_name": "t", "template_locale": "en",
               "header_params": [{"text": "h".repeat(129)}, {}],
               "body_params": ["", "b".repeat(8193)], "button_params": ["u".repeat(1025)]}),
        &[
            (
                "waba_template.header_params[0].text",
                "must be at most 128 characters (got 129)",
            ),
            (
                "waba_template.header_params[1]",
                "must have `text` or `url`",
            ),
            (
                "waba_template.body_params[0]",
                "must be at least 1 character (got 0)",
            ),
            (
                "waba_template.body_params[1]",
                "must be at most 8192 characters (got 8193)",
            ),
            (
                "waba_template.button_params[0]",
                "must be at most 1024 characters (got 1025)",
            ),
        ],
    );
}

#[test]
fn carousel_limits() {
    let card = json!({"header_url": "https://cdn.example/1.jpg", "body_params": ["A"]});
    let cards: Vec<Value> = (0..11).map(|_| card.clone()).collect();
    check(
        json!({"template_name": "cards", "template_locale": "en", "carousel_media_card_params": cards}),
        &[(
            "waba_template.carousel_media_card_params",
            "must have at most 10 cards (got 11)",
        )],
    );
    let bad = json!({"header_url": "", "body_params": ["c".repeat(161)], "button_params": ["", "b", "c"]});
    let p = "waba_template.carousel_media_card_params[0]";
    check(
        json!({"template_name": "cards", "template_locale": "en", "carousel_media_card_params": [bad]}),
        &[
            (&format!("{p}.header_url"), "must not be empty"),
            (
                &format!("{p}.body_params[0]"),
                "must be at most 160 characters (got 161)",
            ),
            (
                &format!("{p}.button_params"),
                "must have at most 2 values (got 3)",
            ),
            (
                &format!("{p}.button_params[0]"),
                "must be at least 1 character (got 0)",
            ),
        ],
    );
}

#[test]
fn parameter_values_follow_whatsapp_whitespace_rules() {
    let template = json!({"template_name": "t", "template_locale": "en",
        "header_params": [{"text": "a\tb"}], "body_params": ["line\nbreak", "a     b", "a    b"]});
    check(
        template.clone(),
        &[
            (
                "waba_template.header_params[0].text",
                "must not contain new-line or tab characters on whatsapp (got '\\t')",
            ),
            (
                "waba_template.body_params[0]",
                "must not contain new-line or tab characters on whatsapp (got '\\n')",
            ),
            (
                "waba_template.body_params[1]",
                "must not contain more than 4 consecutive spaces on whatsapp (got 5)",
            ),
        ],
    );
    check_with(&spec_only(), template, &[]);
}

fn definition(status: &str) -> Value {
    json!({"name": "order_ready", "locale": "ru", "status": status, "components": {
        "body": {"text": "Hello {{1}}, order {{2}} is ready", "params_count": 2},
        "header": {"text": "Order {{1}}", "params_count": 1, "format": "TEXT"},
        "buttons": {"text": "", "params_count": 0, "buttons": [
            {"type": "URL", "text": "Track", "url": "https://x.invalid/{{1}}", "params_count": 1},
            {"type": "QUICK_REPLY", "text": "Thanks", "params_count": 0}]}}})
}

#[test]
fn params_match_the_template() {
    let request = json!({"template_name": "order_ready", "template_locale": "ru",
        "header_params": [{"text": "42"}], "body_params": ["Ivan", "42"], "button_params": ["42"]});
    check_params(request, definition("APPROVED"), &[]);
    let request = json!({"template_name": "order_ready", "template_locale": "ru",
        "body_params": ["Ivan"], "button_params": ["42", "43"]});
    check_params(
        request,
        definition("APPROVED"),
        &[
            (
                "waba_template.body_params",
                "must have exactly 2 values for template `order_ready` (got 1)",
            ),
            (
                "waba_template.header_params",
                "must have exactly 1 parameter for template `order_ready` (got 0)",
            ),
            (
                "waba_template.button_params",
                "must have exactly 1 value for template `order_ready` (got 2)",
            ),
        ],
    );
}

#[test]
fn template_must_be_approved_and_match_name_and_locale() {
    let request = json!({"template_name": "order_redy", "template_locale": "en",
        "header_params": [{"text": "42"}], "body_params": ["Ivan", "42"], "button_params": ["42"]});
    check_params(
        request,
        definition("PENDING"),
        &[
            (
                "waba_template.template_name",
                "must be `order_ready` (got `order_redy`)",
            ),
            ("waba_template.template_locale", "must be `ru` (got `en`)"),
            (
                "waba_template.template_name",
                "template `order_ready` must be approved (status is `PENDING`)",
            ),
        ],
    );
}

#[test]
fn media_headers_take_at_most_one_url() {
    let mut template = definition("APPROVED");
    template["components"]["header"] = json!({"text": "", "params_count": 0, "format": "IMAGE"});
    template["components"]["buttons"] = Value::Null;
    let base = json!({"template_name": "order_ready", "template_locale": "ru", "body_params": ["Ivan", "42"]});
    check_params(base.clone(), template.clone(), &[]);
    let mut with_url = base.clone();
    with_url["header_params"] = json!([{"url": "https://cdn.example/o.png"}]);
    check_params(with_url, template.clone(), &[]);
    let mut two = base;
    two["header_params"] = json!([{"url": "https://cdn.example/o.png"}, {"text": "x"}]);
    check_params(
        two,
        template,
        &[
            (
                "waba_template.header_params",
                "must have at most 1 parameter (got 2)",
            ),
            (
                "waba_template.header_params[1].url",
                "is required by the `IMAGE` header of template `order_ready`",
            ),
        ],
    );
}

#[test]
fn carousel_cards_match_the_template() {
    let card = json!({"body": {"text": "{{1}}", "params_count": 1},
        "header": {"text": "", "params_count": 0, "format": "IMAGE"},
        "buttons": {"text": "", "params_count": 0, "buttons": []}});
    let template = json!({"name": "cards", "locale": "en", "status": "APPROVED", "components": {
        "body": {"text": "Pick", "params_count": 0}, "carousel": {"cards": [card.clone(), card]}}});
    let request = json!({"template_name": "cards", "template_locale": "en",
        "carousel_media_card_params": [{"header_url": "https://cdn.example/1.jpg", "body_params": []}]});
    let p = "waba_template.carousel_media_card_params";
    check_params(
        request,
        template,
        &[
            (p, "must have exactly 2 cards for template `cards` (got 1)"),
            (
                &format!("{p}[0].body_params"),
                "must have exactly 1 value for template `cards` (got 0)",
            ),
        ],
    );
}
