//! WABA templates: the messaging view (`GET …/messaging/waba_templates/`) typed, the
//! management view (`…/messaging/templates/waba_templates/`) with raw Meta-style components.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{de, time};

/// `WabaTemplateMessageOut`: a template as offered for sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageOut {
    pub name: String,
    pub custom_name: Option<String>,
    pub locale: String,
    /// Free-form status string in this view (e.g. `APPROVED`).
    pub status: String,
    pub components: WabaTemplateMessageComponentOut,
}

/// `WabaTemplateMessageComponentOut`: body plus optional header, footer, buttons, carousel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageComponentOut {
    pub body: WabaTemplateTextComponentOut,
    pub header: Option<WabaTemplateComponentHeaderOut>,
    pub footer: Option<WabaTemplateTextComponentOut>,
    pub buttons: Option<WabaTemplateComponentButtonsOut>,
    pub carousel: Option<WabaTemplateComponentCarouselOut>,
}

/// `WabaTemplateTextComponentOut`: text with `params_count` `{{n}}` placeholders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateTextComponentOut {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub params_count: i64,
}

/// `WabaTemplateComponentHeaderOut`: header text or media `format` (free-form string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateComponentHeaderOut {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub params_count: i64,
    pub format: String,
}

/// `WabaTemplateComponentButtonsOut`: the button block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateComponentButtonsOut {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub params_count: i64,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub buttons: Vec<WabaTemplateComponentButtonOut>,
}

/// `WabaTemplateComponentButtonOut`: one button (`type` is a free-form string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateComponentButtonOut {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub phone_number: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub url: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub params_count: i64,
}

/// `WabaTemplateComponentCarouselOut`: carousel cards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateComponentCarouselOut {
    pub cards: Vec<WabaTemplateComponentCarouselCardOut>,
}

/// `WabaTemplateComponentCarouselCardOut`: one card's body, header and buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateComponentCarouselCardOut {
    pub body: WabaTemplateTextComponentOut,
    pub header: WabaTemplateComponentHeaderOut,
    pub buttons: WabaTemplateComponentButtonsOut,
}

/// `ListWabaTemplatesResponse`: management view `{waba_templates}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListWabaTemplatesResponse {
    pub waba_templates: Vec<WabaTemplate>,
}

/// `WabaTemplate`: management view of a template; `components` kept as raw Meta JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplate {
    pub name: String,
    pub locale: String,
    pub status: WabaTemplateStatus,
    pub category: WabaTemplateCategory,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub rejected_reason: String,
    pub custom_name: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub components: Vec<serde_json::Value>,
}

/// `WabaTemplateStatus`: moderation state; unrecognised values read as `Unknown` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WabaTemplateStatus {
    Approved,
    Submitted,
    Rejected,
    #[serde(other)]
    Unknown,
}

/// `WabaTemplateCategory`: Meta template category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WabaTemplateCategory {
    Marketing,
    Authentication,
    Utility,
    /// A category this crate does not know yet.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messaging_view_round_trips() {
        let value = json!([{"name": "order_ready", "custom_name": "Order ready", "locale": "ru",
            "status": "APPROVED", "components": {
                "body": {"text": "Hello {{1}}, order {{2}} is ready", "params_count": 2},
                "header": {"text": "", "params_count": 0, "format": "IMAGE"},
                "footer": null,
                "buttons": {"text": "", "params_count": 0, "buttons": [{"type": "URL",
                    "text": "Track", "phone_number": "", "url": "https://x.invalid/{{1}}",
                    "params_count": 1}]},
                "carousel": null}}]);
        let templates: Vec<WabaTemplateMessageOut> = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(templates[0].components.body.params_count, 2);
        assert_eq!(serde_json::to_value(&templates).unwrap(), value);
    }

    #[test]
    fn management_view_keeps_raw_components() {
        let value = json!({"waba_templates": [{"name": "otp", "locale": "en", "status": "PAUSED",
            "category": "AUTHENTICATION", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T10:00:00.250000Z", "rejected_reason": "NONE",
            "custom_name": null,
            "components": [{"type": "BODY", "text": "{{1}}", "add_security_recommendation": true}]}]});
        let list: ListWabaTemplatesResponse = serde_json::from_value(value).unwrap();
        let template = &list.waba_templates[0];
        assert_eq!(template.status, WabaTemplateStatus::Unknown);
        assert_eq!(template.components[0]["type"], "BODY");
        let known: WabaTemplateStatus = serde_json::from_value(json!("UNKNOWN")).unwrap();
        assert_eq!(serde_json::to_value(known).unwrap(), json!("UNKNOWN"));
    }
}
