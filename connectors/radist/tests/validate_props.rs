//! Property tests for `validate_send`: random outgoing messages (text lengths, inline buttons,
//! reply buttons, list sections and rows, template parameters) built around their limits.
//!
//! Properties: validation never panics and lists at most `MAX_VIOLATIONS + 1` violations; a
//! message within every limit has none; a message exceeding exactly one limit gets a violation
//! naming that field's path.

use proptest::prelude::*;
use radist_connector::models::{ChatSourceType, SendMessageRequest};
use radist_connector::validate::{
    CharCount, MAX_VIOLATIONS, ValidateOptions, Violation, validate_send,
};
use serde_json::{Value, json};

/// Spec limits the generators build around (Appendix A of the Radist spec).
const TEXT_MAX: usize = 8192;
const INLINE_BUTTONS_MAX: usize = 100;
const INLINE_TEXT_MAX: usize = 64;
const BODY_MAX: usize = 1024;
const REPLY_BUTTONS_MAX: usize = 3;
const BUTTON_TITLE_MAX: usize = 20;
const SECTIONS_MAX: usize = 10;
const ROWS_MAX: usize = 10;
const BODY_PARAMS_MAX: usize = 256;
const BODY_PARAM_MAX: usize = 8192;
const BUTTON_PARAMS_MAX: usize = 2;

const BUTTONS: &str = "waba_interactive.action.buttons";
const SECTIONS: &str = "waba_interactive.action.sections.sections";

/// The content of a message, as the lengths and counts that matter.
#[derive(Debug, Clone)]
enum Content {
    Text(usize),
    /// Body length and each reply button's title length.
    Buttons(usize, Vec<usize>),
    /// Rows per section.
    List(Vec<usize>),
    /// Each body parameter's length, and the number of button parameters.
    Template(Vec<usize>, usize),
}

/// A message: its content, each inline button's text length, and the character it repeats.
#[derive(Debug, Clone)]
struct Message {
    content: Content,
    inline: Vec<usize>,
    fill: char,
}

/// Lengths near both ends of `1..=max`.
fn near_limits(max: usize) -> impl Strategy<Value = usize> + Clone {
    prop_oneof![1..=max.min(8), max.saturating_sub(2).max(1)..=max]
}

/// A vector of `item`s whose length `count` chooses.
fn vec_of<S: Strategy + Clone>(
    item: S,
    count: impl Strategy<Value = usize>,
) -> impl Strategy<Value = Vec<S::Value>> {
    count.prop_flat_map(move |n| prop::collection::vec(item.clone(), n))
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        near_limits(TEXT_MAX).prop_map(Content::Text),
        (
            near_limits(BODY_MAX),
            prop::collection::vec(near_limits(BUTTON_TITLE_MAX), 1..=REPLY_BUTTONS_MAX)
        )
            .prop_map(|(body, titles)| Content::Buttons(body, titles)),
        prop::collection::vec(1..=3usize, 1..=SECTIONS_MAX)
            .prop_map(|rows| Content::List(cap_rows(rows))),
        (
            vec_of(
                prop_oneof![8 => 1..=8usize, 1 => near_limits(BODY_PARAM_MAX)],
                prop_oneof![0..=4usize, BODY_PARAMS_MAX - 2..=BODY_PARAMS_MAX]
            ),
            0..=BUTTON_PARAMS_MAX
        )
            .prop_map(|(params, buttons)| Content::Template(params, buttons)),
    ]
}

/// A message within every limit.
fn valid_message() -> impl Strategy<Value = Message> {
    let inline = vec_of(
        near_limits(INLINE_TEXT_MAX),
        prop_oneof![0..=3usize, INLINE_BUTTONS_MAX - 2..=INLINE_BUTTONS_MAX],
    );
    let fill = prop::sample::select(vec!['a', 'é', 'ж', '😀']);
    (content(), inline, fill).prop_map(|(content, inline, fill)| Message {
        content,
        inline,
        fill,
    })
}

