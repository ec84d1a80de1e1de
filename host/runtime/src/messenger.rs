//! The messenger behind a connection, one type for the whole host: the manifest's
//! [`SourceType`](switchboard_manifest::SourceType) (its name table is the manifest's, which
//! spells messengers as Radist does). This module converts it to and from what others speak:
//! the plugin's WIT `source-type` (one table, [`WIT`]), Radist's chat source types and connection
//! kinds (by their wire name, through the manifest's table) and the stored spelling (the manifest
//! name, `other` for a connection that is no known messenger). Adding a messenger adds a row to
//! the manifest's table, a case to the WIT and a row to [`WIT`] (and, when Radist adds it, a
//! variant to the connector's `ChatSourceType`, which its validators also name it by).

use radist_connector::models::{ChatSourceType, ConnectionKind};
pub use switchboard_manifest::SourceType as Messenger;

use crate::bindings::switchboard::plugin::types::SourceType as Wit;

/// Each messenger and its WIT case; the WIT's `other` is "no known messenger".
const WIT: &[(Messenger, Wit)] = &[
    (Messenger::Waba, Wit::Waba),
    (Messenger::Whatsapp, Wit::Whatsapp),
    (Messenger::Telegram, Wit::Telegram),
    (Messenger::TelegramBot, Wit::TelegramBot),
    (Messenger::MaxPersonal, Wit::MaxPersonal),
    (Messenger::MaxBot, Wit::MaxBot),
    (Messenger::Odnoklassniki, Wit::Odnoklassniki),
];

/// How the store spells "no known messenger".
const OTHER: &str = "other";

/// The WIT source type of a messenger (`other` for none).
pub fn to_wit(messenger: Option<Messenger>) -> Wit {
    WIT.iter()
        .find(|(m, _)| Some(*m) == messenger)
        .map_or(Wit::Other, |(_, w)| *w)
}

/// The messenger of a WIT source type (`None` for `other`).
pub fn from_wit(source: Wit) -> Option<Messenger> {
    WIT.iter().find(|(_, w)| *w == source).map(|(m, _)| *m)
}

/// The messenger of a Radist chat source type, by its wire name.
pub fn of_chat(kind: ChatSourceType) -> Option<Messenger> {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => Messenger::from_name(&name),
        _ => None,
    }
}

/// The messenger of a Radist connection, by its `type` (`None` for a CRM or a payment one).
pub fn of_connection(kind: &ConnectionKind) -> Option<Messenger> {
    Messenger::from_name(kind.type_name())
}

/// The stored spelling of a WIT source type: the manifest's name, or `other`.
pub fn wit_name(source: Wit) -> &'static str {
    from_wit(source).map_or(OTHER, Messenger::as_str)
}

/// The WIT source type of a stored spelling; `None` for a name no messenger has.
pub fn wit_from_name(name: &str) -> Option<Wit> {
    if name == OTHER {
        return Some(Wit::Other);
    }
    Messenger::from_name(name).map(|m| to_wit(Some(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_messenger_round_trips_through_every_spelling() {
        for &m in Messenger::ALL {
            let wit = to_wit(Some(m));
            assert_ne!(wit, Wit::Other, "{m} has no WIT case");
            assert_eq!(from_wit(wit), Some(m));
            assert_eq!(wit_name(wit), m.as_str());
            assert_eq!(wit_from_name(m.as_str()), Some(wit));
            let chat: ChatSourceType =
                serde_json::from_value(serde_json::json!(m.as_str())).expect("a wire name");
            assert_eq!(of_chat(chat), Some(m), "Radist's chat source type for {m}");
        }
        assert_eq!(WIT.len(), Messenger::ALL.len());
        assert_eq!(from_wit(Wit::Other), None);
        assert_eq!(wit_from_name("other"), Some(Wit::Other));
        assert_eq!(wit_from_name("icq"), None);
        assert_eq!(of_chat(ChatSourceType::Unknown), None);
    }

    /// The connector's validators name a messenger by its own type's spelling (no table of
    /// their own): every violation that names one says the manifest's name for it.
    #[test]
    fn the_connector_names_each_messenger_as_the_manifest_does() {
        use radist_connector::models::SendMessageRequest;
        use radist_connector::validate::{ValidateOptions, validate_send};
        let long = serde_json::json!({"chat_id": 1, "message_type": "text",
            "text": {"text": "a".repeat(4097)}});
        let request: SendMessageRequest = serde_json::from_value(long).expect("a request");
        let ruled = [
            Messenger::Whatsapp,
            Messenger::Waba,
            Messenger::Telegram,
            Messenger::TelegramBot,
        ];
        for m in ruled {
            let chat: ChatSourceType =
                serde_json::from_value(serde_json::json!(m.as_str())).expect("a wire name");
            let violations = validate_send(&request, &ValidateOptions::for_channel(chat));
            let named = format!(" on {m} ");
            assert!(
                violations.iter().any(|v| v.message.contains(&named)),
                "no violation names {m}: {violations:?}"
            );
        }
    }
}
