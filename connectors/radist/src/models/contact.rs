//! Contacts (`/companies/{id}/contacts/`): read views, create/update bodies and sorting.

use serde::{Deserialize, Serialize};

use super::chat::ChatOut;
use super::de;
use super::ids::{CompanyId, ContactId};

/// `ContactOut`: a contact with its phones, emails, tags and chats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactOut {
    pub id: ContactId,
    pub company_id: CompanyId,
    pub name: String,
    pub avatar_url: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_group: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub phones: Vec<Phone>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub emails: Vec<Email>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<Tag>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub chats: Vec<ChatOut>,
}

/// `Phone`: stored phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: PhoneType,
    pub value: String,
}

/// `Email`: stored e-mail address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: EmailType,
    pub value: String,
}

/// `Tag`: a company tag attached to a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub background_color: String,
}

/// `ContactsOut`: `{count, total_count, order_by, items}` page of `GET …/contacts/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactsOut {
    pub count: i64,
    pub total_count: i64,
    pub order_by: ContactSortingOptions,
    pub items: Vec<ContactOut>,
}

/// `ContactCreateRequest`: body of `POST …/contacts/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactCreateRequest {
    /// 1..256 chars.
    pub name: String,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneIn>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<EmailIn>,
    /// Tag ids.
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<i64>,
    #[serde(default, with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<ContactNoteCreateRequest>,
}

/// `ContactUpdateRequest`: PATCH body; `None` leaves a field out of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<Vec<PhoneIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<EmailIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<i64>>,
}

/// `PhoneIn`: phone to store (10..16 chars, type defaults to `work`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneIn {
    #[serde(rename = "type", default)]
    pub kind: PhoneType,
    pub value: String,
}

/// `EmailIn`: e-mail to store (type defaults to `work`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailIn {
    #[serde(rename = "type", default)]
    pub kind: EmailType,
    pub value: String,
}

/// `ContactNoteCreateRequest`: a text note (1..8192 chars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactNoteCreateRequest {
    #[serde(rename = "type", default)]
    pub kind: NoteType,
    pub text: String,
}

/// `PhoneType`: `work`, `mobile` or `other`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneType {
    #[default]
    Work,
    Mobile,
    Other,
}

/// `EmailType`: `work`, `personal` or `other`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailType {
    #[default]
    Work,
    Personal,
    Other,
}

/// `NoteType`: only `text`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteType {
    #[default]
    Text,
}

/// `ContactSortingOptions`: `order_by` of the contacts list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactSortingOptions {
    #[serde(rename = "name:asc")]
    NameAsc,
    #[serde(rename = "name:desc")]
    NameDesc,
    #[serde(rename = "created_at:asc")]
    CreatedAtAsc,
    #[serde(rename = "created_at:desc")]
    CreatedAtDesc,
    #[default]
    #[serde(rename = "id:asc")]
    IdAsc,
    #[serde(rename = "id:desc")]
    IdDesc,
}

impl ContactSortingOptions {
    /// The wire / query-string value, e.g. `created_at:desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NameAsc => "name:asc",
            Self::NameDesc => "name:desc",
            Self::CreatedAtAsc => "created_at:asc",
            Self::CreatedAtDesc => "created_at:desc",
            Self::IdAsc => "id:asc",
            Self::IdDesc => "id:desc",
        }
    }
}

impl ContactCreateRequest {
    /// A contact with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            phones: vec![],
            emails: vec![],
            tags: vec![],
            notes: vec![],
        }
    }

    /// Adds a work phone.
    pub fn with_phone(mut self, value: impl Into<String>) -> Self {
        self.phones.push(PhoneIn {
            kind: PhoneType::Work,
            value: value.into(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contacts_page_round_trips() {
        let value = json!({"count": 1, "total_count": 57, "order_by": "created_at:desc",
            "items": [{"id": 32000001, "company_id": 123456, "name": "Ivan", "avatar_url": null,
                "is_group": false,
                "phones": [{"id": 1, "type": "mobile", "value": "79000000000"}],
                "emails": [{"id": 2, "type": "personal", "value": "ivan@example.invalid"}],
                "tags": [{"id": 3, "name": "vip", "description": "", "background_color": "#ff0000"}],
                "chats": [{"connection_id": 70001, "chat_id": 38000001,
                    "source_chat_id": "79000000000", "name": "Ivan", "phone": "79000000000",
                    "username": null, "profile_link": null}]}]});
        let page: ContactsOut = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(page.order_by, ContactSortingOptions::CreatedAtDesc);
        assert_eq!(page.order_by.as_str(), "created_at:desc");
        assert_eq!(serde_json::to_value(&page).unwrap(), value);
    }

    #[test]
    fn create_and_update_bodies_are_minimal() {
        let create = ContactCreateRequest::new("Ivan").with_phone("+79000000000");
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            json!({"name": "Ivan", "phones": [{"type": "work", "value": "+79000000000"}]})
        );
        let parsed: ContactCreateRequest = serde_json::from_value(json!({"name": "Ivan",
            "phones": [{"value": "+79000000000"}], "notes": [{"text": "met at fair"}]}))
        .unwrap();
        assert_eq!(parsed.phones, create.phones);
        assert_eq!(parsed.notes[0].kind, NoteType::Text);
        let update = ContactUpdateRequest {
            tags: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(update).unwrap(), json!({"tags": []}));
    }
}
