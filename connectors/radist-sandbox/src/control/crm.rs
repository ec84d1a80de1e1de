//! `GET·POST /_sandbox/crm`: seeds CRM state (tags, quick replies, notes, contact tag sets, the
//! key's permissions) and shows it per contact, so tests can assert what plugins did.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::parse;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::seed::{QuickReplySeed, TagSeed};
use crate::state::State as Sandbox;
use crate::time::now;

/// Body of `POST /_sandbox/crm`: added to the current state, in field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrmSeed {
    /// The company to add to (default: the first one).
    pub company_id: Option<i64>,
    pub tags: Vec<TagSeed>,
    pub quick_replies: Vec<QuickReplySeed>,
    pub notes: Vec<NoteSeed>,
    /// Replaces these contacts' tag sets (tags by name).
    pub contact_tags: Vec<ContactTagsSeed>,
    /// Replaces `User.permissions` of the key.
    pub permissions: Option<Vec<String>>,
}

/// A note to add to a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteSeed {
    pub contact_id: i64,
    pub text: String,
}

/// A contact's whole tag set, by tag name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactTagsSeed {
    pub contact_id: i64,
    pub tags: Vec<String>,
}

/// Answer of `GET /_sandbox/crm`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrmSnapshot {
    pub permissions: Vec<String>,
    /// Every tag: `(id, name)`, by id.
    pub tags: Vec<(i64, String)>,
    /// Every quick reply: `(id, name)`, by id.
    pub quick_replies: Vec<(i64, String)>,
    pub contacts: Vec<ContactView>,
}

/// One contact as a test wants to see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub phones: Vec<String>,
    /// Tag names, in the order the set was stored.
    pub tags: Vec<String>,
    /// Note texts, oldest first.
    pub notes: Vec<String>,
}

/// `GET /_sandbox/crm`.
pub(super) async fn snapshot(State(app): State<AppState>) -> Json<CrmSnapshot> {
    Json(view(&app.state()))
}

/// `POST /_sandbox/crm` → the snapshot after seeding.
pub(super) async fn seed(State(app): State<AppState>, body: Bytes) -> ApiResult<Json<CrmSnapshot>> {
    let seed: CrmSeed = parse(&body)?;
    let mut state = app.state();
    let company = seed
        .company_id
        .or_else(|| state.companies.keys().next().copied())
        .unwrap_or_default();
    state.company(company)?;
    add_tags(&mut state, company, &seed.tags)?;
    for reply in &seed.quick_replies {
        let text = Some(reply.text.clone());
        state
            .crm
            .insert_quick_reply(company, &reply.name, text, None);
    }
    for note in &seed.notes {
        state.contact(company, note.contact_id)?;
        state
            .crm
            .insert_note(note.contact_id, note.text.clone(), now());
    }
    for set in &seed.contact_tags {
        set_tags(&mut state, company, set)?;
    }
    if let Some(permissions) = seed.permissions {
        state.crm.permissions = permissions;
    }
    Ok(Json(view(&state)))
}

fn add_tags(state: &mut Sandbox, company: i64, tags: &[TagSeed]) -> ApiResult<()> {
    for tag in tags {
        let chars = tag.name.chars().count();
        if !(1..=15).contains(&chars) || state.crm.tag_named(company, &tag.name).is_some() {
            let text = format!("tag `{}` must be 1 to 15 characters and new", tag.name);
            return Err(ApiError::Detail(StatusCode::UNPROCESSABLE_ENTITY, text));
        }
        let (description, color) = (&tag.description, &tag.background_color);
        state.crm.insert_tag(company, &tag.name, description, color);
    }
    Ok(())
}

fn set_tags(state: &mut Sandbox, company: i64, set: &ContactTagsSeed) -> ApiResult<()> {
    state.contact(company, set.contact_id)?;
    let ids = set
        .tags
        .iter()
        .map(|name| state.crm.tag_named(company, name).map(|t| t.id))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| ApiError::not_found("Tag not found; add it under `tags` first"))?;
    if let Some(contact) = state.contacts.get_mut(&set.contact_id) {
        contact.tags = ids;
    }
    Ok(())
}

fn view(state: &Sandbox) -> CrmSnapshot {
    let contacts = state.contacts.values().map(|c| ContactView {
        id: c.id,
        name: c.name.clone(),
        phones: c.phones.iter().map(|p| p.2.clone()).collect(),
        tags: c
            .tags
            .iter()
            .filter_map(|id| state.crm.tags.get(id).map(|t| t.name.clone()))
            .collect(),
        notes: state.crm.notes_of(c.id).map(|n| n.text.clone()).collect(),
    });
    CrmSnapshot {
        permissions: state.crm.permissions.clone(),
        tags: state
            .crm
            .tags
            .values()
            .map(|t| (t.id, t.name.clone()))
            .collect(),
        quick_replies: (state.crm.quick_replies.values())
            .map(|q| (q.id, q.name.clone()))
            .collect(),
        contacts: contacts.collect(),
    }
}
