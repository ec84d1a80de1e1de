//! Send side: `SendMessageRequest` with every `*In` content type, and `MessageSentResponse`.
//!
//! Build requests with the typed constructors ([`SendMessageRequest::text`], [`media`],
//! [`waba_template`], [`waba_interactive`]) so `message_type` always matches the content.
//! Deserialization is lenient (spec defaults) so the sandbox can parse what clients send.
//!
//! [`media`]: SendMessageRequest::media
//! [`waba_template`]: SendMessageRequest::waba_template
//! [`waba_interactive`]: SendMessageRequest::waba_interactive

use serde::{Deserialize, Deserializer, Serialize};

use super::de;
use super::ids::ChatId;
use super::message::{MediaHeaderFormat, Message, MessageType, WabaInteractiveType};

/// `SendMessageRequest`: body of `POST …/messaging/messages/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// Radist integer chat id (not the messenger-side one).
    pub chat_id: ChatId,
    #[serde(default)]
    pub mode: SendMode,
    #[serde(deserialize_with = "known_message_type")]
    pub message_type: MessageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<MediaIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<MediaIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<MediaIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<MediaIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<MediaIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_template: Option<WabaTemplateIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_interactive: Option<WabaInteractiveIn>,
    /// Keyboard added to the message (bots); not a message type of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markup: Option<MarkupIn>,
}

/// `MessageSendingMode`: `async` (default) or `sync`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    Sync,
    #[default]
    Async,
}

/// Which media key a media message uses; each is also its `message_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    File,
    Image,
    Audio,
    Video,
    Voice,
}

/// Borrowed view of the content matching a request's `message_type`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutgoingContent<'a> {
    Text(&'a TextIn),
    Media(MediaKind, &'a MediaIn),
    WabaTemplate(&'a WabaTemplateIn),
    WabaInteractive(&'a WabaInteractiveIn),
}

/// `TextMessageContentIn`: `{text}` (1..8192 chars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextIn {
    pub text: String,
}

/// `SingleFileMessageContentIn` / `Image…` / `Audio…` / `Video…` / `VoiceMessageContentIn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaIn {
    /// Public URL, usually from `POST …/messaging/files/`.
    pub url: String,
    /// Caption, 0..1024 chars.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub caption: String,
}

/// `WabaTemplateMessageContentIn`: template name, locale and positional parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateIn {
    pub template_name: String,
    pub template_locale: String,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub header_params: Vec<WabaHeaderParamIn>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub body_params: Vec<String>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub button_params: Vec<String>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub carousel_media_card_params: Vec<WabaCarouselCardParamsIn>,
}

/// `WabaMessageHeaderParamsIn`: a text or media-URL header parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WabaHeaderParamIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `WabaMessageCarouselMediaCardParamsIn`: parameters of one carousel card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaCarouselCardParamsIn {
    pub header_url: String,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub body_params: Vec<String>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub button_params: Vec<String>,
}

/// `WabaInteractiveMessageContentIn`: flat send shape (`body`/`footer` are strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaInteractiveIn {
    #[serde(rename = "type")]
    pub kind: WabaInteractiveType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<InteractiveHeaderIn>,
    /// 1..1024 chars.
    pub body: String,
    /// 1..60 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    pub action: InteractiveActionIn,
}

/// `WabaInteractiveMessageHeaderParamIn`: text or media header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveHeaderIn {
    #[serde(rename = "type")]
    pub kind: MediaHeaderFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// `WabaInteractiveMessageAction`: reply buttons (1..3) or a list of sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InteractiveActionIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buttons: Option<Vec<InteractiveButtonIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<InteractiveSectionsIn>,
}

/// `WabaInteractiveMessageButton`: `{type: "reply", reply: {id?, title}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveButtonIn {
    #[serde(rename = "type", default)]
    pub kind: InteractiveButtonType,
    pub reply: InteractiveReplyIn,
}

/// The constant `type` of a `WabaInteractiveMessageButton`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveButtonType {
    #[default]
    Reply,
}

/// `WabaInteractiveMessageButtonReply`: id (1..200, optional) and title (1..20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveReplyIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
}

/// `WabaInteractiveMessageActionWithSection`: list button label and 1..10 sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveSectionsIn {
    pub button: String,
    pub sections: Vec<InteractiveSectionIn>,
}

/// `WabaInteractiveMessageSection`: optional title and 1..10 rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveSectionIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<InteractiveRowIn>,
}

/// `WabaInteractiveMessageSectionRow`: one selectable list row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractiveRowIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `MarkupIn`: inline keyboard attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkupIn {
    #[serde(rename = "type")]
    pub kind: MarkupType,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub inline_buttons: Vec<InlineButtonIn>,
}

