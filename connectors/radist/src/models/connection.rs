//! Connections (`GET /companies/{id}/connections/`): common fields plus typed `params` for
//! the messaging connection types, and a raw fallback for CRM and payment connections.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::ids::ConnectionId;
use super::{de, time};

/// `Connection*Response`: one connection of any type (`type` + `params` in [`ConnectionKind`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub name: String,
    pub radist_token: Uuid,
    pub last_status: Option<ConnectionLastStatus>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub integrations: Vec<i64>,
    pub subscription_id: Option<i64>,
    pub subscription: Option<Subscription>,
    /// The `type` and `params` keys.
    #[serde(flatten)]
    pub kind: ConnectionKind,
}

/// `ConnectionsOutClass`: `{count, connections}` page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsOut {
    pub count: i64,
    pub connections: Vec<Connection>,
}

/// Connection `type` with its typed `params`; non-messaging types land in `Other`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionKind {
    Whatsapp(WhatsAppParams),
    Waba(WabaParams),
    Telegram(TelegramParams),
    TelegramBot(TelegramBotParams),
    MaxPersonal(MaxPersonalParams),
    MaxBot(MaxBotParams),
    /// amocrm, bitrix, odnoklassniki, payment providers, …: kept as raw JSON.
    Other {
        kind: String,
        params: serde_json::Value,
    },
}

/// `WhatsAppParamsOut`: WhatsApp personal (QR-linked) connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatsAppParams {
    pub phone: Option<String>,
    pub qr_url: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub group_chats_enabled: bool,
}

/// `WabaParamsOut`: WhatsApp Business API connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaParams {
    pub phone: String,
    pub facebook_business_id: i64,
    pub waba_business_id: i64,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub facebook_catalog_enabled: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub waba_auto_templates_enabled: bool,
}

/// `TelegramParamsOut`: Telegram personal account connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelegramParams {
    pub user_id: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub group_chats_enabled: bool,
}

/// `TelegramBotParamsOut`: Telegram bot connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelegramBotParams {
    pub bot_id: String,
    pub bot_username: String,
}

/// `MaxPersonalParamsOut`: Max personal account connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaxPersonalParams {
    pub user_id: String,
    pub phone: String,
    pub device_id: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub group_chats_enabled: bool,
}

/// `MaxBotParamsOut`: Max bot connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaxBotParams {
    pub bot_id: String,
    pub bot_username: Option<String>,
}

/// `ConnectionLastStatusOut`: last known health of a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionLastStatus {
    pub status_type: ConnectionStatusType,
    pub status_subtype: ConnectionStatusSubtype,
}

/// `ConnectionSubscription` / `ChatSourceSubscription`: paid plan of a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: i64,
    #[serde(with = "time")]
    pub paid_until: DateTime<Utc>,
    pub subscription_plan: SubscriptionPlan,
}

/// `ConnectionStatusType`: `good` or `bad`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatusType {
    Good,
    Bad,
    /// A status this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `ConnectionStatusSubtype`: why a connection is in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatusSubtype {
    Normal,
    GenericAuthorizationError,
    GenericConnectionError,
    WhatsappQrNotScanned,
    /// A subtype this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `ConnectionSubscriptionPlan` / `ChatSourceSubscriptionPlan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubscriptionPlan {
    Free,
    Start,
    Standard,
    Advanced,
    /// A plan this crate does not know yet.
    #[serde(other)]
    Unknown,
}

impl ConnectionKind {
    /// The wire `type` string (`whatsapp`, `waba`, …, or the raw one of `Other`).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Whatsapp(_) => "whatsapp",
            Self::Waba(_) => "waba",
            Self::Telegram(_) => "telegram",
            Self::TelegramBot(_) => "telegram_bot",
            Self::MaxPersonal(_) => "max_personal",
            Self::MaxBot(_) => "max_bot",
            Self::Other { kind, .. } => kind,
        }
    }

    /// Whether this is a messaging connection this crate types (everything but `Other`).
    pub fn is_messaging(&self) -> bool {
        !matches!(self, Self::Other { .. })
    }
}

#[derive(Deserialize)]
struct TaggedParams {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    params: serde_json::Value,
}

#[derive(Serialize)]
struct TaggedParamsRef<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    params: &'a T,
}

