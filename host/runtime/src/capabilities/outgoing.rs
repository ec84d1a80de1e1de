//! WIT `outgoing` → the connector's wire-shaped `SendMessageRequest`, and the manifest message
//! type(s) a message needs. Pure mapping; no checks beyond what the types force.

use radist_connector::models::{
    ChatId, InlineButtonIn, InteractiveButtonIn, InteractiveHeaderIn, InteractiveRowIn,
    InteractiveSectionIn, MarkupIn, MediaHeaderFormat, MediaKind as WireMedia, SendMessageRequest,
    WabaHeaderParamIn, WabaInteractiveIn, WabaTemplateIn,
};
use switchboard_manifest::MessageType;

use super::wit::messages::{
    Content, HeaderKind, HeaderParam, InteractiveAction, InteractiveMessage, MediaKind, Outgoing,
    TemplateMessage,
};

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
