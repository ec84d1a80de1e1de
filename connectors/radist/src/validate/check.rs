//! The violation collector shared by the validators: length and count checks with uniform
//! messages, and the channel predicates that decide which messenger rules apply.
//!
//! Bounded by construction: it keeps at most [`MAX_VIOLATIONS`] violations and counts the rest
//! (the last one says how many), and [`Checker::count`] tells its caller to walk at most
//! [`MAX_VIOLATIONS`] items of a list past its limit, so a request with a million parameters
//! costs the host no more than one a little over the limits.

use super::{CharCount, ValidateOptions, Violation};
use crate::models::ChatSourceType;

/// The most violations listed for one request; the rest are counted in a final one.
pub const MAX_VIOLATIONS: usize = 20;

/// Collects violations while a request is walked.
pub(crate) struct Checker<'o> {
    opts: &'o ValidateOptions,
    out: Vec<Violation>,
    /// Violations found beyond [`MAX_VIOLATIONS`].
    more: usize,
}

impl<'o> Checker<'o> {
    pub(crate) fn new(opts: &'o ValidateOptions) -> Self {
        Self {
            opts,
            out: Vec::new(),
            more: 0,
        }
    }

    pub(crate) fn opts(&self) -> &ValidateOptions {
        self.opts
    }

    /// The violations, the last one counting those beyond [`MAX_VIOLATIONS`].
    pub(crate) fn finish(mut self) -> Vec<Violation> {
        if self.more > 0 {
            let more = self.more;
            self.out.push(Violation {
                path: "request".to_owned(),
                message: format!("and {more} more violations not listed; fix the ones above first"),
            });
        }
        self.out
    }

    /// Records one violation (or only counts it, past [`MAX_VIOLATIONS`]).
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        if self.out.len() >= MAX_VIOLATIONS {
            self.more += 1;
            return;
        }
        self.out.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Length of `value` in the configured unit.
    pub(crate) fn len(&self, value: &str) -> usize {
        match self.opts.count {
            CharCount::Chars => value.chars().count(),
            CharCount::Utf16 => value.encode_utf16().count(),
        }
    }

    /// Checks `min..=max` characters; `on` is the messenger whose rule set `max`.
    pub(crate) fn length_on(
        &mut self,
        path: &str,
        value: &str,
        (min, max): (usize, usize),
        on: Option<ChatSourceType>,
    ) {
        let got = self.len(value);
        let on = on
            .map(|channel| format!(" on {}", channel_name(channel)))
            .unwrap_or_default();
        if got < min {
            let unit = self.unit(min);
            self.push(path, format!("must be at least {min} {unit} (got {got})"));
        } else if got > max {
            let unit = self.unit(max);
            self.push(
                path,
                format!("must be at most {max} {unit}{on} (got {got})"),
            );
        }
    }

    /// Checks `min..=max` characters (a spec limit).
    pub(crate) fn length(&mut self, path: &str, value: &str, range: (usize, usize)) {
        self.length_on(path, value, range, None);
    }

    /// Checks that a list has `min..=max` items, naming them `noun` (singular). Returns how many
    /// of its items to walk: all of them, or, for a list over its limit, the first `max` and at
    /// most [`MAX_VIOLATIONS`] more — enough that an item past the limit with a fault of its own
    /// is reported beside the count (every violation that could still be listed), while a list
    /// of a million items costs no more than one a little over its limit.
    #[must_use = "walk only the returned number of items"]
    pub(crate) fn count(
        &mut self,
        path: &str,
        got: usize,
        (min, max): (usize, usize),
        noun: &str,
    ) -> usize {
        if got < min {
            let noun = plural(noun, min);
            self.push(path, format!("must have at least {min} {noun} (got {got})"));
        } else if got > max {
            let noun = plural(noun, max);
            self.push(path, format!("must have at most {max} {noun} (got {got})"));
        }
        got.min(max.saturating_add(MAX_VIOLATIONS))
    }

    /// Rejects leading or trailing whitespace (WhatsApp rule for button ids; policy for rows).
    pub(crate) fn no_outer_spaces(&mut self, path: &str, value: &str) {
        if value.trim() != value {
            self.push(
                path,
                format!("must not start or end with whitespace (got {value:?})"),
            );
        }
    }

    /// The messenger name when the channel is known (not `None` nor `Unknown`).
    pub(crate) fn known_channel(&self) -> Option<ChatSourceType> {
        self.opts
            .channel
            .filter(|channel| *channel != ChatSourceType::Unknown)
    }

    /// WhatsApp rules apply: enabled, and the channel is whatsapp, waba or unknown.
    pub(crate) fn whatsapp_applies(&self) -> bool {
        self.opts.whatsapp_rules
            && matches!(
                self.known_channel(),
                None | Some(ChatSourceType::Whatsapp | ChatSourceType::Waba)
            )
    }

    /// WhatsApp rules apply and the channel is known to be whatsapp or waba.
    pub(crate) fn whatsapp_known(&self) -> bool {
        self.whatsapp_applies() && self.known_channel().is_some()
    }

    /// WABA rules apply: enabled, and the channel is waba or unknown.
    pub(crate) fn waba_applies(&self) -> bool {
        self.opts.whatsapp_rules
            && matches!(self.known_channel(), None | Some(ChatSourceType::Waba))
    }

    /// The channel is known to be a Telegram account or bot.
    pub(crate) fn telegram_known(&self) -> bool {
        matches!(
            self.known_channel(),
            Some(ChatSourceType::Telegram | ChatSourceType::TelegramBot)
        )
    }

    /// The unit word for `n` characters, e.g. `characters` or `utf-16 code unit`.
    pub(crate) fn unit(&self, n: usize) -> &'static str {
        match (self.opts.count, n) {
            (CharCount::Chars, 1) => "character",
            (CharCount::Chars, _) => "characters",
            (CharCount::Utf16, 1) => "utf-16 code unit",
            (CharCount::Utf16, _) => "utf-16 code units",
        }
    }
}

/// The wire name of a messenger, e.g. `telegram_bot`: its spelling in [`ChatSourceType`]'s
/// serde form, the connector's one table of messengers (which the host's messenger type maps
/// onto by name, once, in the runtime). No second table here to keep in step with it.
pub(crate) fn channel_name(channel: ChatSourceType) -> String {
    match serde_json::to_value(channel) {
        Ok(serde_json::Value::String(name)) => name,
        // A unit variant always serializes as a string; say "unknown" rather than panic.
        _ => "unknown".to_owned(),
    }
}

fn plural(noun: &str, n: usize) -> String {
    if n == 1 {
        noun.to_owned()
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_named_as_radist_spells_it() {
        for name in [
            "odnoklassniki",
            "whatsapp",
            "waba",
            "telegram",
            "telegram_bot",
            "max_personal",
            "max_bot",
        ] {
            let channel: ChatSourceType =
                serde_json::from_value(serde_json::json!(name)).expect("a chat source type");
            assert_ne!(channel, ChatSourceType::Unknown, "{name} is not typed");
            assert_eq!(channel_name(channel), name);
        }
        assert_eq!(channel_name(ChatSourceType::Unknown), "unknown");
    }
}
