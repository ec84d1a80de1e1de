//! Builders for the events a plugin receives: messages (received or sent), `manual` payloads
//! and `schedule.fired` slots. They produce the runtime's event type, which mirrors the WIT.

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_runtime::RunInput;
use switchboard_runtime::event::{
    ChatInfo, Datetime, Direction, Message, MessageContent, MessageEvent, PluginEvent, RunInfo,
    ScheduleEvent, SourceType,
};

/// A message event under construction; finish with [`MessageBuilder::received`] or
/// [`MessageBuilder::sent`].
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    event: MessageEvent,
}

/// A text message in a chat, from the customer, sent now.
pub fn text(connection_id: i64, chat_id: i64, text: &str) -> MessageBuilder {
    let message = Message {
        message_id: format!("msg-{connection_id}-{chat_id}-{}", now().nanoseconds),
        source_message_id: None,
        source_chat_id: chat_id.to_string(),
        direction: Direction::Inbound,
        created_at: now(),
        content: MessageContent::Text(text.to_owned()),
        reply_to: None,
    };
    let chat = ChatInfo {
        name: None,
        phone: None,
        username: None,
        profile_link: None,
    };
    let event = MessageEvent {
        connection_id,
        chat_id,
        contact_id: None,
        source_type: None,
        chat,
        message,
        own_echo: false,
    };
    MessageBuilder { event }
}

impl MessageBuilder {
    /// The messenger behind the connection (WABA enables the 24-hour window check).
    pub fn source(mut self, source_type: SourceType) -> Self {
        self.event.source_type = Some(source_type);
        self
    }

    /// The Radist contact of the chat.
    pub fn contact(mut self, contact_id: i64) -> Self {
        self.event.contact_id = Some(contact_id);
        self
    }

    /// The customer's phone (also the messenger-side chat id of WhatsApp chats).
    pub fn phone(mut self, phone: &str) -> Self {
        self.event.chat.phone = Some(phone.to_owned());
        self.event.message.source_chat_id = phone.to_owned();
        self
    }

    /// The chat's display name.
    pub fn name(mut self, name: &str) -> Self {
        self.event.chat.name = Some(name.to_owned());
        self
    }

    /// The Radist message id.
    pub fn message_id(mut self, id: &str) -> Self {
        self.event.message.message_id = id.to_owned();
        self
    }

    /// Written by the operator side (an outbound message).
    pub fn outbound(mut self) -> Self {
        self.event.message.direction = Direction::Outbound;
        self
    }

    /// Sent by Switchboard itself (implies outbound).
    pub fn own_echo(mut self) -> Self {
        self.event.own_echo = true;
        self.outbound()
    }

    /// `message.received`.
    pub fn received(self) -> PluginEvent {
        PluginEvent::MessageReceived(self.event)
    }

    /// `message.sent`.
    pub fn sent(self) -> PluginEvent {
        PluginEvent::MessageSent(self.event)
    }
}

/// A `manual` event with a JSON payload.
pub fn manual(payload: &serde_json::Value) -> PluginEvent {
    PluginEvent::Manual(payload.to_string())
}

/// A live first attempt of a `manual` run with a JSON payload, `id` naming both run and event.
pub fn manual_run(payload: &serde_json::Value, id: &str) -> RunInput {
    RunInput {
        event: manual(payload),
        run: RunInfo {
            run_id: id.to_owned(),
            event_id: id.to_owned(),
            attempt: 1,
            is_replay: false,
        },
        dry_run: false,
    }
}

/// A `schedule.fired` event for the slot at `slot_seconds` (Unix time).
pub fn schedule(cron: &str, slot_seconds: i64) -> PluginEvent {
    let slot = Datetime {
        seconds: slot_seconds,
        nanoseconds: 0,
    };
    PluginEvent::ScheduleFired(ScheduleEvent {
        cron: cron.to_owned(),
        slot,
        catch_up: false,
    })
}

/// Now, as a WIT datetime.
pub fn now() -> Datetime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Datetime {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanoseconds: since.subsec_nanos(),
    }
}
