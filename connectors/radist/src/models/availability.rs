//! WABA chat availability (`GET …/chats/{connection_id}/{chat_id}/availability`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{de, time};

/// `ChatAvailability`: whether a free-form message can be sent now.
///
/// `is_available == dialogs_available && (auto_templates_enabled || session open)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatAvailability {
    #[serde(default = "de::yes")]
    pub is_available: bool,
    pub waba: WabaChatAvailability,
}

/// `WabaChatAvailability`: the 24-hour window and dialog balance behind `is_available`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaChatAvailability {
    /// End of the customer-service window; in the past means a template is required.
    #[serde(with = "time")]
    pub expires_at: DateTime<Utc>,
    #[serde(default = "de::yes")]
    pub dialogs_available: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub auto_templates_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_follow_the_spec() {
        let a: ChatAvailability =
            serde_json::from_value(json!({"waba": {"expires_at": "2026-02-20T13:07:03Z"}}))
                .unwrap();
        assert!(a.is_available && a.waba.dialogs_available && !a.waba.auto_templates_enabled);
        let full = json!({"is_available": false, "waba": {"expires_at": "2026-02-20T13:07:03.5Z",
            "dialogs_available": true, "auto_templates_enabled": false}});
        let b: ChatAvailability = serde_json::from_value(full).unwrap();
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            json!({"is_available": false, "waba": {"expires_at": "2026-02-20T13:07:03.500000Z",
                "dialogs_available": true, "auto_templates_enabled": false}})
        );
    }
}