impl Serialize for ConnectionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = self.type_name();
        match self {
            Self::Whatsapp(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::Waba(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::Telegram(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::TelegramBot(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::MaxPersonal(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::MaxBot(params) => TaggedParamsRef { kind, params }.serialize(serializer),
            Self::Other { params, .. } => TaggedParamsRef { kind, params }.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ConnectionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let TaggedParams { kind, params } = TaggedParams::deserialize(deserializer)?;
        fn typed<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            kind: &str,
            params: serde_json::Value,
        ) -> Result<T, E> {
            serde_json::from_value(params)
                .map_err(|err| E::custom(format_args!("`{kind}` connection params: {err}")))
        }
        Ok(match kind.as_str() {
            "whatsapp" => Self::Whatsapp(typed(&kind, params)?),
            "waba" => Self::Waba(typed(&kind, params)?),
            "telegram" => Self::Telegram(typed(&kind, params)?),
            "telegram_bot" => Self::TelegramBot(typed(&kind, params)?),
            "max_personal" => Self::MaxPersonal(typed(&kind, params)?),
            "max_bot" => Self::MaxBot(typed(&kind, params)?),
            _ => Self::Other { kind, params },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture() -> serde_json::Value {
        json!({"count": 4, "connections": [
            {"id": 70001, "name": "WABA main", "radist_token": "0b6f3a52-94c1-4d1e-8f0a-3f2a1b4c5d6e",
             "last_status": {"status_type": "good", "status_subtype": "normal"},
             "integrations": [70004], "subscription_id": 501,
             "subscription": {"id": 501, "paid_until": "2026-03-12T19:35:23.763356Z",
                              "subscription_plan": "STANDARD"},
             "type": "waba",
             "params": {"phone": "77080000000", "facebook_business_id": 1234567890,
                        "waba_business_id": 9_876_543_210_i64, "facebook_catalog_enabled": false,
                        "waba_auto_templates_enabled": true}},
            {"id": 70002, "name": "WhatsApp", "radist_token": "1c7f4b63-a5d2-4e2f-9a1b-4a3b2c5d6e7f",
             "last_status": {"status_type": "bad", "status_subtype": "whatsapp_qr_not_scanned"},
             "integrations": [], "subscription_id": null, "subscription": null,
             "type": "whatsapp",
             "params": {"phone": null, "qr_url": "https://example.invalid/qr", "group_chats_enabled": false}},
            {"id": 70003, "name": "Bot", "radist_token": "2d8a5c74-b6e3-4f3a-8b2c-5b4c3d6e7f80",
             "last_status": null, "integrations": [], "subscription_id": null, "subscription": null,
             "type": "telegram_bot", "params": {"bot_id": "6000000000", "bot_username": "acme_bot"}},
            {"id": 70004, "name": "amoCRM", "radist_token": "3e9b6d85-c7f4-4a4b-9c3d-6c5d4e7f8091",
             "last_status": null, "integrations": [70001], "subscription_id": null, "subscription": null,
             "type": "amocrm",
             "params": {"domain": "acme.amocrm.ru", "account_id": "31000000", "client_uuid": "",
                        "widget_code": ""}}
        ]})
    }

    #[test]
    fn connection_list_round_trips_with_typed_params() {
        let page: ConnectionsOut = serde_json::from_value(fixture()).unwrap();
        let kinds: Vec<&str> = page
            .connections
            .iter()
            .map(|c| c.kind.type_name())
            .collect();
        assert_eq!(kinds, ["waba", "whatsapp", "telegram_bot", "amocrm"]);
        let ConnectionKind::Waba(waba) = &page.connections[0].kind else {
            panic!("first connection is waba")
        };
        assert!(waba.waba_auto_templates_enabled);
        assert_eq!(waba.waba_business_id, 9876543210);
        let whatsapp = &page.connections[1];
        assert_eq!(
            whatsapp.last_status,
            Some(ConnectionLastStatus {
                status_type: ConnectionStatusType::Bad,
                status_subtype: ConnectionStatusSubtype::WhatsappQrNotScanned,
            })
        );
        assert!(!page.connections[3].kind.is_messaging());
        assert_eq!(serde_json::to_value(&page).unwrap(), fixture());
    }

    #[test]
    fn bad_params_of_a_messaging_type_are_an_error() {
        let raw = json!({"id": 1, "name": "x", "radist_token": "0b6f3a52-94c1-4d1e-8f0a-3f2a1b4c5d6e",
                         "type": "telegram_bot", "params": {"bot_id": "1"}});
        let err = serde_json::from_value::<Connection>(raw).unwrap_err();
        assert!(
            err.to_string().contains("`telegram_bot` connection params"),
            "{err}"
        );
    }

    #[test]
    fn unknown_status_values_do_not_break_decoding() {
        let raw = json!({"id": 1, "name": "x", "radist_token": "0b6f3a52-94c1-4d1e-8f0a-3f2a1b4c5d6e",
                         "last_status": {"status_type": "degraded", "status_subtype": "rate_limited"},
                         "type": "max_bot", "params": {"bot_id": "1"}});
        let connection: Connection = serde_json::from_value(raw).unwrap();
        assert_eq!(
            connection.last_status.map(|s| s.status_subtype),
            Some(ConnectionStatusSubtype::Unknown)
        );
        assert_eq!(connection.integrations, Vec::<i64>::new());
    }
}
