//! Parameters of the list and search operations, with the spec's defaults and ranges.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::{ContactId, ContactSortingOptions};

/// Largest `limit` any Radist list accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// `GET /companies/{id}/connections/` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListConnections {
    /// 1..=100, default 100.
    pub limit: u32,
    pub offset: u32,
    /// Connection type names to keep (e.g. `waba`, `telegram`); empty = all.
    pub types: Vec<String>,
}

/// `GET …/messaging/chats/with_contacts/` parameters (the cursor is handled by the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatsQuery {
    /// Page size 1..=100, default 50.
    pub limit: u32,
    /// Search term (1..128 chars); ignored by the API when `contact_id` is set.
    pub query: Option<String>,
    pub contact_id: Option<ContactId>,
}

/// `GET …/messaging/messages/` parameters (the chat is a separate argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagesQuery {
    /// Page size 1..=100, default 50.
    pub page_size: u32,
    /// Start from messages created before this instant; `None` = the newest.
    pub until: Option<DateTime<Utc>>,
}

/// `GET /companies/{id}/contacts/` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsQuery {
    pub offset: u32,
    /// 1..=100, default 100.
    pub limit: u32,
    pub order_by: ContactSortingOptions,
    /// Search term (1..128); mutually exclusive with `phone`.
    pub query: Option<String>,
    /// Phone search (10..16, e.g. `+18001234567`); mutually exclusive with `query`.
    pub phone: Option<String>,
    /// Tag ids that contacts must carry.
    pub tags: Vec<i64>,
}

/// What [`RadistClient::search_contacts`](super::RadistClient::search_contacts) looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactSearch {
    /// Free-text search (name, etc.).
    Text(String),
    /// Phone number search, e.g. `+18001234567`.
    Phone(String),
}

/// One entry of `GET …/messaging/dialogs/counters/` (`WabaDialogs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogsCounter {
    /// `WABA_DIALOGS` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// Estimated remaining dialogs.
    pub value: i64,
}

impl Default for ListConnections {
    fn default() -> Self {
        Self {
            limit: MAX_PAGE_SIZE,
            offset: 0,
            types: Vec::new(),
        }
    }
}

impl Default for ChatsQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            query: None,
            contact_id: None,
        }
    }
}

impl Default for MessagesQuery {
    fn default() -> Self {
        Self {
            page_size: 50,
            until: None,
        }
    }
}

impl Default for ContactsQuery {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: MAX_PAGE_SIZE,
            order_by: ContactSortingOptions::default(),
            query: None,
            phone: None,
            tags: Vec::new(),
        }
    }
}

/// Clamps a page size into the API's `1..=100`.
pub(crate) fn page_size(requested: u32) -> u32 {
    requested.clamp(1, MAX_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec_and_sizes_are_clamped() {
        assert_eq!(ListConnections::default().limit, 100);
        assert_eq!(ChatsQuery::default().limit, 50);
        assert_eq!(MessagesQuery::default().page_size, 50);
        assert_eq!(ContactsQuery::default().order_by.as_str(), "id:asc");
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(500), 100);
        assert_eq!(page_size(7), 7);
    }
}