/// `MarkupType`: only `inline_buttons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkupType {
    InlineButtons,
}

/// `InlineButton`: text (1..64) and optional URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlineButtonIn {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `MessageSentResponse`: echo of mode, the chat and the stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSentResponse {
    pub mode: SendMode,
    pub chat: MessageSentChatResponse,
    pub message: Message,
}

/// `MessageSentChatResponse`: the chat a message was sent to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSentChatResponse {
    pub id: ChatId,
    pub name: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_group: bool,
    pub avatar_url: Option<String>,
    pub profile_link: Option<String>,
}

impl SendMessageRequest {
    /// A text message.
    pub fn text(chat_id: ChatId, text: impl Into<String>) -> Self {
        let text = Some(TextIn { text: text.into() });
        Self {
            text,
            ..Self::empty(chat_id, MessageType::Text)
        }
    }

    /// A file, image, audio, video or voice message.
    pub fn media(
        chat_id: ChatId,
        kind: MediaKind,
        url: impl Into<String>,
        caption: impl Into<String>,
    ) -> Self {
        let mut request = Self::empty(chat_id, kind.message_type());
        *request.media_slot(kind) = Some(MediaIn {
            url: url.into(),
            caption: caption.into(),
        });
        request
    }

    /// A WABA template message.
    pub fn waba_template(chat_id: ChatId, template: WabaTemplateIn) -> Self {
        let waba_template = Some(template);
        Self {
            waba_template,
            ..Self::empty(chat_id, MessageType::WabaTemplate)
        }
    }

    /// A WABA interactive (buttons or list) message.
    pub fn waba_interactive(chat_id: ChatId, interactive: WabaInteractiveIn) -> Self {
        let waba_interactive = Some(interactive);
        Self {
            waba_interactive,
            ..Self::empty(chat_id, MessageType::WabaInteractive)
        }
    }

    /// Attaches an inline keyboard.
    pub fn with_markup(mut self, markup: MarkupIn) -> Self {
        self.markup = Some(markup);
        self
    }

    /// Sets the sending mode (default `async`).
    pub fn with_mode(mut self, mode: SendMode) -> Self {
        self.mode = mode;
        self
    }

    /// The content matching `message_type`; `None` when that key is missing or the type
    /// cannot be sent (orders).
    pub fn content(&self) -> Option<OutgoingContent<'_>> {
        if let Some(kind) = MediaKind::from_message_type(self.message_type) {
            let media = match kind {
                MediaKind::File => &self.file,
                MediaKind::Image => &self.image,
                MediaKind::Audio => &self.audio,
                MediaKind::Video => &self.video,
                MediaKind::Voice => &self.voice,
            };
            return media.as_ref().map(|m| OutgoingContent::Media(kind, m));
        }
        match self.message_type {
            MessageType::Text => self.text.as_ref().map(OutgoingContent::Text),
            MessageType::WabaTemplate => self
                .waba_template
                .as_ref()
                .map(OutgoingContent::WabaTemplate),
            MessageType::WabaInteractive => self
                .waba_interactive
                .as_ref()
                .map(OutgoingContent::WabaInteractive),
            _ => None,
        }
    }

    fn empty(chat_id: ChatId, message_type: MessageType) -> Self {
        Self {
            chat_id,
            mode: SendMode::default(),
            message_type,
            text: None,
            file: None,
            image: None,
            audio: None,
            video: None,
            voice: None,
            waba_template: None,
            waba_interactive: None,
            markup: None,
        }
    }

    fn media_slot(&mut self, kind: MediaKind) -> &mut Option<MediaIn> {
        match kind {
            MediaKind::File => &mut self.file,
            MediaKind::Image => &mut self.image,
            MediaKind::Audio => &mut self.audio,
            MediaKind::Video => &mut self.video,
            MediaKind::Voice => &mut self.voice,
        }
    }
}

impl MediaKind {
    /// The `message_type` (and content key) of this media kind.
    pub fn message_type(self) -> MessageType {
        match self {
            Self::File => MessageType::File,
            Self::Image => MessageType::Image,
            Self::Audio => MessageType::Audio,
            Self::Video => MessageType::Video,
            Self::Voice => MessageType::Voice,
        }
    }

    /// The media kind of a `message_type`, if it is one.
    pub fn from_message_type(message_type: MessageType) -> Option<Self> {
        match message_type {
            MessageType::File => Some(Self::File),
            MessageType::Image => Some(Self::Image),
            MessageType::Audio => Some(Self::Audio),
            MessageType::Video => Some(Self::Video),
            MessageType::Voice => Some(Self::Voice),
            _ => None,
        }
    }
}

