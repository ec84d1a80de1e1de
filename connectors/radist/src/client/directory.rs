//! Directory operations: companies, connections, contacts and webhook subscriptions.

use reqwest::Method;

use super::RadistClient;
use super::query::{ContactSearch, ContactsQuery, ListConnections, page_size};
use super::request::Call;
use crate::error::RadistError;
use crate::models::{
    CompaniesOut, Connection, ConnectionId, ConnectionsOut, ContactCreateRequest, ContactId,
    ContactOut, ContactsOut, WebhookConfigConnectionMessaging, WebhookConfigConnectionMessagingOut,
    WebhookId,
};

impl RadistClient {
    /// `GET /companies/`: companies the key can act for (`limit` clamped to 1..=100).
    pub async fn list_companies(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<CompaniesOut, RadistError> {
        let call = Call::new("list_companies", Method::GET, "companies/".into())
            .query("limit", page_size(limit))
            .query("offset", offset);
        self.fetch(call).await
    }

    /// `GET …/connections/` (`limit` clamped to 1..=100).
    pub async fn list_connections(
        &self,
        params: ListConnections,
    ) -> Result<ConnectionsOut, RadistError> {
        let mut call = self
            .company_call("list_connections", Method::GET, "connections/")
            .query("limit", page_size(params.limit))
            .query("offset", params.offset);
        for kind in params.types {
            call = call.query("types", kind);
        }
        self.fetch(call).await
    }

    /// `GET …/connections/{connection_id}`.
    pub async fn get_connection(&self, id: ConnectionId) -> Result<Connection, RadistError> {
        let call = self
            .company_call("get_connection", Method::GET, &format!("connections/{id}"))
            .what(format!("connection {id}"));
        self.fetch(call).await
    }

    /// `GET …/contacts/` with paging, ordering, search and tag filters.
    pub async fn list_contacts(&self, params: ContactsQuery) -> Result<ContactsOut, RadistError> {
        let mut call = self
            .company_call("list_contacts", Method::GET, "contacts/")
            .query("offset", params.offset)
            .query("limit", page_size(params.limit))
            .query("order_by", params.order_by.as_str())
            .query_opt("query", params.query.filter(|q| !q.is_empty()))
            .query_opt("phone", params.phone.filter(|p| !p.is_empty()));
        for tag in params.tags {
            call = call.query("tags", tag);
        }
        self.fetch(call).await
    }

    /// The first page (up to 100) of contacts matching a text or phone search.
    pub async fn search_contacts(&self, search: ContactSearch) -> Result<ContactsOut, RadistError> {
        let params = match search {
            ContactSearch::Text(text) => ContactsQuery {
                query: Some(text),
                ..ContactsQuery::default()
            },
            ContactSearch::Phone(phone) => ContactsQuery {
                phone: Some(phone),
                ..ContactsQuery::default()
            },
        };
        self.list_contacts(params).await
    }

    /// `GET …/contacts/{contact_id}`.
    pub async fn get_contact(&self, id: ContactId) -> Result<ContactOut, RadistError> {
        self.fetch(self.contact_call("get_contact", Method::GET, id, ""))
            .await
    }

    /// `POST …/contacts/`.
    pub async fn create_contact(
        &self,
        request: &ContactCreateRequest,
    ) -> Result<ContactOut, RadistError> {
        let call = self
            .company_call("create_contact", Method::POST, "contacts/")
            .not_idempotent()
            .json(request)?;
        self.fetch(call).await
    }

    /// `GET …/webhooks/`: every subscription of the company.
    pub async fn list_webhooks(
        &self,
    ) -> Result<Vec<WebhookConfigConnectionMessagingOut>, RadistError> {
        self.fetch(self.company_call("list_webhooks", Method::GET, "webhooks/"))
            .await
    }

    /// `POST …/webhooks/`: subscribes `url` to events of one connection (applies within
    /// about 5 minutes on the real API).
    pub async fn create_webhook(
        &self,
        config: &WebhookConfigConnectionMessaging,
    ) -> Result<WebhookConfigConnectionMessagingOut, RadistError> {
        let what = format!("connection {}", config.connection_id);
        let call = self
            .company_call("create_webhook", Method::POST, "webhooks/")
            .what(what)
            .not_idempotent();
        self.fetch(call.json(config)?).await
    }

    /// `DELETE …/webhooks/{webhook_id}` (204).
    pub async fn delete_webhook(&self, id: WebhookId) -> Result<(), RadistError> {
        let call = self
            .company_call("delete_webhook", Method::DELETE, &format!("webhooks/{id}"))
            .what(format!("webhook {id}"));
        self.fetch_empty(call).await
    }
}