/// WhatsApp allows at most 10 rows over all sections: drop rows (not sections) past that.
fn cap_rows(mut rows: Vec<usize>) -> Vec<usize> {
    while rows.iter().sum::<usize>() > ROWS_MAX {
        if let Some(most) = rows.iter_mut().max() {
            *most -= 1;
        }
    }
    rows
}

impl Message {
    fn request(&self) -> SendMessageRequest {
        let mut request = match &self.content {
            Content::Text(len) => {
                json!({"chat_id": 1, "message_type": "text", "text": {"text": self.text(*len)}})
            }
            Content::Buttons(body, titles) => self.interactive(self.buttons(*body, titles)),
            Content::List(rows) => self.interactive(self.list(rows)),
            Content::Template(params, buttons) => self.template(params, *buttons),
        };
        if !self.inline.is_empty() {
            let buttons: Vec<Value> = self
                .inline
                .iter()
                .map(|len| json!({"text": self.text(*len)}))
                .collect();
            request["markup"] = json!({"type": "inline_buttons", "inline_buttons": buttons});
        }
        serde_json::from_value(request).expect("generated request parses")
    }

    fn text(&self, len: usize) -> String {
        std::iter::repeat_n(self.fill, len).collect()
    }

    /// `len` characters that start with `tag` (unique titles stay unique).
    fn tagged(&self, tag: usize, len: usize) -> String {
        let tag = char::from_digit((tag % 10) as u32, 10).unwrap_or('0');
        std::iter::once(tag)
            .chain(std::iter::repeat_n(self.fill, len - 1))
            .collect()
    }

    fn interactive(&self, content: Value) -> Value {
        json!({"chat_id": 1, "message_type": "waba_interactive", "waba_interactive": content})
    }

    fn buttons(&self, body: usize, titles: &[usize]) -> Value {
        let buttons: Vec<Value> = titles
            .iter()
            .enumerate()
            .map(|(i, len)| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": self.tagged(i, *len)}}))
            .collect();
        json!({"type": "button", "body": self.text(body), "action": {"buttons": buttons}})
    }

    fn list(&self, rows: &[usize]) -> Value {
        let sections: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(s, count)| {
                let rows: Vec<Value> = (0..*count)
                    .map(|r| json!({"id": format!("r{s}_{r}"), "title": format!("row {s} {r}")}))
                    .collect();
                json!({"title": format!("section {s}"), "rows": rows})
            })
            .collect();
        let action = json!({"sections": {"button": "Open", "sections": sections}});
        json!({"type": "list", "body": "Menu", "action": action})
    }

    fn template(&self, params: &[usize], buttons: usize) -> Value {
        let body: Vec<String> = params.iter().map(|len| self.text(*len)).collect();
        let buttons: Vec<String> = (0..buttons).map(|i| format!("button {i}")).collect();
        let template = json!({"template_name": "hello", "template_locale": "en",
            "body_params": body, "button_params": buttons});
        json!({"chat_id": 1, "message_type": "waba_template", "waba_template": template})
    }

    /// Exceeds the limit chosen by `choice` among those this message has; returns the path of
    /// the field whose limit it exceeded.
    fn exceed_one(&mut self, choice: usize) -> String {
        let inline = self.inline.len();
        let own = match &self.content {
            Content::Text(_) => 1,
            Content::Buttons(..) | Content::Template(..) => 3,
            Content::List(_) => 2,
        };
        let options = own + 1 + usize::from(inline > 0);
        match choice % options {
            n if n < own => self.exceed_content(n, choice / options),
            n if n == own => {
                self.inline.resize(INLINE_BUTTONS_MAX + 1, 1);
                "markup.inline_buttons".to_owned()
            }
            _ => {
                let i = choice / options % inline;
                self.inline[i] = INLINE_TEXT_MAX + 1;
                format!("markup.inline_buttons[{i}].text")
            }
        }
    }

