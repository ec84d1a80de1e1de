//! Read-only renderings of the seeded catalogue: companies, connections, chat sources and
//! WABA templates, in the spec's shapes.

use serde_json::{Value, json};

use super::model::{Company, Connection, Template};
use super::template_params;

/// Far-future paid-until of every sandbox subscription.
const PAID_UNTIL: &str = "2030-01-01T00:00:00.000000Z";

/// `create_chat` flags `(with_phone, with_username, with_chat_id)` per connection type.
pub fn create_chat_flags(kind: &str) -> (bool, bool, bool) {
    match kind {
        "waba" | "whatsapp" | "max_personal" => (true, false, false),
        "telegram" => (true, true, false),
        "telegram_bot" | "max_bot" => (false, false, true),
        _ => (false, false, false),
    }
}

/// Whether the type is a Telegram one (contact-binding rule 2).
pub fn is_telegram(kind: &str) -> bool {
    matches!(kind, "telegram" | "telegram_bot")
}

impl Company {
    /// `CompanyOut`.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "owner_id": self.owner_id, "payments_locked": false,
               "timezone": self.timezone, "payment_currency": self.payment_currency,
               "waba_360dialog_partner_id": null, "had_connections": true, "is_partner": false})
    }
}

impl Connection {
    fn subscription(&self) -> Value {
        json!({"id": 500_000 + self.id, "paid_until": PAID_UNTIL, "subscription_plan": "STANDARD"})
    }

    fn params(&self) -> Value {
        let id = self.id;
        match self.kind.as_str() {
            "waba" => json!({"phone": self.phone.clone().unwrap_or_default(),
                "facebook_business_id": 1_000_000_000 + id, "waba_business_id": 2_000_000_000 + id,
                "facebook_catalog_enabled": false, "waba_auto_templates_enabled": self.auto_templates_enabled}),
            "whatsapp" => {
                json!({"phone": self.phone, "qr_url": format!("https://sandbox.invalid/qr/{id}"),
                "group_chats_enabled": false})
            }
            "telegram" => json!({"user_id": format!("5{id:09}"), "username": self.username,
                "phone": self.phone, "group_chats_enabled": false}),
            "telegram_bot" => json!({"bot_id": format!("6{id:09}"),
                "bot_username": self.username.clone().unwrap_or_else(|| "sandbox_bot".into())}),
            "max_personal" => {
                json!({"user_id": format!("7{id:09}"), "phone": self.phone.clone().unwrap_or_default(),
                "device_id": format!("sandbox-device-{id}"), "group_chats_enabled": false})
            }
            _ => json!({"bot_id": format!("8{id:09}"), "bot_username": self.username}),
        }
    }

    /// `Connection*Response`.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "radist_token": self.radist_token,
               "last_status": {"status_type": self.status.0, "status_subtype": self.status.1},
               "integrations": [], "subscription_id": 500_000 + self.id,
               "subscription": self.subscription(), "type": self.kind, "params": self.params()})
    }

    /// `ChatSource`.
    pub fn to_source(&self) -> Value {
        let (with_phone, with_username, with_chat_id) = create_chat_flags(&self.kind);
        json!({"connection_id": self.id, "subscription": self.subscription(), "name": self.name,
               "type": self.kind, "create_chat": {"with_phone": with_phone,
               "with_username": with_username, "with_chat_id": with_chat_id}})
    }
}

impl Template {
    fn text_component(text: &str) -> Value {
        json!({"text": text, "params_count": crate::seed::params_count(text)})
    }

    /// `WabaTemplateMessageOut` (messaging view).
    pub fn to_json(&self) -> Value {
        let mut components =
            json!({"body": {"text": self.body, "params_count": template_params(self)}});
        if let Some(map) = components.as_object_mut() {
            if let Some(header) = &self.header {
                let mut h = Self::text_component(header);
                h["format"] = json!("text");
                map.insert("header".into(), h);
            }
            if let Some(footer) = &self.footer {
                map.insert("footer".into(), Self::text_component(footer));
            }
        }
        json!({"name": self.name, "custom_name": self.custom_name, "locale": self.locale,
               "status": self.status, "components": components})
    }

    /// The body with `{{n}}` replaced by the 1-based positional params.
    pub fn render(&self, params: &[String]) -> String {
        let mut text = self.body.clone();
        for (i, value) in params.iter().enumerate() {
            text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
        }
        text
    }
}
