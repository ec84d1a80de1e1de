//! The validators stay bounded on hostile input: a list past its limit is walked at most
//! [`MAX_VIOLATIONS`] items further, and no request gets more than
//! [`MAX_VIOLATIONS`] listed plus one that counts the rest.

use super::{MAX_VIOLATIONS, ValidateOptions, validate_send};
use crate::models::{ChatId, InlineButtonIn, MarkupIn, SendMessageRequest, WabaTemplateIn};

fn template(body_params: Vec<String>) -> SendMessageRequest {
    let mut t = WabaTemplateIn::new("order_ready".to_owned(), "en_US".to_owned());
    t.body_params = body_params;
    SendMessageRequest::waba_template(ChatId(1), t)
}

#[test]
fn a_million_body_params_is_one_violation() {
    let request = template(vec!["x".to_owned(); 1_000_000]);
    let violations = validate_send(&request, &ValidateOptions::default());
    assert_eq!(
        violations.len(),
        1,
        "{:?}",
        &violations[..violations.len().min(3)]
    );
    assert_eq!(violations[0].path, "waba_template.body_params");
    assert_eq!(
        violations[0].message,
        "must have at most 256 values (got 1000000)"
    );
}

#[test]
fn many_bad_items_are_listed_up_to_the_cap_then_counted() {
    let request = template(vec![String::new(); 200]);
    let violations = validate_send(&request, &ValidateOptions::default());
    assert_eq!(violations.len(), MAX_VIOLATIONS + 1);
    let last = violations.last().expect("a last violation");
    assert_eq!(last.path, "request");
    assert_eq!(
        last.message,
        "and 180 more violations not listed; fix the ones above first"
    );
}

#[test]
fn inline_buttons_past_the_limit_are_walked_only_as_far_as_violations_are_listed() {
    let buttons = (0..5000)
        .map(|i| InlineButtonIn {
            text: if i < 100 {
                "ok".to_owned()
            } else {
                String::new()
            },
            url: None,
        })
        .collect();
    let request = SendMessageRequest::text(ChatId(1), "hi".to_owned())
        .with_markup(MarkupIn::inline_buttons(buttons));
    let violations = validate_send(&request, &ValidateOptions::default());
    assert_eq!(violations.len(), MAX_VIOLATIONS + 1, "{violations:?}");
    assert_eq!(violations[0].path, "markup.inline_buttons");
    assert_eq!(violations[1].path, "markup.inline_buttons[100].text");
    let last = violations.last().expect("a last violation");
    assert_eq!(
        last.message, "and 1 more violations not listed; fix the ones above first",
        "the count and 20 walked items past the limit, not 4900"
    );
}
