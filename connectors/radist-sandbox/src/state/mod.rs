//! The in-memory state: one struct behind one mutex ([`crate::app::AppState`] holds it).
//! Methods here are synchronous and do no I/O; callers emit webhooks after releasing the lock.

mod catalog;
mod chats;
pub mod crm;
mod files;
mod messages;
pub mod model;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub use catalog::create_chat_flags;
pub use chats::{ChatTarget, Identifier, digits};
pub use files::{FileStats, FileStore};
pub use messages::NewMessage;
use model::{Chat, Company, Connection, Contact, Message, SentRecord, Subscription, Template};

use crate::config::{SandboxConfig, WindowPolicy};
use crate::error::ApiError;
use crate::ring::Ring;
use crate::seed::params_count;

/// First ids, as in the real service's ranges.
const FIRST_CHAT_ID: i64 = 38_000_001;
const FIRST_CONTACT_ID: i64 = 32_000_001;

/// Everything the API can see or change.
#[derive(Debug)]
pub struct State {
    pub api_key: String,
    pub companies: BTreeMap<i64, Company>,
    pub connections: BTreeMap<i64, Connection>,
    pub contacts: BTreeMap<i64, Contact>,
    pub chats: BTreeMap<i64, Chat>,
    /// Messages per chat in insertion order.
    pub messages: HashMap<i64, Vec<Message>>,
    pub message_chat: HashMap<Uuid, i64>,
    pub subscriptions: Vec<Subscription>,
    /// Uploaded files, bounded by `limits.max_stored_upload_bytes`.
    pub files: FileStore,
    /// Accepted sends, oldest first, bounded by `limits.max_sent`.
    pub sent: Ring<SentRecord>,
    pub window_policy: WindowPolicy,
    /// Tags, notes, quick replies and the key's permissions.
    pub crm: crm::Crm,
    next_chat: i64,
    next_contact: i64,
    next_item: i64,
    next_seq: u64,
}

impl State {
    /// Builds the state the config's seed describes, with its window policy and limits.
    pub fn from_config(config: &SandboxConfig) -> Self {
        let (seed, limits) = (&config.seed, config.limits);
        let mut state = Self {
            api_key: seed.api_key.clone(),
            companies: BTreeMap::new(),
            connections: BTreeMap::new(),
            contacts: BTreeMap::new(),
            chats: BTreeMap::new(),
            messages: HashMap::new(),
            message_chat: HashMap::new(),
            subscriptions: Vec::new(),
            files: FileStore::new(limits.max_stored_upload_bytes),
            sent: Ring::new(limits.max_sent),
            window_policy: config.window_policy,
            crm: crm::Crm::from_seed(seed),
            next_chat: FIRST_CHAT_ID,
            next_contact: FIRST_CONTACT_ID,
            next_item: 1,
            next_seq: 1,
        };
        for company in &seed.companies {
            state
                .companies
                .insert(company.id, company_from_seed(company));
            for conn in &company.connections {
                state
                    .connections
                    .insert(conn.id, connection_from_seed(company.id, conn));
            }
        }
        state
    }

    /// The company, or 404 `Company not found`.
    pub fn company(&self, id: i64) -> Result<&Company, ApiError> {
        self.companies
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Company not found"))
    }

    /// A connection of the company, or 404 `Connection not found`.
    pub fn connection(&self, company_id: i64, id: i64) -> Result<&Connection, ApiError> {
        let found = self.connections.get(&id).map(|c| (c.company_id, c));
        of_company(found, company_id, "Connection not found")
    }

    /// A chat of the company, or 404 `Chat not found`.
    pub fn chat(&self, company_id: i64, id: i64) -> Result<&Chat, ApiError> {
        let found = self.chats.get(&id).map(|c| (c.company_id, c));
        of_company(found, company_id, "Chat not found")
    }

    /// A contact of the company, or 404 `Contact not found`.
    pub fn contact(&self, company_id: i64, id: i64) -> Result<&Contact, ApiError> {
        let found = self.contacts.get(&id).map(|c| (c.company_id, c));
        of_company(found, company_id, "Contact not found")
    }

    /// The newest message of a chat.
    pub fn last_message(&self, chat_id: i64) -> Option<&Message> {
        self.messages
            .get(&chat_id)
            .and_then(|list| list.iter().max_by_key(|m| (m.created_at, m.seq)))
    }

    /// Whether the WABA 24-hour window of the chat is open at `now`.
    pub fn window_open(chat: &Chat, now: DateTime<Utc>) -> bool {
        chat.last_inbound_at
            .is_some_and(|at| now - at < Duration::hours(24))
    }

    /// When the window closes (or closed): last inbound + 24 h, else the chat's creation.
    pub fn window_expires_at(chat: &Chat) -> DateTime<Utc> {
        chat.last_inbound_at
            .map_or(chat.created_at, |at| at + Duration::hours(24))
    }

    /// Finds an approved-or-not template by name and locale.
    pub fn template(&self, connection_id: i64, name: &str, locale: &str) -> Option<&Template> {
        let conn = self.connections.get(&connection_id)?;
        conn.templates
            .iter()
            .find(|t| t.name == name && t.locale == locale)
    }

    /// Subscriptions of a connection that want `event_type`.
    pub fn subscribers(&self, connection_id: i64, event_type: &str) -> Vec<Subscription> {
        self.subscriptions
            .iter()
            .filter(|s| {
                s.connection_id == connection_id && s.events.iter().any(|e| e == event_type)
            })
            .cloned()
            .collect()
    }

    fn alloc_item_id(&mut self) -> i64 {
        take_next(&mut self.next_item)
    }

    fn alloc_seq(&mut self) -> u64 {
        take_next(&mut self.next_seq)
    }
}

/// The id `counter` holds, which it then moves past.
pub(crate) fn take_next<T: Copy + std::ops::AddAssign + From<u8>>(counter: &mut T) -> T {
    let id = *counter;
    *counter += T::from(1);
    id
}

/// `params_count` of a template body.
pub fn template_params(template: &Template) -> usize {
    params_count(&template.body)
}

fn company_from_seed(seed: &crate::seed::CompanySeed) -> Company {
    Company {
        id: seed.id,
        name: seed.name.clone(),
        owner_id: seed.owner_id,
        timezone: seed.timezone.clone(),
        payment_currency: seed.payment_currency.clone(),
        waba_dialogs: seed.waba_dialogs,
    }
}

fn connection_from_seed(company_id: i64, seed: &crate::seed::ConnectionSeed) -> Connection {
    let templates = seed
        .templates
        .iter()
        .map(|t| Template {
            name: t.name.clone(),
            locale: t.locale.clone(),
            status: t.status.clone(),
            custom_name: t.custom_name.clone(),
            body: t.body.clone(),
            header: t.header.clone(),
            footer: t.footer.clone(),
        })
        .collect();
    Connection {
        id: seed.id,
        company_id,
        kind: seed.kind.clone(),
        name: seed.name.clone(),
        radist_token: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 | seed.id as u128),
        phone: seed.phone.clone(),
        username: seed.username.clone(),
        auto_templates_enabled: seed.auto_templates_enabled,
        status: ("good".to_owned(), "normal".to_owned()),
        templates,
    }
}

/// A record found by id, when it belongs to `company_id` (a record of another company is as
/// unknown as a missing one): else 404 with `missing` as the detail.
fn of_company<T>(found: Option<(i64, T)>, company_id: i64, missing: &str) -> Result<T, ApiError> {
    match found {
        Some((owner, record)) if owner == company_id => Ok(record),
        _ => Err(ApiError::not_found(missing)),
    }
}