impl WabaTemplateIn {
    /// A template without parameters; fill the parameter vectors as needed.
    pub fn new(template_name: impl Into<String>, template_locale: impl Into<String>) -> Self {
        Self {
            template_name: template_name.into(),
            template_locale: template_locale.into(),
            header_params: Vec::new(),
            body_params: Vec::new(),
            button_params: Vec::new(),
            carousel_media_card_params: Vec::new(),
        }
    }
}

impl WabaHeaderParamIn {
    /// A text header parameter.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            url: None,
        }
    }

    /// A media header parameter (image, video or document URL).
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            text: None,
            url: Some(url.into()),
        }
    }
}

impl WabaInteractiveIn {
    /// A `button` message with 1..3 reply buttons.
    pub fn buttons(body: impl Into<String>, buttons: Vec<InteractiveButtonIn>) -> Self {
        let action = InteractiveActionIn {
            buttons: Some(buttons),
            sections: None,
        };
        Self {
            kind: WabaInteractiveType::Button,
            header: None,
            body: body.into(),
            footer: None,
            action,
        }
    }

    /// A `list` message opened by a button labelled `button`.
    pub fn list(
        body: impl Into<String>,
        button: impl Into<String>,
        sections: Vec<InteractiveSectionIn>,
    ) -> Self {
        let sections = Some(InteractiveSectionsIn {
            button: button.into(),
            sections,
        });
        let action = InteractiveActionIn {
            buttons: None,
            sections,
        };
        Self {
            kind: WabaInteractiveType::List,
            header: None,
            body: body.into(),
            footer: None,
            action,
        }
    }

    /// Adds a text header.
    pub fn with_text_header(mut self, text: impl Into<String>) -> Self {
        self.header = Some(InteractiveHeaderIn {
            kind: MediaHeaderFormat::Text,
            text: Some(text.into()),
            url: None,
            filename: None,
        });
        self
    }

    /// Adds a footer.
    pub fn with_footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }
}

impl InteractiveButtonIn {
    /// A reply button; Radist generates the id when none is given.
    pub fn reply(id: Option<String>, title: impl Into<String>) -> Self {
        let reply = InteractiveReplyIn {
            id,
            title: title.into(),
        };
        Self {
            kind: InteractiveButtonType::Reply,
            reply,
        }
    }
}

impl MarkupIn {
    /// An inline keyboard.
    pub fn inline_buttons(buttons: Vec<InlineButtonIn>) -> Self {
        Self {
            kind: MarkupType::InlineButtons,
            inline_buttons: buttons,
        }
    }
}

