//! Outgoing-message validators: pure functions run before any HTTP call.
//!
//! [`validate_send`] checks a [`SendMessageRequest`] against the Radist spec's limits
//! (API.md §2.2, Appendix A) and, where they are stricter and apply, the messenger's own rules
//! (WhatsApp: LIMITS.md §0–§2; Telegram: §7). [`validate_template_params`] checks a template
//! request against the template it names (parameter counts, approval).
//!
//! Every function returns the violations in the order the request is walked, each with the JSON
//! path of the offending value and a lowercase message that states the limit and the actual
//! value; at most [`MAX_VIOLATIONS`] are listed and a last one counts the rest. A list over its
//! limit gets one violation and its items are not walked. An empty vector means the request is
//! valid.
//!
//! Messenger rules (when [`ValidateOptions::whatsapp_rules`] is set):
//! - they apply when the channel is `whatsapp`, `waba` or unknown, except the 4096-character
//!   text limit, which applies only when the channel is known to be `whatsapp`/`waba`;
//! - a known `telegram`/`telegram_bot` channel limits text to 4096 (caption 1024, as the spec).

mod check;
mod content;
mod interactive;
mod locales;
mod template;

use serde::{Deserialize, Serialize};

use crate::models::{ChatSourceType, SendMessageRequest};

pub use check::MAX_VIOLATIONS;
pub use locales::WHATSAPP_LOCALES;

/// The spec's list limits (Appendix A), for callers that refuse oversized input before they
/// build a request from it.
pub mod limits {
    /// `markup.inline_buttons`.
    pub const INLINE_BUTTONS_MAX: usize = 100;
    /// `waba_template.header_params`.
    pub const HEADER_PARAMS_MAX: usize = 256;
    /// `waba_template.body_params`.
    pub const BODY_PARAMS_MAX: usize = 256;
    /// `waba_template.button_params` (and each carousel card's).
    pub const BUTTON_PARAMS_MAX: usize = 2;
    /// `waba_template.carousel_media_card_params`.
    pub const CAROUSEL_MAX: usize = 10;
    /// A carousel card's `body_params`.
    pub const CARD_BODY_PARAMS_MAX: usize = 160;
    /// `waba_interactive.action.buttons`.
    pub const INTERACTIVE_BUTTONS_MAX: usize = 3;
    /// `waba_interactive.action.sections.sections`.
    pub const SECTIONS_MAX: usize = 10;
    /// A section's `rows`.
    pub const ROWS_MAX: usize = 10;
}
pub use template::validate_template_params;

/// One problem with a request: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    /// JSON path in the request, e.g. `waba_interactive.action.buttons[1].reply.title`.
    pub path: String,
    /// Lowercase, states the limit and the actual value, e.g.
    /// `must be at most 20 characters (got 23)`.
    pub message: String,
}

/// How characters are counted for length limits (Meta never defines the unit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CharCount {
    /// Unicode scalar values (`str::chars`), the default.
    #[default]
    Chars,
    /// UTF-16 code units: stricter for emoji and other astral characters.
    Utf16,
}

/// What to check beyond the spec's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateOptions {
    /// The messenger of the target chat, when known; its rules are applied.
    pub channel: Option<ChatSourceType>,
    /// The unit of every length limit.
    pub count: CharCount,
    /// Maximum body length of a `list` interactive message: 1024 (default, the spec and
    /// Meta's legacy reference) or up to 4096 (Meta's current list page). Values above 1024
    /// exceed the Radist spec's `body` limit, so Radist itself may still refuse them.
    pub list_body_max: usize,
    /// Apply WhatsApp's rules where they are stricter than the spec.
    pub whatsapp_rules: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            channel: None,
            count: CharCount::Chars,
            list_body_max: 1024,
            whatsapp_rules: true,
        }
    }
}

impl ValidateOptions {
    /// Default options for a chat of the given messenger.
    pub fn for_channel(channel: ChatSourceType) -> Self {
        Self {
            channel: Some(channel),
            ..Self::default()
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every violation of `req`, in request order; empty when the request may be sent.
pub fn validate_send(req: &SendMessageRequest, opts: &ValidateOptions) -> Vec<Violation> {
    let mut checker = check::Checker::new(opts);
    content::check_envelope(&mut checker, req);
    content::check_content(&mut checker, req);
    if let Some(markup) = &req.markup {
        content::check_markup(&mut checker, markup);
    }
    checker.finish()
}

#[cfg(test)]
mod bounds_tests;
