//! `waba_template` checks: the spec's limits on names and positional parameters, WhatsApp's
//! name, language and parameter-whitespace rules, and [`validate_template_params`], which
//! checks a request against the template it names.

use super::check::Checker;
use super::limits::{
    BODY_PARAMS_MAX, BUTTON_PARAMS_MAX, CARD_BODY_PARAMS_MAX, CAROUSEL_MAX, HEADER_PARAMS_MAX,
};
use super::{ValidateOptions, Violation, locales};
use crate::models::{WabaTemplateIn, WabaTemplateMessageOut};

/// Spec limits of `WabaTemplateMessageContentIn` (Appendix A).
const NAME: (usize, usize) = (1, 256);
const LOCALE: (usize, usize) = (2, 16);
const HEADER_TEXT: (usize, usize) = (1, 128);
const BODY_PARAM: (usize, usize) = (1, 8192);
const BUTTON_PARAM: (usize, usize) = (1, 1024);
const CARD_BODY_PARAM: (usize, usize) = (1, 160);
/// WhatsApp rejects parameter values with a longer run of spaces (error 132018).
const MAX_SPACE_RUN: usize = 4;

/// Checks a `waba_template` content object (paths under `waba_template.`).
pub(crate) fn check_template(c: &mut Checker<'_>, t: &WabaTemplateIn) {
    check_name_and_locale(c, t);
    let header = &t.header_params;
    let path = "waba_template.header_params";
    let walk = c.count(path, header.len(), (0, HEADER_PARAMS_MAX), "parameter");
    for (i, param) in header.iter().take(walk).enumerate() {
        let path = format!("{path}[{i}]");
        match (&param.text, &param.url) {
            (None, None) => c.push(&path, "must have `text` or `url`"),
            (Some(text), _) => param_text(c, &format!("{path}.text"), text, HEADER_TEXT),
            (None, Some(_)) => {}
        }
    }
    let path = "waba_template.body_params";
    param_list(c, path, &t.body_params, BODY_PARAMS_MAX, BODY_PARAM);
    let path = "waba_template.button_params";
    param_list(c, path, &t.button_params, BUTTON_PARAMS_MAX, BUTTON_PARAM);
    check_carousel(c, t);
}

/// Checks `req` against `template` (from `GET …/messaging/waba_templates/`): same name and
/// locale, `APPROVED`, and as many parameters as the template has placeholders.
///
/// A media header (`IMAGE`, `VIDEO`, `DOCUMENT`) takes at most one `url` parameter; whether
/// Radist requires it is unknown, so a missing one is not reported.
pub fn validate_template_params(
    req: &WabaTemplateIn,
    template: &WabaTemplateMessageOut,
) -> Vec<Violation> {
    let opts = ValidateOptions::default();
    let mut c = Checker::new(&opts);
    let name = &template.name;
    if req.template_name != *name {
        let got = &req.template_name;
        c.push(
            "waba_template.template_name",
            format!("must be `{name}` (got `{got}`)"),
        );
    }
    if req.template_locale != template.locale {
        let (want, got) = (&template.locale, &req.template_locale);
        c.push(
            "waba_template.template_locale",
            format!("must be `{want}` (got `{got}`)"),
        );
    }
    if !template.status.eq_ignore_ascii_case("APPROVED") {
        let status = &template.status;
        c.push(
            "waba_template.template_name",
            format!("template `{name}` must be approved (status is `{status}`)"),
        );
    }
    check_param_counts(&mut c, req, template);
    c.finish()
}

fn check_name_and_locale(c: &mut Checker<'_>, t: &WabaTemplateIn) {
    let name = &t.template_name;
    c.length("waba_template.template_name", name, NAME);
    let valid_char = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_';
    if c.whatsapp_applies() && !name.chars().all(valid_char) {
        c.push(
            "waba_template.template_name",
            format!("must contain only lowercase letters, digits and underscores (got {name:?})"),
        );
    }
    let locale = &t.template_locale;
    c.length("waba_template.template_locale", locale, LOCALE);
    if c.whatsapp_applies() && !locales::is_supported(locale) {
        c.push(
            "waba_template.template_locale",
            format!("must be a whatsapp language code such as `en_US` or `ru` (got {locale:?})"),
        );
    }
}

fn check_carousel(c: &mut Checker<'_>, t: &WabaTemplateIn) {
    let cards = &t.carousel_media_card_params;
    let path = "waba_template.carousel_media_card_params";
    let walk = c.count(path, cards.len(), (0, CAROUSEL_MAX), "card");
    for (i, card) in cards.iter().take(walk).enumerate() {
        let path = format!("{path}[{i}]");
        if card.header_url.trim().is_empty() {
            c.push(format!("{path}.header_url"), "must not be empty");
        }
        let body = format!("{path}.body_params");
        param_list(
            c,
            &body,
            &card.body_params,
            CARD_BODY_PARAMS_MAX,
            CARD_BODY_PARAM,
        );
        let buttons = format!("{path}.button_params");
        param_list(
            c,
            &buttons,
            &card.button_params,
            BUTTON_PARAMS_MAX,
            BUTTON_PARAM,
        );
    }
}

