//! Request-level checks: `chat_id`, `message_type` vs content keys and channel, text, media
//! captions and the inline-button markup. Templates and interactive messages have their own
//! modules.

use super::check::{Checker, channel_name};
use super::limits::INLINE_BUTTONS_MAX;
use super::{interactive, template};
use crate::models::{
    ChatSourceType, MarkupIn, MediaIn, MediaKind, MessageType, OutgoingContent, SendMessageRequest,
};

/// Spec limit of `SendMessageRequest.chat_id`.
const CHAT_ID_MAX: i64 = 2_147_483_647;
/// Spec limits of `TextMessageContentIn.text`.
const TEXT: (usize, usize) = (1, 8192);
/// WhatsApp (LIMITS §6) and Telegram (§7) text limit.
const MESSENGER_TEXT_MAX: usize = 4096;
/// Spec caption limit (equal to WhatsApp's and Telegram's).
const CAPTION: (usize, usize) = (0, 1024);
/// Spec limit of `InlineButton.text` (the list's is [`INLINE_BUTTONS_MAX`]).
const INLINE_BUTTON_TEXT: (usize, usize) = (1, 64);

/// `chat_id` range, sendable `message_type`, WABA-only types on other channels, and the
/// content key matching `message_type` (present) and the others (absent).
pub(crate) fn check_envelope(c: &mut Checker<'_>, req: &SendMessageRequest) {
    let chat_id = req.chat_id.get();
    if !(1..=CHAT_ID_MAX).contains(&chat_id) {
        c.push(
            "chat_id",
            format!("must be between 1 and {CHAT_ID_MAX} (got {chat_id})"),
        );
    }
    let kind = req.message_type.as_str();
    let expected = content_key(req.message_type);
    if expected.is_none() {
        c.push("message_type", format!("`{kind}` messages cannot be sent"));
    }
    check_waba_only(c, req.message_type);
    for (key, present) in present_keys(req) {
        if Some(key) == expected && !present {
            c.push(key, format!("is required when message_type is `{kind}`"));
        } else if Some(key) != expected && present {
            c.push(key, format!("must be absent when message_type is `{kind}`"));
        }
    }
}

/// Checks the content matching `message_type`, when present.
pub(crate) fn check_content(c: &mut Checker<'_>, req: &SendMessageRequest) {
    match req.content() {
        Some(OutgoingContent::Text(text)) => check_text(c, &text.text),
        Some(OutgoingContent::Media(kind, media)) => check_media(c, kind, media),
        Some(OutgoingContent::WabaTemplate(t)) => template::check_template(c, t),
        Some(OutgoingContent::WabaInteractive(i)) => interactive::check_interactive(c, i),
        None => {}
    }
}

/// `markup.inline_buttons`: at most 100, each text 1..64.
pub(crate) fn check_markup(c: &mut Checker<'_>, markup: &MarkupIn) {
    let buttons = &markup.inline_buttons;
    let path = "markup.inline_buttons";
    let walk = c.count(path, buttons.len(), (0, INLINE_BUTTONS_MAX), "button");
    for (i, button) in buttons.iter().take(walk).enumerate() {
        let path = format!("markup.inline_buttons[{i}].text");
        c.length(&path, &button.text, INLINE_BUTTON_TEXT);
    }
}

fn check_waba_only(c: &mut Checker<'_>, message_type: MessageType) {
    let waba_only = matches!(
        message_type,
        MessageType::WabaTemplate | MessageType::WabaInteractive
    );
    match c.known_channel() {
        Some(channel) if waba_only && channel != ChatSourceType::Waba => {
            let (kind, name) = (message_type.as_str(), channel_name(channel));
            c.push(
                "message_type",
                format!("`{kind}` can only be sent to waba chats (chat is {name})"),
            );
        }
        _ => {}
    }
}

fn check_text(c: &mut Checker<'_>, text: &str) {
    let messenger = c
        .known_channel()
        .filter(|_| c.whatsapp_known() || c.telegram_known());
    match messenger {
        Some(channel) => c.length_on(
            "text.text",
            text,
            (TEXT.0, MESSENGER_TEXT_MAX),
            Some(channel),
        ),
        None => c.length("text.text", text, TEXT),
    }
}

fn check_media(c: &mut Checker<'_>, kind: MediaKind, media: &MediaIn) {
    let key = kind.message_type().as_str();
    if media.url.trim().is_empty() {
        c.push(format!("{key}.url"), "must not be empty");
    }
    let path = format!("{key}.caption");
    c.length(&path, &media.caption, CAPTION);
    let no_caption = matches!(kind, MediaKind::Audio | MediaKind::Voice);
    if no_caption && c.waba_applies() && !media.caption.is_empty() {
        let got = c.len(&media.caption);
        let unit = c.unit(got);
        c.push(
            path,
            format!("must be empty for {key} messages on waba (got {got} {unit})"),
        );
    }
}

/// The content keys of a request in wire order, with whether each is set.
fn present_keys(req: &SendMessageRequest) -> [(&'static str, bool); 8] {
    [
        ("text", req.text.is_some()),
        ("file", req.file.is_some()),
        ("image", req.image.is_some()),
        ("audio", req.audio.is_some()),
        ("video", req.video.is_some()),
        ("voice", req.voice.is_some()),
        ("waba_template", req.waba_template.is_some()),
        ("waba_interactive", req.waba_interactive.is_some()),
    ]
}

/// The content key a sendable `message_type` requires; `None` for orders and unknown types.
fn content_key(message_type: MessageType) -> Option<&'static str> {
    match message_type {
        MessageType::RadistOrder | MessageType::WabaOrder | MessageType::Unknown => None,
        other => Some(other.as_str()),
    }
}