fn known_message_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MessageType, D::Error> {
    match MessageType::deserialize(deserializer)? {
        MessageType::Unknown => Err(serde::de::Error::custom(
            "unknown `message_type`; expected one of text, file, image, voice, audio, video, \
             waba_template, waba_interactive, radist_order, waba_order",
        )),
        known => Ok(known),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const CHAT: ChatId = ChatId(38000001);

    fn check(request: &SendMessageRequest, expected: Value) {
        assert_eq!(serde_json::to_value(request).unwrap(), expected);
        let parsed: SendMessageRequest = serde_json::from_value(expected).unwrap();
        assert_eq!(&parsed, request);
    }

    #[test]
    fn text_request_is_exact() {
        let request = SendMessageRequest::text(CHAT, "Hello");
        check(
            &request,
            json!({"chat_id": 38000001, "mode": "async", "message_type": "text",
                               "text": {"text": "Hello"}}),
        );
        assert_eq!(
            request.content(),
            Some(OutgoingContent::Text(&TextIn {
                text: "Hello".into()
            }))
        );
    }

    #[test]
    fn every_media_kind_uses_its_own_key() {
        for (kind, key) in [
            (MediaKind::File, "file"),
            (MediaKind::Image, "image"),
            (MediaKind::Audio, "audio"),
            (MediaKind::Video, "video"),
            (MediaKind::Voice, "voice"),
        ] {
            let request = SendMessageRequest::media(CHAT, kind, "https://cdn.example/a", "");
            let mut expected = json!({"chat_id": 38000001, "mode": "async", "message_type": key});
            expected[key] = json!({"url": "https://cdn.example/a", "caption": ""});
            check(&request, expected);
            assert!(matches!(request.content(), Some(OutgoingContent::Media(k, _)) if k == kind));
        }
    }

    #[test]
    fn waba_template_request_skips_empty_params() {
        let mut template = WabaTemplateIn::new("order_ready", "ru");
        template.header_params = vec![WabaHeaderParamIn::url("https://cdn.example/h.png")];
        template.body_params = vec!["Ivan".into(), "42".into()];
        let request = SendMessageRequest::waba_template(CHAT, template).with_mode(SendMode::Sync);
        check(
            &request,
            json!({"chat_id": 38000001, "mode": "sync", "message_type": "waba_template",
            "waba_template": {"template_name": "order_ready", "template_locale": "ru",
                "header_params": [{"url": "https://cdn.example/h.png"}],
                "body_params": ["Ivan", "42"]}}),
        );
        let mut carousel = WabaTemplateIn::new("cards", "en");
        carousel.carousel_media_card_params = vec![WabaCarouselCardParamsIn {
            header_url: "https://cdn.example/1.jpg".into(),
            body_params: vec!["A".into()],
            button_params: vec![],
        }];
        check(
            &SendMessageRequest::waba_template(CHAT, carousel),
            json!({"chat_id": 38000001,
            "mode": "async", "message_type": "waba_template",
            "waba_template": {"template_name": "cards", "template_locale": "en",
                "carousel_media_card_params": [{"header_url": "https://cdn.example/1.jpg",
                                                "body_params": ["A"]}]}}),
        );
    }

    #[test]
    fn waba_interactive_buttons_use_the_flat_send_shape() {
        let interactive = WabaInteractiveIn::buttons(
            "Pick one",
            vec![
                InteractiveButtonIn::reply(Some("yes".into()), "Yes"),
                InteractiveButtonIn::reply(None, "No"),
            ],
        )
        .with_text_header("Question")
        .with_footer("Reply below");
        check(
            &SendMessageRequest::waba_interactive(CHAT, interactive),
            json!({
            "chat_id": 38000001, "mode": "async", "message_type": "waba_interactive",
            "waba_interactive": {"type": "button", "header": {"type": "text", "text": "Question"},
                "body": "Pick one", "footer": "Reply below",
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                                       {"type": "reply", "reply": {"title": "No"}}]}}}),
        );
    }

    #[test]
    fn waba_interactive_list_and_markup() {
        let rows = vec![InteractiveRowIn {
            id: Some("r1".into()),
            title: "Tea".into(),
            description: Some("Green".into()),
        }];
        let interactive = WabaInteractiveIn::list(
            "Menu",
            "Open",
            vec![InteractiveSectionIn {
                title: Some("Drinks".into()),
                rows,
            }],
        );
        let markup = MarkupIn::inline_buttons(vec![InlineButtonIn {
            text: "Site".into(),
            url: Some("https://example.invalid".into()),
        }]);
        let request = SendMessageRequest::waba_interactive(CHAT, interactive).with_markup(markup);
        check(
            &request,
            json!({"chat_id": 38000001, "mode": "async",
            "message_type": "waba_interactive",
            "waba_interactive": {"type": "list", "body": "Menu", "action": {"sections": {
                "button": "Open", "sections": [{"title": "Drinks",
                    "rows": [{"id": "r1", "title": "Tea", "description": "Green"}]}]}}},
            "markup": {"type": "inline_buttons",
                       "inline_buttons": [{"text": "Site", "url": "https://example.invalid"}]}}),
        );
    }

    #[test]
    fn lenient_parse_of_what_real_clients_send() {
        let request: SendMessageRequest = serde_json::from_value(json!({"chat_id": 38000001,
            "connection_id": "70001", "message_type": "image",
            "image": {"url": "https://cdn.example/a"}, "text": null,
            "markup": {"type": "inline_buttons", "inline_buttons": null}}))
        .unwrap();
        assert_eq!(request.mode, SendMode::Async);
        assert!(
            matches!(request.content(), Some(OutgoingContent::Media(MediaKind::Image, m)) if m.caption.is_empty())
        );
        let missing: SendMessageRequest =
            serde_json::from_value(json!({"chat_id": 1, "message_type": "text"})).unwrap();
        assert_eq!(missing.content(), None);
        let err = serde_json::from_value::<SendMessageRequest>(
            json!({"chat_id": 1, "message_type": "sticker"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown `message_type`"), "{err}");
    }

    #[test]
    fn message_sent_response_round_trips() {
        let value = json!({"mode": "async",
            "chat": {"id": 38000001, "name": "Ivan", "is_group": false, "avatar_url": null,
                     "profile_link": null},
            "message": {"message_id": "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b",
                "source_message_id": null, "chat_id": "79000000000", "direction": "outbound",
                "message_type": "text", "author": null, "created_at": "2026-02-19T13:07:03Z",
                "delivered_at": null, "read_at": null, "error_at": null, "error_type": null,
                "error_text": null, "text": {"text": "Hello"}, "reply_to": null}});
        let response: MessageSentResponse = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(response.chat.id, CHAT);
        assert_eq!(serde_json::to_value(&response).unwrap(), value);
    }
}
