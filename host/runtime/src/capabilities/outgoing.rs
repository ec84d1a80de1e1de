//! WIT `outgoing` → the connector's wire-shaped `SendMessageRequest`, and the manifest message
//! type(s) a message needs. Pure mapping, after [`precheck`]: a cheap refusal of lists over the
//! spec's limits, before anything copies, summarises or fingerprints the guest's message.

use radist_connector::models::{
    ChatId, InlineButtonIn, InteractiveButtonIn, InteractiveHeaderIn, InteractiveRowIn,
    InteractiveSectionIn, MarkupIn, MediaHeaderFormat, MediaKind as WireMedia, SendMessageRequest,
    WabaHeaderParamIn, WabaInteractiveIn, WabaTemplateIn,
};
use radist_connector::validate::limits;
use switchboard_manifest::MessageType;

use super::wit::messages::{
    Content, HeaderKind, HeaderParam, InteractiveAction, InteractiveMessage, MediaKind, Outgoing,
    TemplateMessage,
};
use super::wit::types::{Error, FieldError};

/// `invalid` when a list of `msg` is longer than the spec allows: one error per such list, with
/// the same path and message the connector's validators give. Reads only lengths.
pub(crate) fn precheck(msg: &Outgoing) -> Result<(), Error> {
    let mut errors = Vec::new();
    let mut check = |path: &str, got: usize, max: usize, noun: &str| {
        if got > max {
            errors.push(FieldError {
                path: path.to_owned(),
                message: format!("must have at most {max} {noun}s (got {got})"),
            });
        }
    };
    let buttons = msg.inline_buttons.len();
    check(
        "markup.inline_buttons",
        buttons,
        limits::INLINE_BUTTONS_MAX,
        "button",
    );
    match &msg.content {
        Content::WabaTemplate(t) => {
            let path = "waba_template.header_params";
            check(
                path,
                t.header_params.len(),
                limits::HEADER_PARAMS_MAX,
                "parameter",
            );
            let path = "waba_template.body_params";
            check(path, t.body_params.len(), limits::BODY_PARAMS_MAX, "value");
            let path = "waba_template.button_params";
            check(
                path,
                t.button_params.len(),
                limits::BUTTON_PARAMS_MAX,
                "value",
            );
        }
        Content::WabaInteractive(i) => match &i.action {
            InteractiveAction::Buttons(b) => {
                let path = "waba_interactive.action.buttons";
                check(path, b.len(), limits::INTERACTIVE_BUTTONS_MAX, "button");
            }
            InteractiveAction::Sections(list) => {
                let path = "waba_interactive.action.sections.sections";
                check(path, list.sections.len(), limits::SECTIONS_MAX, "section");
                for (n, section) in list.sections.iter().take(limits::SECTIONS_MAX).enumerate() {
                    let path = format!("{path}[{n}].rows");
                    check(&path, section.rows.len(), limits::ROWS_MAX, "row");
                }
            }
        },
        Content::Text(_) | Content::Media(_) => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// The manifest types the message needs: its content's, plus `markup` for inline buttons.
pub(crate) fn message_types(msg: &Outgoing) -> Vec<MessageType> {
    let content = match &msg.content {
        Content::Text(_) => MessageType::Text,
        Content::Media(m) => match m.kind {
            MediaKind::File => MessageType::File,
            MediaKind::Image => MessageType::Image,
            MediaKind::Audio => MessageType::Audio,
            MediaKind::Video => MessageType::Video,
            MediaKind::Voice => MessageType::Voice,
        },
        Content::WabaTemplate(_) => MessageType::WabaTemplate,
        Content::WabaInteractive(_) => MessageType::WabaInteractive,
    };
    let mut types = vec![content];
    if !msg.inline_buttons.is_empty() {
        types.push(MessageType::Markup);
    }
    types
}

/// The wire request for `msg`.
pub(crate) fn to_request(msg: &Outgoing) -> SendMessageRequest {
    let chat = ChatId(msg.chat_id);
    let request = match &msg.content {
        Content::Text(text) => SendMessageRequest::text(chat, text.clone()),
        Content::Media(m) => {
            SendMessageRequest::media(chat, media_kind(m.kind), m.url.clone(), m.caption.clone())
        }
        Content::WabaTemplate(t) => SendMessageRequest::waba_template(chat, template(t)),
        Content::WabaInteractive(i) => SendMessageRequest::waba_interactive(chat, interactive(i)),
    };
    if msg.inline_buttons.is_empty() {
        return request;
    }
    let buttons = msg
        .inline_buttons
        .iter()
        .map(|b| InlineButtonIn {
            text: b.text.clone(),
            url: b.url.clone(),
        })
        .collect();
    request.with_markup(MarkupIn::inline_buttons(buttons))
}

fn media_kind(kind: MediaKind) -> WireMedia {
    match kind {
        MediaKind::File => WireMedia::File,
        MediaKind::Image => WireMedia::Image,
        MediaKind::Audio => WireMedia::Audio,
        MediaKind::Video => WireMedia::Video,
        MediaKind::Voice => WireMedia::Voice,
    }
}

fn template(t: &TemplateMessage) -> WabaTemplateIn {
    let mut wire = WabaTemplateIn::new(t.name.clone(), t.locale.clone());
    wire.header_params = t
        .header_params
        .iter()
        .map(|p| match p {
            HeaderParam::Text(s) => WabaHeaderParamIn::text(s.clone()),
            HeaderParam::Url(s) => WabaHeaderParamIn::url(s.clone()),
        })
        .collect();
    wire.body_params = t.body_params.clone();
    wire.button_params = t.button_params.clone();
    wire
}

fn interactive(i: &InteractiveMessage) -> WabaInteractiveIn {
    let mut wire = match &i.action {
        InteractiveAction::Buttons(buttons) => {
            let buttons = buttons
                .iter()
                .map(|b| InteractiveButtonIn::reply(b.id.clone(), b.title.clone()))
                .collect();
            WabaInteractiveIn::buttons(i.body.clone(), buttons)
        }
        InteractiveAction::Sections(list) => {
            let sections = list.sections.iter().map(|s| InteractiveSectionIn {
                title: s.title.clone(),
                rows: s
                    .rows
                    .iter()
                    .map(|r| InteractiveRowIn {
                        id: r.id.clone(),
                        title: r.title.clone(),
                        description: r.description.clone(),
                    })
                    .collect(),
            });
            WabaInteractiveIn::list(i.body.clone(), list.button.clone(), sections.collect())
        }
    };
    wire.footer = i.footer.clone();
    wire.header = i.header.as_ref().map(|h| InteractiveHeaderIn {
        kind: match h.kind {
            HeaderKind::Text => MediaHeaderFormat::Text,
            HeaderKind::Image => MediaHeaderFormat::Image,
            HeaderKind::Video => MediaHeaderFormat::Video,
            HeaderKind::Document => MediaHeaderFormat::Document,
        },
        text: h.text.clone(),
        url: h.url.clone(),
        filename: h.filename.clone(),
    });
    wire
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::wit::messages::TemplateMessage;

    fn template(body_params: usize) -> Outgoing {
        Outgoing {
            connection_id: 1,
            chat_id: 2,
            content: Content::WabaTemplate(TemplateMessage {
                name: "t".into(),
                locale: "en".into(),
                header_params: Vec::new(),
                body_params: vec![String::new(); body_params],
                button_params: Vec::new(),
            }),
            inline_buttons: Vec::new(),
        }
    }

    #[test]
    fn lists_over_the_spec_limit_are_refused_with_one_error_each() {
        assert!(precheck(&template(limits::BODY_PARAMS_MAX)).is_ok());
        let Err(Error::Invalid(errors)) = precheck(&template(1_000_000)) else {
            panic!("expected invalid");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "waba_template.body_params");
        assert_eq!(
            errors[0].message,
            "must have at most 256 values (got 1000000)"
        );
    }
}
