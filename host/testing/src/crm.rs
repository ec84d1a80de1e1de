//! CRM state for plugin tests: [`CrmSetup`] seeds the sandbox (tags, quick replies, notes, a
//! contact's tag set, the key's permissions) and [`TestSandbox`]'s CRM reads show what a
//! plugin left in Radist (a contact's tags and notes, a chat's unanswered count), so a test
//! asserts the resulting state rather than the calls.

use radist_connector::models::{Chat, ChatId, CompanyId, ConnectionId};
use radist_connector::{ClientConfig, RadistClient, RetryPolicy};
use radist_sandbox::control::{ContactTagsSeed, ContactView, CrmSeed, CrmSnapshot, NoteSeed};
use radist_sandbox::{QuickReplySeed, TagSeed};

use crate::{HarnessError, TestSandbox};

/// What to add to the sandbox's CRM state, built call by call.
#[derive(Debug, Clone, Default)]
pub struct CrmSetup {
    seed: CrmSeed,
}

impl CrmSetup {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A company tag (1 to 15 characters, unique).
    pub fn tag(mut self, name: &str) -> Self {
        self.seed.tags.push(TagSeed {
            name: name.to_owned(),
            description: String::new(),
            background_color: "#eeeeee".to_owned(),
        });
        self
    }

    /// A text quick reply.
    pub fn quick_reply(mut self, name: &str, text: &str) -> Self {
        self.seed.quick_replies.push(QuickReplySeed {
            name: name.to_owned(),
            text: text.to_owned(),
        });
        self
    }

    /// A note on a contact.
    pub fn note(mut self, contact_id: i64, text: &str) -> Self {
        self.seed.notes.push(NoteSeed {
            contact_id,
            text: text.to_owned(),
        });
        self
    }

    /// Replaces a contact's tag set (tags by name; they must exist or be added above).
    pub fn contact_tags(mut self, contact_id: i64, names: &[&str]) -> Self {
        self.seed.contact_tags.push(ContactTagsSeed {
            contact_id,
            tags: names.iter().map(|n| (*n).to_owned()).collect(),
        });
        self
    }

    /// Replaces the API key's permissions (`GET /users/me`).
    pub fn permissions(mut self, permissions: &[&str]) -> Self {
        self.seed.permissions = Some(permissions.iter().map(|p| (*p).to_owned()).collect());
        self
    }
}

impl TestSandbox {
    /// Adds `setup` to the sandbox's CRM state.
    pub async fn seed_crm(&self, setup: &CrmSetup) -> Result<CrmSnapshot, HarnessError> {
        let control = self.handle().control();
        control.seed_crm(&setup.seed).await.map_err(sandbox)
    }

    /// Every tag, quick reply and contact (with its tags and notes) as the sandbox holds them.
    pub async fn crm(&self) -> Result<CrmSnapshot, HarnessError> {
        self.handle().control().crm().await.map_err(sandbox)
    }

    /// One contact's name, phones, tag names and note texts.
    pub async fn contact(&self, contact_id: i64) -> Result<ContactView, HarnessError> {
        let snapshot = self.crm().await?;
        let found = snapshot.contacts.into_iter().find(|c| c.id == contact_id);
        found.ok_or_else(|| HarnessError::Sandbox(format!("no contact {contact_id}")))
    }

    /// The chat as Radist answers it (name, unanswered count, last message).
    pub async fn chat(&self, connection_id: i64, chat_id: i64) -> Result<Chat, HarnessError> {
        let client = self.radist()?;
        let chat = client.get_chat(ConnectionId(connection_id), ChatId(chat_id));
        chat.await.map_err(|e| HarnessError::Sandbox(e.to_string()))
    }

    /// The contacts with `phone` as Radist's search answers them.
    pub async fn contacts_with_phone(&self, phone: &str) -> Result<Vec<i64>, HarnessError> {
        let search = radist_connector::client::ContactSearch::Phone(phone.to_owned());
        let found = self.radist()?.search_contacts(search).await;
        let found = found.map_err(|e| HarnessError::Sandbox(e.to_string()))?;
        Ok(found.items.iter().map(|c| c.id.0).collect())
    }

    /// A client of the sandbox's API, as the tested plugin's host uses it (no retries).
    pub fn radist(&self) -> Result<RadistClient, HarnessError> {
        let handle = self.handle();
        let url = handle
            .base_url()
            .parse()
            .map_err(|e| HarnessError::Sandbox(format!("sandbox url: {e}")))?;
        let company = CompanyId(handle.company_id());
        let config = ClientConfig::new(handle.api_key().to_owned(), company)
            .with_base_url(url)
            .with_retry(RetryPolicy::none());
        RadistClient::new(config).map_err(|e| HarnessError::Sandbox(e.to_string()))
    }
}

fn sandbox(e: radist_sandbox::SandboxError) -> HarnessError {
    HarnessError::Sandbox(e.to_string())
}
