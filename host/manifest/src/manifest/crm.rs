//! The CRM grants (`contacts`, `tags`, `notes`, `history`, `inbox`, `quick_replies`): each read
//! and write granted separately and scoped to connections, like `messages`.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use super::ConnectionId;

/// Whether a CRM grant allows reading, writing or both (never neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// `capabilities.contacts`: find, create and update contacts reachable through `connections`
/// (or the event's own contact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactsGrant {
    pub access: Access,
    /// Never empty.
    pub connections: BTreeSet<ConnectionId>,
}

/// `capabilities.tags`: list company tags; add or remove tags on reachable contacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagsGrant {
    pub access: Access,
    /// Never empty.
    pub connections: BTreeSet<ConnectionId>,
    /// Tag names the plugin may add or remove (1..=15 characters each); required to write.
    pub allow: BTreeSet<String>,
    /// Whether adding a tag the company lacks creates it (else the call answers `not-found`).
    pub create_missing: bool,
}

/// `capabilities.notes`: list and add notes on reachable contacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotesGrant {
    pub access: Access,
    /// Never empty.
    pub connections: BTreeSet<ConnectionId>,
    /// Longest note, 1..=8192 characters (default 2000).
    pub max_chars: u32,
    /// Notes added per minute; `None` for no limit.
    pub per_minute: Option<NonZeroU32>,
}

/// `capabilities.history`: a chat's messages (newest first, paged backwards) and its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryGrant {
    /// Never empty.
    pub connections: BTreeSet<ConnectionId>,
    /// Most messages one run may read in total, 1..=1000 (default 100).
    pub max_messages: u32,
}

impl NotesGrant {
    /// `max_chars` when the manifest gives none.
    pub const DEFAULT_MAX_CHARS: u32 = 2000;
}

impl HistoryGrant {
    /// `max_messages` when the manifest gives none.
    pub const DEFAULT_MAX_MESSAGES: u32 = 100;
}

impl TagsGrant {
    /// Whether the plugin may add or remove the tag `name` (exact, case-sensitive).
    pub fn may_assign(&self, name: &str) -> bool {
        self.access.write && self.allow.contains(name)
    }
}
