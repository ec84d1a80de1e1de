//! [`StoredEvent`]: what the store keeps of an event (its `payload` JSON) and how it becomes the
//! plugin's event again when a run executes: a normalized webhook with what the host learned
//! about it (source type, own echo), a schedule slot, or a manual payload.

use chrono::{DateTime, Utc};
use radist_connector::webhook::NormalizedEvent;
use serde::{Deserialize, Serialize};
use switchboard_runtime::event::{
    self, PluginEvent, ScheduleEvent, SourceType, WebhookContext, datetime,
};
use switchboard_runtime::messenger;

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum StoredEvent {
    Webhook {
        event: NormalizedEvent,
        /// The connection's messenger (manifest spelling), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_type: Option<String>,
        /// A `message.sent` of a message Switchboard sent itself.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        own_echo: bool,
    },
    Schedule {
        /// `<plugin>#<trigger index>`.
        schedule: String,
        cron: String,
        slot: DateTime<Utc>,
        catch_up: bool,
    },
    Manual {
        payload: String,
    },
}

impl StoredEvent {
    /// A webhook event with what intake learned about it.
    pub fn webhook(event: NormalizedEvent, context: WebhookContext) -> Self {
        StoredEvent::Webhook {
            event,
            source_type: context.source_type.map(|s| source_name(s).to_owned()),
            own_echo: context.own_echo,
        }
    }

    /// The event a plugin receives.
    pub fn plugin_event(&self) -> PluginEvent {
        match self {
            StoredEvent::Webhook {
                event,
                source_type,
                own_echo,
            } => {
                let context = WebhookContext {
                    own_echo: *own_echo,
                    source_type: source_type.as_deref().and_then(source_from_name),
                };
                event::from_webhook(event, context)
            }
            StoredEvent::Schedule {
                cron,
                slot,
                catch_up,
                ..
            } => PluginEvent::ScheduleFired(ScheduleEvent {
                cron: cron.clone(),
                slot: datetime(*slot),
                catch_up: *catch_up,
            }),
            StoredEvent::Manual { payload } => PluginEvent::Manual(payload.clone()),
        }
    }

    /// The JSON kept in the store.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".to_owned())
    }

    /// Reads a stored payload back.
    pub fn from_payload(payload: &str) -> Result<StoredEvent, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

/// The stored spelling of a source type (`waba`, `telegram_bot`, ..., `other`).
pub fn source_name(source: SourceType) -> &'static str {
    messenger::wit_name(source)
}

fn source_from_name(name: &str) -> Option<SourceType> {
    messenger::wit_from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use radist_connector::webhook::{Decoded, decode};

    #[test]
    fn a_webhook_round_trips_with_its_context() {
        let body = br#"{"event_type":"messages.create","event":{"connection_id":70001,"chat_id":38000001,
            "message":{"message_id":"9b2f1f64-8f0e-4f57-9a1c-2d4c8f8e0a11","chat_id":"79000000000",
            "direction":"outbound","message_type":"text","created_at":"2026-02-19T13:07:03Z","text":{"text":"Hi"}}}}"#;
        let Ok(Decoded::Event(event)) = decode(body) else {
            panic!("decodes")
        };
        let context = WebhookContext {
            own_echo: true,
            source_type: Some(SourceType::Waba),
        };
        let stored = StoredEvent::webhook(event, context);
        let back = StoredEvent::from_payload(&stored.to_payload()).expect("reads back");
        assert_eq!(back, stored);
        let PluginEvent::MessageSent(m) = back.plugin_event() else {
            panic!("message.sent")
        };
        assert!(m.own_echo);
        assert_eq!(m.source_type, Some(SourceType::Waba));
    }

    #[test]
    fn schedules_and_manual_events_round_trip() {
        let slot = "2026-11-23T09:00:00Z".parse().expect("time");
        let stored = StoredEvent::Schedule {
            schedule: "crm-sync#1".into(),
            cron: "0 0 9 * * *".into(),
            slot,
            catch_up: false,
        };
        let back = StoredEvent::from_payload(&stored.to_payload()).expect("reads back");
        let PluginEvent::ScheduleFired(s) = back.plugin_event() else {
            panic!("schedule")
        };
        assert_eq!(s.slot.seconds, slot.timestamp());
        let manual = StoredEvent::Manual {
            payload: "{\"a\":1}".into(),
        };
        assert!(matches!(manual.plugin_event(), PluginEvent::Manual(p) if p == "{\"a\":1}"));
    }
}