    /// Exceeds limit number `which` of the content; `pick` chooses an item.
    fn exceed_content(&mut self, which: usize, pick: usize) -> String {
        match (&mut self.content, which) {
            (Content::Text(len), _) => {
                *len = TEXT_MAX + 1;
                "text.text".to_owned()
            }
            (Content::Buttons(body, _), 0) => {
                *body = BODY_MAX + 1;
                "waba_interactive.body".to_owned()
            }
            (Content::Buttons(_, titles), 1) => {
                titles.resize(REPLY_BUTTONS_MAX + 1, 1);
                BUTTONS.to_owned()
            }
            (Content::Buttons(_, titles), _) => {
                let i = pick % titles.len();
                titles[i] = BUTTON_TITLE_MAX + 1;
                format!("{BUTTONS}[{i}].reply.title")
            }
            (Content::List(rows), 0) => {
                rows.resize(SECTIONS_MAX + 1, 1);
                SECTIONS.to_owned()
            }
            (Content::List(rows), _) => {
                *rows = vec![ROWS_MAX + 1];
                format!("{SECTIONS}[0].rows")
            }
            (Content::Template(params, _), 0) => {
                params.resize(BODY_PARAMS_MAX + 1, 1);
                "waba_template.body_params".to_owned()
            }
            (Content::Template(params, _), 1) if !params.is_empty() => {
                let i = pick % params.len();
                params[i] = BODY_PARAM_MAX + 1;
                format!("waba_template.body_params[{i}]")
            }
            (Content::Template(_, buttons), _) => {
                *buttons = BUTTON_PARAMS_MAX + 1;
                "waba_template.button_params".to_owned()
            }
        }
    }
}

/// Any options a caller may pass.
fn options() -> impl Strategy<Value = ValidateOptions> {
    let channels = vec![
        None,
        Some(ChatSourceType::Whatsapp),
        Some(ChatSourceType::Waba),
        Some(ChatSourceType::Telegram),
        Some(ChatSourceType::TelegramBot),
        Some(ChatSourceType::MaxBot),
        Some(ChatSourceType::Unknown),
    ];
    let count = prop_oneof![Just(CharCount::Chars), Just(CharCount::Utf16)];
    (
        prop::sample::select(channels),
        count,
        1024..=4096usize,
        any::<bool>(),
    )
        .prop_map(
            |(channel, count, list_body_max, whatsapp_rules)| ValidateOptions {
                channel,
                count,
                list_body_max,
                whatsapp_rules,
            },
        )
}

fn paths(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.path.as_str()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_message_within_every_limit_has_no_violations(message in valid_message()) {
        let violations = validate_send(&message.request(), &ValidateOptions::default());
        prop_assert!(violations.is_empty(), "{message:?}: {violations:?}");
    }

    #[test]
    fn exceeding_one_limit_names_its_field(mut message in valid_message(), choice in any::<usize>()) {
        let path = message.exceed_one(choice);
        let violations = validate_send(&message.request(), &ValidateOptions::default());
        prop_assert!(
            paths(&violations).contains(&path.as_str()),
            "expected a violation at {path}: {violations:?}"
        );
    }

    #[test]
    fn any_message_is_validated_without_panic_and_the_list_is_bounded(
        mut message in valid_message(),
        choices in prop::collection::vec(any::<usize>(), 0..6),
        empty_inline in prop_oneof![Just(0usize), 0..=INLINE_BUTTONS_MAX + 1],
        opts in options(),
    ) {
        for choice in choices {
            message.exceed_one(choice);
        }
        message.inline.extend(std::iter::repeat_n(0, empty_inline));
        let violations = validate_send(&message.request(), &opts);
        prop_assert!(violations.len() <= MAX_VIOLATIONS + 1, "{} violations", violations.len());
    }
}
