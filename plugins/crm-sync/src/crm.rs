//! The CRM's wire format: what the plugin posts and what it reads back.
//!
//! - `POST {crm_url}/contacts` with [`NewContact`]; answers `{"id": …}` (string or number) and
//!   optionally `"answered": true` when the CRM has handled the conversation itself.
//! - `GET {crm_url}/leads/pending` answers a JSON array of [`Lead`].
//! - `POST {crm_url}/leads/{lead_id}/contacted` with [`Contacted`] once a lead got its template.
//!
//! All requests carry `authorization: Bearer {crm_token}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A new contact and the first message it sent.
#[derive(Debug, Serialize)]
pub struct NewContact<'a> {
    pub contact_id: Option<i64>,
    pub connection_id: i64,
    pub chat_id: i64,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub username: Option<&'a str>,
    pub message: FirstMessage<'a>,
}

/// The message that made the contact known.
#[derive(Debug, Serialize)]
pub struct FirstMessage<'a> {
    pub id: &'a str,
    pub text: Option<&'a str>,
    /// Unix seconds.
    pub created_at: i64,
}

/// The CRM's answer to a new contact.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: Value,
    /// The CRM has answered the customer: the chat is marked answered in Radist.
    #[serde(default)]
    pub answered: bool,
}

/// A lead the CRM wants contacted.
#[derive(Debug, Clone, Deserialize)]
pub struct Lead {
    pub lead_id: Value,
    #[serde(default)]
    pub contact_id: Option<i64>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Reported back when a lead got its template.
#[derive(Debug, Serialize)]
pub struct Contacted<'a> {
    pub connection_id: i64,
    pub chat_id: i64,
    pub message_id: &'a str,
}

/// What the plugin remembers in kv per contact (`contact:{id}`) and per lead (`lead:{id}`).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Remembered {
    pub crm_id: String,
    #[serde(default)]
    pub chat_id: Option<i64>,
    #[serde(default)]
    pub message_id: Option<String>,
}

/// A JSON id (string or number) as a plain string: `"17"` and `17` are the same id.
pub fn id_string(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_whatever_their_json_type() {
        assert_eq!(id_string(&Value::from(17)), "17");
        assert_eq!(id_string(&Value::from("L-17")), "L-17");
    }

    #[test]
    fn leads_parse_with_optional_fields() {
        let leads: Vec<Lead> =
            serde_json::from_str(r#"[{"lead_id": 1, "contact_id": 5}, {"lead_id": "b", "phone": "7999", "name": "Anna"}]"#)
                .unwrap();
        assert_eq!(leads[0].contact_id, Some(5));
        assert_eq!(leads[1].phone.as_deref(), Some("7999"));
    }
}
