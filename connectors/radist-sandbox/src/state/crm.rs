//! CRM records: company tags (name unique per company, case-sensitive), notes (each belongs to
//! one contact), quick replies (each belongs to one company) and the key's permissions, with
//! their `openapi-crm.json` renderings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{State, take_next};
use crate::error::ApiError;
use crate::seed::Seed;
use crate::time::format;

const FIRST_TAG_ID: i64 = 1_001;
const FIRST_NOTE_ID: i64 = 5_000_001;
const FIRST_QUICK_REPLY_ID: i64 = 1;

/// A company tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRec {
    pub id: i64,
    pub company_id: i64,
    pub name: String,
    pub description: String,
    pub background_color: String,
}

/// A note on a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRec {
    pub id: i64,
    pub contact_id: i64,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A company quick reply (`MessageTemplateOut`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuickReplyRec {
    pub id: i64,
    pub company_id: i64,
    pub kind: String,
    pub name: String,
    pub text: Option<String>,
    pub file_url: Option<String>,
}

/// Every CRM record and the id counters.
#[derive(Debug, Clone)]
pub struct Crm {
    pub tags: BTreeMap<i64, TagRec>,
    pub notes: BTreeMap<i64, NoteRec>,
    pub quick_replies: BTreeMap<i64, QuickReplyRec>,
    /// `User.permissions` of the one API key.
    pub permissions: Vec<String>,
    next_tag: i64,
    next_note: i64,
    next_quick_reply: i64,
}

impl Crm {
    /// The seed's tags, quick replies and permissions.
    pub fn from_seed(seed: &Seed) -> Self {
        let mut crm = Self {
            tags: BTreeMap::new(),
            notes: BTreeMap::new(),
            quick_replies: BTreeMap::new(),
            permissions: seed.permissions.clone(),
            next_tag: FIRST_TAG_ID,
            next_note: FIRST_NOTE_ID,
            next_quick_reply: FIRST_QUICK_REPLY_ID,
        };
        for company in &seed.companies {
            for tag in &company.tags {
                let color = tag.background_color.clone();
                crm.insert_tag(company.id, &tag.name, &tag.description, &color);
            }
            for reply in &company.quick_replies {
                crm.insert_quick_reply(company.id, &reply.name, Some(reply.text.clone()), None);
            }
        }
        crm
    }

    /// A tag of the company, or 404 `Tag not found`.
    pub fn tag(&self, company_id: i64, id: i64) -> Result<&TagRec, ApiError> {
        self.tags
            .get(&id)
            .filter(|t| t.company_id == company_id)
            .ok_or_else(|| ApiError::not_found("Tag not found"))
    }

    /// The company's tag named exactly `name`.
    pub fn tag_named(&self, company_id: i64, name: &str) -> Option<&TagRec> {
        let mut tags = self.tags.values();
        tags.find(|t| t.company_id == company_id && t.name == name)
    }

    /// Stores a new tag (the caller checked the name is free); returns its id.
    pub fn insert_tag(
        &mut self,
        company_id: i64,
        name: &str,
        description: &str,
        color: &str,
    ) -> i64 {
        let id = take_next(&mut self.next_tag);
        let tag = TagRec {
            id,
            company_id,
            name: name.to_owned(),
            description: description.to_owned(),
            background_color: color.to_owned(),
        };
        self.tags.insert(id, tag);
        id
    }

    /// A note of the contact, or 404 `Note not found`.
    pub fn note(&self, contact_id: i64, id: i64) -> Result<&NoteRec, ApiError> {
        self.notes
            .get(&id)
            .filter(|n| n.contact_id == contact_id)
            .ok_or_else(|| ApiError::not_found("Note not found"))
    }

    /// Stores a new note; returns its id.
    pub fn insert_note(&mut self, contact_id: i64, text: String, now: DateTime<Utc>) -> i64 {
        let id = take_next(&mut self.next_note);
        let note = NoteRec {
            id,
            contact_id,
            text,
            created_at: now,
            updated_at: now,
        };
        self.notes.insert(id, note);
        id
    }

    /// Notes of one contact, oldest first.
    pub fn notes_of(&self, contact_id: i64) -> impl Iterator<Item = &NoteRec> {
        self.notes
            .values()
            .filter(move |n| n.contact_id == contact_id)
    }

    /// A quick reply of the company, or 404 `Template not found`.
    pub fn quick_reply(&self, company_id: i64, id: i64) -> Result<&QuickReplyRec, ApiError> {
        self.quick_replies
            .get(&id)
            .filter(|q| q.company_id == company_id)
            .ok_or_else(|| ApiError::not_found("Template not found"))
    }

    /// Stores a new text quick reply; returns its id.
    pub fn insert_quick_reply(
        &mut self,
        company_id: i64,
        name: &str,
        text: Option<String>,
        file_url: Option<String>,
    ) -> i64 {
        let id = take_next(&mut self.next_quick_reply);
        let reply = QuickReplyRec {
            id,
            company_id,
            kind: "text".to_owned(),
            name: name.to_owned(),
            text,
            file_url,
        };
        self.quick_replies.insert(id, reply);
        id
    }
}

impl State {
    /// `Tag` objects (as inside `ContactOut`) of the given ids, skipping deleted ones.
    pub fn tags_json(&self, ids: &[i64]) -> Vec<Value> {
        let tags = ids.iter().filter_map(|id| self.crm.tags.get(id));
        tags.map(|t| {
            json!({"id": t.id, "name": t.name, "description": t.description,
            "background_color": t.background_color})
        })
        .collect()
    }

    /// Checks every id is a tag of the company (404 `Tag not found` otherwise).
    pub fn check_tags(&self, company_id: i64, ids: &[i64]) -> Result<(), ApiError> {
        ids.iter()
            .try_for_each(|id| self.crm.tag(company_id, *id).map(drop))
    }
}

impl TagRec {
    /// `TagOut`.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "company_id": self.company_id, "name": self.name,
               "description": self.description, "background_color": self.background_color})
    }
}

impl NoteRec {
    /// `NoteOut`.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "contact_id": self.contact_id, "type": "text", "text": self.text,
               "created_at": format(&self.created_at), "updated_at": format(&self.updated_at),
               "created_by": null, "updated_by": null})
    }
}

impl QuickReplyRec {
    /// `MessageTemplateOut`.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "company_id": self.company_id, "type": self.kind, "name": self.name,
               "text": self.text, "file_url": self.file_url, "params": null})
    }
}
