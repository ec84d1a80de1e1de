//! Webhook subscriptions (`/companies/{id}/webhooks/`): event names and configs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{ConnectionId, WebhookId};

/// `WebhookEventType`: the complete set of subscribable events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WebhookEventType {
    #[serde(rename = "messages.create")]
    MessagesCreate,
    #[serde(rename = "messages.delivery.delivered")]
    MessagesDeliveryDelivered,
    #[serde(rename = "messages.delivery.read")]
    MessagesDeliveryRead,
    #[serde(rename = "messages.delivery.error")]
    MessagesDeliveryError,
    #[serde(rename = "connections.status_changed")]
    ConnectionsStatusChanged,
}

/// `WebhookConfigConnectionMessaging`: body of `POST …/webhooks/` (one connection each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfigConnectionMessaging {
    pub url: String,
    /// At least one event.
    pub events: Vec<WebhookEventType>,
    pub connection_id: ConnectionId,
}

/// `WebhookConfigConnectionMessagingOut`: a registered subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfigConnectionMessagingOut {
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub connection_id: ConnectionId,
    pub id: WebhookId,
}

impl WebhookEventType {
    /// Every event, in spec order.
    pub const ALL: [Self; 5] = [
        Self::MessagesCreate,
        Self::MessagesDeliveryDelivered,
        Self::MessagesDeliveryRead,
        Self::MessagesDeliveryError,
        Self::ConnectionsStatusChanged,
    ];

    /// The wire name, e.g. `messages.create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessagesCreate => "messages.create",
            Self::MessagesDeliveryDelivered => "messages.delivery.delivered",
            Self::MessagesDeliveryRead => "messages.delivery.read",
            Self::MessagesDeliveryError => "messages.delivery.error",
            Self::ConnectionsStatusChanged => "connections.status_changed",
        }
    }

    /// Looks an event up by its wire name.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_match_serde_and_as_str() {
        for event in WebhookEventType::ALL {
            assert_eq!(serde_json::to_value(event).unwrap(), json!(event.as_str()));
            assert_eq!(WebhookEventType::from_wire(event.as_str()), Some(event));
        }
        assert_eq!(
            WebhookEventType::from_wire("messaging.message.received"),
            None
        );
    }

    #[test]
    fn config_round_trips() {
        let value = json!({"url": "https://hooks.example/radist",
            "events": ["messages.create", "messages.delivery.error"], "connection_id": 70001,
            "id": "7a0c1e2f-3b4d-4c5e-9f60-718293a4b5c6"});
        let out: WebhookConfigConnectionMessagingOut =
            serde_json::from_value(value.clone()).unwrap();
        assert_eq!(out.events[1], WebhookEventType::MessagesDeliveryError);
        assert_eq!(serde_json::to_value(&out).unwrap(), value);
        let request = WebhookConfigConnectionMessaging {
            url: out.url,
            events: vec![WebhookEventType::MessagesCreate],
            connection_id: ConnectionId(70001),
        };
        assert_eq!(
            serde_json::to_value(request).unwrap(),
            json!({
            "url": "https://hooks.example/radist", "events": ["messages.create"], "connection_id": 70001})
        );
    }
}
