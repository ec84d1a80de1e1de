//! Sending messages (`messages` interface, granted by `capabilities.messages`), with builders for
//! WABA interactive messages and templates.
//!
//! ```
//! use switchboard_plugin::messages::{Content, InteractiveMessage, TemplateMessage};
//!
//! let buttons = InteractiveMessage::buttons("Did that help?", ["Yes", "No"]).footer("Shop bot");
//! let list = InteractiveMessage::list("Pick a size", "Sizes")
//!     .section(Some("Shirts"), [("s", "Small"), ("m", "Medium")]);
//! let template = TemplateMessage::new("order_ready", "ru").body_params(["Anna", "A-17"]);
//! let contents: Vec<Content> = vec![buttons.into(), list.into(), template.into(), "hello".into()];
//! assert_eq!(contents.len(), 4);
//! ```

use crate::bindings::switchboard::plugin::messages as wit;
use crate::{ChatId, ConnectionId, Error, MessageEvent};

pub use wit::{
    Content, HeaderKind, HeaderParam, InlineButton, InteractiveAction, InteractiveHeader,
    InteractiveMessage, ListAction, ListRow, ListSection, MediaKind, MediaMessage, Outgoing,
    ReplyButton, Sent, TemplateMessage,
};

/// Sends `msg`. A free-form message to a WABA chat whose 24-hour window is closed answers
/// [`Error::WindowClosed`]: send a template instead.
pub fn send(msg: &Outgoing) -> Result<Sent, Error> {
    wit::send(msg)
}

/// Sends `content` to a chat.
pub fn send_to(
    connection_id: ConnectionId,
    chat_id: ChatId,
    content: impl Into<Content>,
) -> Result<Sent, Error> {
    send(&Outgoing::new(connection_id, chat_id, content))
}

/// Sends `content` to the chat the message event came from.
pub fn reply(event: &MessageEvent, content: impl Into<Content>) -> Result<Sent, Error> {
    send_to(event.connection_id, event.chat_id, content)
}

/// Sends a text message to the chat the message event came from.
pub fn reply_text(event: &MessageEvent, text: impl Into<String>) -> Result<Sent, Error> {
    reply(event, Content::Text(text.into()))
}

impl Outgoing {
    /// A message without inline buttons.
    pub fn new(connection_id: ConnectionId, chat_id: ChatId, content: impl Into<Content>) -> Self {
        Self {
            connection_id,
            chat_id,
            content: content.into(),
            inline_buttons: Vec::new(),
        }
    }

    /// Adds a button under the message (Telegram and Max bots); `url` makes it a link.
    pub fn inline_button(mut self, text: impl Into<String>, url: Option<String>) -> Self {
        self.inline_buttons.push(InlineButton {
            text: text.into(),
            url,
        });
        self
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(text.to_owned())
    }
}

impl From<MediaMessage> for Content {
    fn from(media: MediaMessage) -> Self {
        Content::Media(media)
    }
}

impl From<TemplateMessage> for Content {
    fn from(template: TemplateMessage) -> Self {
        Content::WabaTemplate(template)
    }
}

impl From<InteractiveMessage> for Content {
    fn from(interactive: InteractiveMessage) -> Self {
        Content::WabaInteractive(interactive)
    }
}

impl MediaMessage {
    /// A media message of `kind` at `url` (see [`crate::files::upload`]).
    pub fn new(kind: MediaKind, url: impl Into<String>, caption: impl Into<String>) -> Self {
        Self {
            kind,
            url: url.into(),
            caption: caption.into(),
        }
    }
}

impl TemplateMessage {
    /// The approved WABA template `name` in `locale`, without parameters yet.
    pub fn new(name: impl Into<String>, locale: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            locale: locale.into(),
            header_params: Vec::new(),
            body_params: Vec::new(),
            button_params: Vec::new(),
        }
    }

    /// Appends one body parameter (`{{1}}`, `{{2}}`, ... in order).
    pub fn body_param(mut self, value: impl Into<String>) -> Self {
        self.body_params.push(value.into());
        self
    }

    /// Appends body parameters in order.
    pub fn body_params<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
        self.body_params.extend(values.into_iter().map(Into::into));
        self
    }

    /// Appends a text header parameter.
    pub fn header_text(mut self, value: impl Into<String>) -> Self {
        self.header_params.push(HeaderParam::Text(value.into()));
        self
    }

    /// Appends a media header parameter (image, video or document URL).
    pub fn header_url(mut self, url: impl Into<String>) -> Self {
        self.header_params.push(HeaderParam::Url(url.into()));
        self
    }

    /// Appends a button parameter (e.g. the dynamic part of a URL button).
    pub fn button_param(mut self, value: impl Into<String>) -> Self {
        self.button_params.push(value.into());
        self
    }
}

impl InteractiveMessage {
    /// Up to three reply buttons under `body`; each button's id is its title.
    pub fn buttons<I: IntoIterator<Item = S>, S: Into<String>>(
        body: impl Into<String>,
        titles: I,
    ) -> Self {
        let buttons = titles
            .into_iter()
            .map(|title| {
                let title = title.into();
                ReplyButton {
                    id: Some(title.clone()),
                    title,
                }
            })
            .collect();
        Self::with_action(body, InteractiveAction::Buttons(buttons))
    }

    /// A list message: `button` opens the list; add rows with [`InteractiveMessage::section`].
    pub fn list(body: impl Into<String>, button: impl Into<String>) -> Self {
        let action = ListAction {
            button: button.into(),
            sections: Vec::new(),
        };
        Self::with_action(body, InteractiveAction::Sections(action))
    }

    /// Adds a section of `(id, title)` rows to a list message (ignored on a buttons message).
    pub fn section<I, A, B>(mut self, title: Option<&str>, rows: I) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        if let InteractiveAction::Sections(list) = &mut self.action {
            let rows = rows
                .into_iter()
                .map(|(id, title)| ListRow {
                    id: Some(id.into()),
                    title: title.into(),
                    description: None,
                })
                .collect();
            list.sections.push(ListSection {
                title: title.map(str::to_owned),
                rows,
            });
        }
        self
    }

    /// Sets a text header.
    pub fn header_text(mut self, text: impl Into<String>) -> Self {
        let header = InteractiveHeader {
            kind: HeaderKind::Text,
            text: Some(text.into()),
            url: None,
            filename: None,
        };
        self.header = Some(header);
        self
    }

    /// Sets the footer line.
    pub fn footer(mut self, text: impl Into<String>) -> Self {
        self.footer = Some(text.into());
        self
    }

    fn with_action(body: impl Into<String>, action: InteractiveAction) -> Self {
        Self {
            header: None,
            body: body.into(),
            footer: None,
            action,
        }
    }
}
