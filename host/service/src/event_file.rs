//! The `--event FILE` of `switchboard run`: a Radist webhook body (decoded and normalized exactly
//! as intake will), `{"manual": {...}}`, or `{"schedule": {"cron": "...", "slot": "..."}}`.

use std::path::Path;

use anyhow::Context;
use radist_connector::webhook::{Decoded, NormalizedEvent, decode};
use serde_json::Value;
use switchboard_runtime::event::{Datetime, PluginEvent, ScheduleEvent};

/// An event read from a file, before it is handed to the plugin.
#[derive(Debug, Clone)]
pub enum EventSource {
    /// A Radist webhook, normalized.
    Webhook(NormalizedEvent),
    /// A manual or schedule event.
    Direct(PluginEvent),
}

/// The event with its plugin form.
#[derive(Debug, Clone)]
pub struct Event {
    pub source: EventSource,
    pub plugin_event: PluginEvent,
}

impl Event {
    /// The plugin form of `source`.
    pub fn new(source: EventSource) -> anyhow::Result<Event> {
        let plugin_event = match &source {
            EventSource::Webhook(event) => {
                switchboard_runtime::event::from_webhook(event, Default::default())
            }
            EventSource::Direct(event) => event.clone(),
        };
        Ok(Event {
            source,
            plugin_event,
        })
    }
}

/// Reads and decodes the event file.
pub fn read(path: &Path) -> anyhow::Result<Event> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the event file {}", path.display()))?;
    let context = || format!("event file {}", path.display());
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let source = if value.get("event_type").is_some() {
        webhook(&bytes).with_context(context)?
    } else if let Some(payload) = value.get("manual") {
        EventSource::Direct(PluginEvent::Manual(payload.to_string()))
    } else if let Some(schedule) = value.get("schedule") {
        EventSource::Direct(schedule_event(schedule).with_context(context)?)
    } else {
        anyhow::bail!(
            "{}: expected a Radist webhook body (with `event_type`), {{\"manual\": {{...}}}} or {{\"schedule\": {{\"cron\": \"...\", \"slot\": \"...\"}}}}",
            path.display()
        );
    };
    Event::new(source)
}

fn webhook(bytes: &[u8]) -> anyhow::Result<EventSource> {
    match decode(bytes)? {
        Decoded::Event(event) => Ok(EventSource::Webhook(event)),
        Decoded::Unsupported { event_type } => {
            anyhow::bail!("Radist event type `{event_type}` is not one Switchboard handles")
        }
    }
}

fn schedule_event(schedule: &Value) -> anyhow::Result<PluginEvent> {
    let cron = schedule
        .get("cron")
        .and_then(Value::as_str)
        .context("schedule.cron: expected a string")?;
    let slot = match schedule.get("slot").and_then(Value::as_str) {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("schedule.slot: `{text}` is not an RFC 3339 time"))?
            .to_utc(),
        None => chrono::Utc::now(),
    };
    let slot = Datetime {
        seconds: slot.timestamp(),
        nanoseconds: slot.timestamp_subsec_nanos(),
    };
    let catch_up = schedule
        .get("catch_up")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(PluginEvent::ScheduleFired(ScheduleEvent {
        cron: cron.to_owned(),
        slot,
        catch_up,
    }))
}