/// A list of text parameters: at most `max` values, each within `range`.
fn param_list(
    c: &mut Checker<'_>,
    path: &str,
    values: &[String],
    max: usize,
    range: (usize, usize),
) {
    let walk = c.count(path, values.len(), (0, max), "value");
    for (i, value) in values.iter().take(walk).enumerate() {
        param_text(c, &format!("{path}[{i}]"), value, range);
    }
}

/// One text parameter: its length, and WhatsApp's whitespace rule (error 132018).
fn param_text(c: &mut Checker<'_>, path: &str, value: &str, range: (usize, usize)) {
    c.length(path, value, range);
    if !c.whatsapp_applies() {
        return;
    }
    if let Some(bad) = value.chars().find(|ch| matches!(ch, '\n' | '\r' | '\t')) {
        c.push(
            path,
            format!("must not contain new-line or tab characters on whatsapp (got {bad:?})"),
        );
    }
    let run = longest_space_run(value);
    if run > MAX_SPACE_RUN {
        c.push(
            path,
            format!("must not contain more than {MAX_SPACE_RUN} consecutive spaces on whatsapp (got {run})"),
        );
    }
}

fn longest_space_run(value: &str) -> usize {
    value.split(|ch| ch != ' ').map(str::len).max().unwrap_or(0)
}

fn check_param_counts(c: &mut Checker<'_>, req: &WabaTemplateIn, t: &WabaTemplateMessageOut) {
    let name = t.name.as_str();
    let parts = &t.components;
    let got = req.body_params.len();
    let body = (got, parts.body.params_count);
    exact(c, "waba_template.body_params", body, "value", name);
    check_header_counts(c, req, t);
    let want = parts.buttons.as_ref().map_or(0, |b| {
        let per_button = b.buttons.iter().map(|button| button.params_count.max(0));
        if b.buttons.is_empty() {
            b.params_count
        } else {
            per_button.sum()
        }
    });
    let buttons = (req.button_params.len(), want);
    exact(c, "waba_template.button_params", buttons, "value", name);
    check_card_counts(c, req, t);
}

fn check_header_counts(c: &mut Checker<'_>, req: &WabaTemplateIn, t: &WabaTemplateMessageOut) {
    let (name, path) = (t.name.as_str(), "waba_template.header_params");
    let params = &req.header_params;
    let header = t.components.header.as_ref();
    let media_format = header
        .map(|h| h.format.as_str())
        .filter(|format| !format.eq_ignore_ascii_case("TEXT"));
    let Some(format) = media_format else {
        let want = header.map_or(0, |h| h.params_count);
        exact(c, path, (params.len(), want), "parameter", name);
        return;
    };
    // Only the first parameter without a url is reported: a scan, not one violation each.
    let _ = c.count(path, params.len(), (0, 1), "parameter");
    if let Some(i) = params.iter().position(|p| p.url.is_none()) {
        c.push(
            format!("{path}[{i}].url"),
            format!("is required by the `{format}` header of template `{name}`"),
        );
    }
}

fn check_card_counts(c: &mut Checker<'_>, req: &WabaTemplateIn, t: &WabaTemplateMessageOut) {
    let Some(carousel) = &t.components.carousel else {
        return;
    };
    let name = t.name.as_str();
    let path = "waba_template.carousel_media_card_params";
    let cards = &req.carousel_media_card_params;
    let want = i64::try_from(carousel.cards.len()).unwrap_or(i64::MAX);
    exact(c, path, (cards.len(), want), "card", name);
    for (i, (card, spec)) in cards.iter().zip(&carousel.cards).enumerate() {
        let counts = (card.body_params.len(), spec.body.params_count);
        exact(
            c,
            &format!("{path}[{i}].body_params"),
            counts,
            "value",
            name,
        );
    }
}

/// `got` values (`noun`s) where the template has `want` placeholders.
fn exact(c: &mut Checker<'_>, path: &str, (got, want): (usize, i64), noun: &str, template: &str) {
    let want = usize::try_from(want).unwrap_or(0);
    if got != want {
        let noun = if want == 1 {
            noun.to_owned()
        } else {
            format!("{noun}s")
        };
        c.push(
            path,
            format!("must have exactly {want} {noun} for template `{template}` (got {got})"),
        );
    }
}
