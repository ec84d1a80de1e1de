//! Which plugins an event triggers: one pure function over a manifest's triggers and a normalized
//! event ([`subscribes`]), used by intake, `switchboard check`, `switchboard run` and the tests,
//! and [`explain`] saying why an event would not have triggered a plugin.
//!
//! Schedule triggers never match here: the scheduler starts their runs slot by slot.

use switchboard_manifest::{EventKind, EventTrigger, Trigger};

use crate::event::{MessageContent, PluginEvent, SourceType};
use crate::messenger::{self, Messenger};

/// Why one event trigger did not match an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The trigger is a schedule.
    Schedule,
    /// The trigger's `on` does not list the event's kind.
    Kind { kind: &'static str },
    /// The event's connection is not in the trigger's `connections`.
    Connection { connection: i64 },
    /// The event's source type is not in `source_types` (or unknown).
    SourceType { source: Option<&'static str> },
    /// The message text does not match `text_matches` (or the event has no text).
    Text,
    /// A `message.sent` echo of Switchboard's own send, and `include_own_echoes` is off.
    OwnEcho,
}

/// Whether any of `triggers` starts a run for `event`.
pub fn subscribes(triggers: &[Trigger], event: &PluginEvent) -> bool {
    triggers.iter().any(|t| trigger_matches(t, event).is_ok())
}

/// `Ok` when the triggers start a run for `event`, else why each trigger did not, in order.
pub fn explain(triggers: &[Trigger], event: &PluginEvent) -> Result<(), Vec<Mismatch>> {
    let mut why = Vec::with_capacity(triggers.len());
    for trigger in triggers {
        match trigger_matches(trigger, event) {
            Ok(()) => return Ok(()),
            Err(m) => why.push(m),
        }
    }
    Err(why)
}

/// The manifest's name of the event's kind (`message.received`, ..., `schedule.fired`, `manual`).
pub fn kind_name(event: &PluginEvent) -> &'static str {
    match event_kind(event) {
        Some(kind) => kind.as_str(),
        None => "schedule.fired",
    }
}

fn trigger_matches(trigger: &Trigger, event: &PluginEvent) -> Result<(), Mismatch> {
    match trigger {
        Trigger::Event(t) => event_matches(t, event),
        _ => Err(Mismatch::Schedule),
    }
}

fn event_matches(t: &EventTrigger, event: &PluginEvent) -> Result<(), Mismatch> {
    let kind = event_kind(event).ok_or(Mismatch::Kind {
        kind: "schedule.fired",
    })?;
    if !t.on.contains(&kind) {
        return Err(Mismatch::Kind {
            kind: kind.as_str(),
        });
    }
    if let (Some(allowed), Some(connection)) = (&t.connections, connection_of(event))
        && !allowed.iter().any(|c| c.get() == connection)
    {
        return Err(Mismatch::Connection { connection });
    }
    if let Some(allowed) = &t.source_types {
        let source = source_of(event).and_then(messenger::from_wit);
        if !source.is_some_and(|s| allowed.contains(&s)) {
            return Err(Mismatch::SourceType {
                source: source.map(Messenger::as_str),
            });
        }
    }
    if let Some(pattern) = &t.text_matches
        && !text_of(event).is_some_and(|text| pattern.is_match(text))
    {
        return Err(Mismatch::Text);
    }
    if is_own_echo(event) && !t.include_own_echoes {
        return Err(Mismatch::OwnEcho);
    }
    Ok(())
}

fn event_kind(event: &PluginEvent) -> Option<EventKind> {
    Some(match event {
        PluginEvent::MessageReceived(_) => EventKind::MessageReceived,
        PluginEvent::MessageSent(_) => EventKind::MessageSent,
        PluginEvent::MessageDelivered(_) => EventKind::MessageDelivered,
        PluginEvent::MessageRead(_) => EventKind::MessageRead,
        PluginEvent::MessageFailed(_) => EventKind::MessageFailed,
        PluginEvent::ConnectionStatusChanged(_) => EventKind::ConnectionStatusChanged,
        PluginEvent::Manual(_) => EventKind::Manual,
        PluginEvent::ScheduleFired(_) => return None,
    })
}

fn connection_of(event: &PluginEvent) -> Option<i64> {
    match event {
        PluginEvent::MessageReceived(e) | PluginEvent::MessageSent(e) => Some(e.connection_id),
        PluginEvent::MessageDelivered(e)
        | PluginEvent::MessageRead(e)
        | PluginEvent::MessageFailed(e) => Some(e.connection_id),
        PluginEvent::ConnectionStatusChanged(e) => Some(e.connection_id),
        PluginEvent::ScheduleFired(_) | PluginEvent::Manual(_) => None,
    }
}

fn source_of(event: &PluginEvent) -> Option<SourceType> {
    match event {
        PluginEvent::MessageReceived(e) | PluginEvent::MessageSent(e) => e.source_type,
        _ => None,
    }
}

