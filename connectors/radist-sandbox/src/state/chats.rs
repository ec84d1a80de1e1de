//! Chats and contacts: find-or-create a chat with the four contact-binding rules of API.md §3
//! (phone → Telegram user → explicit `contact_id` → new contact).

use chrono::{DateTime, Utc};

use super::catalog::is_telegram;
use super::model::{Chat, Contact};
use super::{State, take_next};
use crate::error::ApiError;

/// How the messenger user of a chat is named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// Digits only.
    Phone(String),
    /// Telegram username without `@`.
    Username(String),
    /// Messenger chat id (bots).
    ChatId(String),
}

/// What to find or create.
#[derive(Debug, Clone)]
pub struct ChatTarget {
    pub connection_id: i64,
    pub ident: Identifier,
    /// A username known besides the identifier (bot inbound with `chat_id` and `username`).
    pub username: Option<String>,
    pub name: Option<String>,
    pub contact_id: Option<i64>,
}

/// `CreateChatResponse` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateChatOutcome {
    pub created_chat: bool,
    pub created_contact: bool,
    pub chat_id: i64,
    pub contact_id: i64,
}

impl Identifier {
    fn text(&self) -> &str {
        match self {
            Self::Phone(s) | Self::Username(s) | Self::ChatId(s) => s,
        }
    }
}

fn same_user(chat: &Chat, ident: &Identifier, username: Option<&str>) -> bool {
    let name_match = |u: &str| {
        chat.username
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(u))
    };
    match ident {
        Identifier::Phone(p) => chat.phone.as_deref() == Some(p.as_str()),
        Identifier::Username(u) => name_match(u),
        Identifier::ChatId(c) => chat.source_chat_id == *c || username.is_some_and(name_match),
    }
}

impl State {
    /// The chat of `connection_id` with this user, if any.
    pub fn find_chat(&self, connection_id: i64, ident: &Identifier) -> Option<&Chat> {
        self.chats
            .values()
            .find(|c| c.connection_id == connection_id && same_user(c, ident, None))
    }

    /// Returns the existing chat or creates it (and its contact) per the binding rules.
    pub fn find_or_create_chat(
        &mut self,
        company_id: i64,
        target: &ChatTarget,
        now: DateTime<Utc>,
    ) -> Result<CreateChatOutcome, ApiError> {
        let kind = self
            .connection(company_id, target.connection_id)?
            .kind
            .clone();
        if let Some(chat) = self.find_chat(target.connection_id, &target.ident) {
            let (chat_id, contact_id) = (chat.id, chat.contact_id);
            return Ok(CreateChatOutcome {
                created_chat: false,
                created_contact: false,
                chat_id,
                contact_id,
            });
        }
        let (contact_id, created_contact) = match self.bind_contact(company_id, &kind, target)? {
            Some(id) => (id, false),
            None => (self.new_contact(company_id, target, now), true),
        };
        let chat_id = self.insert_chat(company_id, &kind, target, contact_id, now);
        Ok(CreateChatOutcome {
            created_chat: true,
            created_contact,
            chat_id,
            contact_id,
        })
    }

    /// Rules 1–3; `None` means rule 4 (new contact).
    fn bind_contact(
        &self,
        company_id: i64,
        kind: &str,
        target: &ChatTarget,
    ) -> Result<Option<i64>, ApiError> {
        if let Identifier::Phone(phone) = &target.ident
            && let Some(id) = self.contact_by_phone(company_id, phone)
        {
            return Ok(Some(id));
        }
        if is_telegram(kind)
            && let Some(chat) = self.telegram_chat_of(company_id, target)
        {
            return Ok(Some(chat.contact_id));
        }
        match target.contact_id {
            Some(id) => self.contact(company_id, id).map(|c| Some(c.id)),
            None => Ok(None),
        }
    }

    /// A contact of the company with this phone (its own phones or one of its chats).
    pub fn contact_by_phone(&self, company_id: i64, phone: &str) -> Option<i64> {
        let own = self
            .contacts
            .values()
            .find(|c| c.company_id == company_id && c.phones.iter().any(|p| digits(&p.2) == phone));
        own.map(|c| c.id).or_else(|| {
            let mut chats = self.chats.values();
            chats
                .find(|c| c.company_id == company_id && c.phone.as_deref() == Some(phone))
                .map(|c| c.contact_id)
        })
    }

    fn telegram_chat_of(&self, company_id: i64, target: &ChatTarget) -> Option<&Chat> {
        self.chats.values().find(|c| {
            c.company_id == company_id
                && self
                    .connections
                    .get(&c.connection_id)
                    .is_some_and(|k| is_telegram(&k.kind))
                && same_user(c, &target.ident, target.username.as_deref())
        })
    }

    fn new_contact(&mut self, company_id: i64, target: &ChatTarget, now: DateTime<Utc>) -> i64 {
        let name = target
            .name
            .clone()
            .unwrap_or_else(|| target.ident.text().to_owned());
        let phones = match &target.ident {
            Identifier::Phone(p) => vec![(self.alloc_item_id(), "mobile".to_owned(), p.clone())],
            _ => Vec::new(),
        };
        self.insert_contact(company_id, name, phones, Vec::new(), now)
    }

    /// Adds a contact and returns its id.
    pub fn insert_contact(
        &mut self,
        company_id: i64,
        name: String,
        phones: Vec<(i64, String, String)>,
        emails: Vec<(i64, String, String)>,
        now: DateTime<Utc>,
    ) -> i64 {
        let id = take_next(&mut self.next_contact);
        let contact = Contact {
            id,
            company_id,
            name,
            phones,
            emails,
            tags: Vec::new(),
            created_at: now,
        };
        self.contacts.insert(id, contact);
        id
    }

    /// A fresh item id for phones and emails.
    pub fn next_item_id(&mut self) -> i64 {
        self.alloc_item_id()
    }

    fn insert_chat(
        &mut self,
        company_id: i64,
        kind: &str,
        target: &ChatTarget,
        contact_id: i64,
        now: DateTime<Utc>,
    ) -> i64 {
        let id = take_next(&mut self.next_chat);
        let (phone, username) = match &target.ident {
            Identifier::Phone(p) => (Some(p.clone()), target.username.clone()),
            Identifier::Username(u) => (None, Some(u.clone())),
            Identifier::ChatId(_) => (None, target.username.clone()),
        };
        let source_chat_id = self.source_chat_id(company_id, kind, target);
        let contact_name = self.contacts.get(&contact_id).map(|c| c.name.clone());
        let name = target
            .name
            .clone()
            .or(contact_name)
            .unwrap_or_else(|| target.ident.text().to_owned());
        let chat = Chat {
            id,
            company_id,
            connection_id: target.connection_id,
            contact_id,
            source_chat_id,
            phone,
            username,
            name,
            updated_at: now,
            created_at: now,
            unanswered_count: 0,
            last_inbound_at: None,
            dialog_opened_at: None,
        };
        self.chats.insert(id, chat);
        id
    }

    fn source_chat_id(&mut self, company_id: i64, kind: &str, target: &ChatTarget) -> String {
        match (&target.ident, kind) {
            (Identifier::ChatId(c), _) => c.clone(),
            (Identifier::Phone(p), "whatsapp") => format!("{p}@c.us"),
            (_, "telegram") => match self.telegram_chat_of(company_id, target) {
                Some(chat) => chat.source_chat_id.clone(),
                None => (900_000_000 + self.alloc_item_id()).to_string(),
            },
            (ident, _) => ident.text().to_owned(),
        }
    }
}

/// Digits of a phone (`+7 (999) 000-00-01` → `79990000001`).
pub fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}
