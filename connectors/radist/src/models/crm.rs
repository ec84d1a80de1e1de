//! The CRM half of the v2 API (`openapi-crm.json`): company tags, a contact's tag set, notes,
//! social profiles, quick-reply templates (`/messaging/templates/`) and `/users/me`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::NoteType;
use super::ids::{CompanyId, ContactId, NoteId, QuickReplyId, TagId};
use super::{de, time};

/// Longest tag name the API accepts (`TagIn.name`, 1..=15 characters).
pub const TAG_NAME_MAX_CHARS: usize = 15;
/// Longest note text the API accepts (`ContactNoteCreateRequest.text`, 1..=8192 characters).
pub const NOTE_TEXT_MAX_CHARS: usize = 8192;

/// `TagOut`: a company tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagOut {
    pub id: TagId,
    pub company_id: CompanyId,
    pub name: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub description: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub background_color: String,
}

/// `TagIn`: body of `POST …/tags/` (name unique per company, case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagIn {
    /// 1..=15 characters.
    pub name: String,
    /// 0..=256 characters; the API defaults to empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `#rrggbb`; the API defaults to `#eeeeee`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
}

impl TagIn {
    /// A tag with only a name (the API fills description and colour).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            background_color: None,
        }
    }
}

/// `UpdateTag`: body of `PUT …/tags/{tag_id}` (every field required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateTag {
    pub name: String,
    pub description: String,
    pub background_color: String,
}

/// `ContactTagsOut`: one `(contact, tag)` pair of the set `PUT …/contacts/{id}/tags/` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactTagsOut {
    pub contact_id: ContactId,
    pub tag_id: TagId,
}

/// `NoteOut`: a note on a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteOut {
    pub id: NoteId,
    pub contact_id: ContactId,
    #[serde(rename = "type", default)]
    pub kind: NoteType,
    pub text: String,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time")]
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
}

/// `ContactNoteUpdateRequest`: body of `PATCH …/notes/{note_id}` (1..=8192 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactNoteUpdateRequest {
    pub text: String,
}

/// `SocialProfileType`: `telegram` or `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocialProfileType {
    Telegram,
    Max,
    /// A profile type this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `SocialProfileOut`: a messenger profile linked to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialProfileOut {
    pub social_profile_type: SocialProfileType,
    pub user_id: String,
    pub name: String,
    pub username: Option<String>,
    pub profile_link: Option<String>,
}

/// `MessageTemplateType`: kind of a quick reply as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageTemplateType {
    Text,
    Image,
    Video,
    Document,
    WabaInteractive,
    /// A template type this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `MessageTemplateOut`: a company quick reply (not a WABA template).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplateOut {
    pub id: QuickReplyId,
    pub company_id: CompanyId,
    #[serde(rename = "type")]
    pub kind: MessageTemplateType,
    pub name: String,
    pub text: Option<String>,
    pub file_url: Option<String>,
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `MessageTemplateTypeIn`: kinds a quick reply can be created as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageTemplateTypeIn {
    #[default]
    Text,
    WabaInteractive,
}

/// `MessageTemplateCreateRequest`: body of `POST …/messaging/templates/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplateCreateRequest {
    #[serde(rename = "type")]
    pub kind: MessageTemplateTypeIn,
    /// 1..=128 characters.
    pub name: String,
    /// 1..=8192 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// `WabaInteractiveMessageContentIn`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_interactive: Option<serde_json::Value>,
}

impl MessageTemplateCreateRequest {
    /// A text quick reply.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            kind: MessageTemplateTypeIn::Text,
            name: name.into(),
            text: Some(text.into()),
            file_url: None,
            waba_interactive: None,
        }
    }
}

/// `MessageTemplateUpdateRequest`: PATCH body; `None` leaves a field out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplateUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_interactive: Option<serde_json::Value>,
}

/// `User`: who the API key acts as (`GET /users/me`), with its permissions.
///
/// `permissions` stays a list of strings: the `PermissionType` enum grows with the product and
/// an unknown permission must not make the whole answer unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: uuid::Uuid,
    pub login: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub scopes: Vec<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub name: Option<String>,
    pub db_user_id: Option<i64>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub permissions: Vec<String>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_integration: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub companies: Vec<CompanyId>,
}

impl User {
    /// Whether the key holds `permission` (e.g. `contacts_edit`) or its umbrella (`contacts`).
    pub fn allows(&self, permission: &str) -> bool {
        let umbrella = permission.split('_').next().unwrap_or(permission);
        self.permissions
            .iter()
            .any(|p| p == permission || p == umbrella)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn note_and_tag_round_trip() {
        let note = json!({"id": 5, "contact_id": 32000001, "type": "text", "text": "hi",
            "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z",
            "created_by": null, "updated_by": null});
        let parsed: NoteOut = serde_json::from_value(note.clone()).unwrap();
        assert_eq!(parsed.id, NoteId(5));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), note);
        let tag = TagIn::named("lead");
        assert_eq!(serde_json::to_value(tag).unwrap(), json!({"name": "lead"}));
    }

    #[test]
    fn quick_reply_bodies_leave_out_unset_fields() {
        let create = MessageTemplateCreateRequest::text("greeting", "Hello");
        let written = json!({"type": "text", "name": "greeting", "text": "Hello"});
        assert_eq!(serde_json::to_value(&create).unwrap(), written);
        let read: MessageTemplateCreateRequest = serde_json::from_value(written).unwrap();
        assert_eq!(read, create);
        let update = MessageTemplateUpdateRequest {
            file_url: Some("https://cdn.example/a.pdf".into()),
            ..MessageTemplateUpdateRequest::default()
        };
        let written = json!({"file_url": "https://cdn.example/a.pdf"});
        assert_eq!(serde_json::to_value(&update).unwrap(), written);
        let read: MessageTemplateUpdateRequest = serde_json::from_value(written).unwrap();
        assert_eq!(read, update);
    }

    #[test]
    fn user_permissions_accept_unknown_names_and_umbrellas() {
        let user: User =
            serde_json::from_value(json!({"id": "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b",
            "scopes": [], "roles": [], "permissions": ["tags", "contacts_view", "brand_new"]}))
            .unwrap();
        assert!(user.allows("tags_create"));
        assert!(user.allows("contacts_view"));
        assert!(!user.allows("contacts_edit"));
    }
}