/// The text a `text_matches` pattern is matched against: a text message's text, a media
/// caption, a template's text, an interactive message's body.
fn text_of(event: &PluginEvent) -> Option<&str> {
    let (PluginEvent::MessageReceived(e) | PluginEvent::MessageSent(e)) = event else {
        return None;
    };
    match &e.message.content {
        MessageContent::Text(text) => Some(text),
        MessageContent::File(m)
        | MessageContent::Image(m)
        | MessageContent::Audio(m)
        | MessageContent::Video(m)
        | MessageContent::Voice(m) => Some(&m.caption),
        MessageContent::WabaTemplate(t) => Some(&t.text),
        MessageContent::WabaInteractive(i) => Some(&i.body_text),
        MessageContent::Order(_) | MessageContent::Other(_) => None,
    }
}

fn is_own_echo(event: &PluginEvent) -> bool {
    matches!(event, PluginEvent::MessageSent(e) if e.own_echo)
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Schedule => f.write_str("a schedule trigger (runs on its cron slots)"),
            Mismatch::Kind { kind } => write!(f, "`on` does not list `{kind}`"),
            Mismatch::Connection { connection } => {
                write!(f, "connection {connection} is not in `connections`")
            }
            Mismatch::SourceType { source: Some(s) } => {
                write!(f, "source type `{s}` is not in `source_types`")
            }
            Mismatch::SourceType { source: None } => {
                f.write_str("the event's source type is unknown and `source_types` is set")
            }
            Mismatch::Text => f.write_str("the message text does not match `text_matches`"),
            Mismatch::OwnEcho => f.write_str(
                "an echo of Switchboard's own send (set `include_own_echoes = true` to receive it)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MessageEvent;

    fn triggers(toml: &str) -> Vec<Trigger> {
        let text = format!(
            "manifest_version = 1\n[plugin]\nname = \"p\"\nwasm = \"p.wasm\"\n{toml}\n[capabilities]\n"
        );
        switchboard_manifest::parse_manifest("p.toml", &text)
            .expect("valid manifest")
            .triggers
    }

    fn message(text: &str, source: Option<SourceType>, own_echo: bool) -> MessageEvent {
        let mut event = crate::event::text_received(70001, 5, source, text);
        event.message.message_id = "m".into();
        event.message.source_chat_id = "79".into();
        event.own_echo = own_echo;
        event
    }

    fn received(text: &str, source: Option<SourceType>) -> PluginEvent {
        PluginEvent::MessageReceived(message(text, source, false))
    }

    #[test]
    fn kinds_connections_sources_and_text_all_filter() {
        let t = triggers(
            "[[trigger]]\non = [\"message.received\"]\nconnections = [70001]\nsource_types = [\"waba\"]\ntext_matches = \"(?i)price\"",
        );
        assert!(subscribes(&t, &received("PRICE?", Some(SourceType::Waba))));
        let why = explain(&t, &received("hello", Some(SourceType::Waba))).expect_err("no");
        assert_eq!(why, vec![Mismatch::Text]);
        let why = explain(&t, &received("price", None)).expect_err("no");
        assert_eq!(why, vec![Mismatch::SourceType { source: None }]);
        let why = explain(&t, &PluginEvent::Manual("{}".into())).expect_err("no");
        assert_eq!(why, vec![Mismatch::Kind { kind: "manual" }]);
        let mut other = message("price", Some(SourceType::Waba), false);
        other.connection_id = 70002;
        let why = explain(&t, &PluginEvent::MessageReceived(other)).expect_err("no");
        assert_eq!(why, vec![Mismatch::Connection { connection: 70002 }]);
    }

    #[test]
    fn own_echoes_need_the_opt_in() {
        let plain = triggers("[[trigger]]\non = [\"message.sent\"]");
        let echo = PluginEvent::MessageSent(message("hi", None, true));
        assert_eq!(explain(&plain, &echo), Err(vec![Mismatch::OwnEcho]));
        let opt_in = triggers("[[trigger]]\non = [\"message.sent\"]\ninclude_own_echoes = true");
        assert!(subscribes(&opt_in, &echo));
        let foreign = PluginEvent::MessageSent(message("hi", None, false));
        assert!(subscribes(&plain, &foreign));
    }

    #[test]
    fn any_trigger_is_enough_and_schedules_never_match_events() {
        let t = triggers(
            "[[trigger]]\ncron = \"0 0 9 * * *\"\n[[trigger]]\non = [\"message.received\"]",
        );
        assert!(subscribes(&t, &received("x", None)));
        let only_cron = triggers("[[trigger]]\ncron = \"0 0 9 * * *\"");
        assert_eq!(
            explain(&only_cron, &received("x", None)),
            Err(vec![Mismatch::Schedule])
        );
    }
}
