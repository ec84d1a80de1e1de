//! Capabilities: the host interfaces a plugin may import and the scope of each grant.
//!
//! One WIT interface per capability. The runtime compares a component's imports with
//! [`Capabilities::granted_interfaces`] at load time, and names [`CapabilityKind::manifest_key`]
//! and [`CapabilityKind::grant_example`] in its error.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use super::ConnectionId;
use super::crm::{ContactsGrant, HistoryGrant, NotesGrant, TagsGrant};
use crate::named::named_enum;
use crate::origin::Origin;

/// `[capabilities]`: what the plugin may do beyond the always-granted `log`, `config`, `clock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub messages: Option<MessagesGrant>,
    pub chats: Option<ConnectionsGrant>,
    pub files: Option<FilesGrant>,
    pub availability: Option<ConnectionsGrant>,
    pub templates: Option<ConnectionsGrant>,
    pub kv: Option<KvGrant>,
    pub http: Option<HttpGrant>,
    pub contacts: Option<ContactsGrant>,
    pub tags: Option<TagsGrant>,
    pub notes: Option<NotesGrant>,
    pub history: Option<HistoryGrant>,
    /// Marking chats answered; write only.
    pub inbox: Option<ConnectionsGrant>,
    /// Listing the company's quick replies; read only, company-wide.
    pub quick_replies: bool,
}

/// `capabilities.messages`: sending messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagesGrant {
    /// Connections the plugin may send on; never empty.
    pub connections: BTreeSet<ConnectionId>,
    /// Message types it may send (every type when the manifest lists none); never empty.
    pub types: BTreeSet<MessageType>,
    /// Sends per minute; `None` for no limit.
    pub per_minute: Option<NonZeroU32>,
}

/// A grant scoped to connections (`chats`, `availability`, `templates`, `inbox`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionsGrant {
    /// Never empty.
    pub connections: BTreeSet<ConnectionId>,
}

/// `capabilities.files`: uploading files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesGrant {
    /// Largest upload, 1..=100 MiB (default 100 MiB, Radist's own limit).
    pub max_bytes: u64,
}

/// `capabilities.kv`: the plugin's own durable key-value store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvGrant {
    /// Largest value, 1..=1 MiB (default 64 KiB).
    pub max_value_bytes: u32,
    /// Most keys, 1..=1000000 (default 10000).
    pub max_keys: u32,
}

/// `capabilities.http`: outgoing HTTP requests to listed origins only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGrant {
    /// Never empty.
    pub allow: BTreeSet<Origin>,
    /// Largest request or response body, 1..=100 MiB (default 1 MiB).
    pub max_body_bytes: u64,
    /// Per request, 1..=300000 ms (default 5000).
    pub timeout_ms: u32,
}

named_enum! {
    /// A message type a plugin may send, as Radist names it.
    #[non_exhaustive]
    pub enum MessageType as "message type" {
        Text = "text",
        File = "file",
        Image = "image",
        Audio = "audio",
        Video = "video",
        Voice = "voice",
        WabaTemplate = "waba_template",
        WabaInteractive = "waba_interactive",
        Markup = "markup",
    }
}

named_enum! {
    /// A host interface; each is one WIT interface of `switchboard:plugin` (0.2.0, or 0.2.1 for
    /// the CRM ones).
    #[non_exhaustive]
    pub enum CapabilityKind as "capability" {
        Log = "log",
        Config = "config",
        Clock = "clock",
        Chats = "chats",
        Messages = "messages",
        Files = "files",
        Availability = "availability",
        Templates = "templates",
        Kv = "kv",
        Http = "http",
        Contacts = "contacts",
        Tags = "tags",
        Notes = "notes",
        History = "history",
        Inbox = "inbox",
        QuickReplies = "quick-replies",
    }
}

impl Capabilities {
    /// Whether the manifest grants `kind` (always true for `log`, `config` and `clock`).
    pub fn grants(&self, kind: CapabilityKind) -> bool {
        match kind {
            CapabilityKind::Log | CapabilityKind::Config | CapabilityKind::Clock => true,
            CapabilityKind::Chats => self.chats.is_some(),
            CapabilityKind::Messages => self.messages.is_some(),
            CapabilityKind::Files => self.files.is_some(),
            CapabilityKind::Availability => self.availability.is_some(),
            CapabilityKind::Templates => self.templates.is_some(),
            CapabilityKind::Kv => self.kv.is_some(),
            CapabilityKind::Http => self.http.is_some(),
            CapabilityKind::Contacts => self.contacts.is_some(),
            CapabilityKind::Tags => self.tags.is_some(),
            CapabilityKind::Notes => self.notes.is_some(),
            CapabilityKind::History => self.history.is_some(),
            CapabilityKind::Inbox => self.inbox.is_some(),
            CapabilityKind::QuickReplies => self.quick_replies,
        }
    }

    /// Every granted interface, the always-granted ones included, in declaration order.
    pub fn granted_interfaces(&self) -> Vec<CapabilityKind> {
        CapabilityKind::ALL
            .iter()
            .copied()
            .filter(|&kind| self.grants(kind))
            .collect()
    }
}

impl CapabilityKind {
    /// `log`, `config` and `clock` need no grant.
    pub fn is_always_granted(self) -> bool {
        matches!(self, Self::Log | Self::Config | Self::Clock)
    }

    /// The manifest key that grants this, e.g. `capabilities.http`; `None` if always granted.
    pub fn manifest_key(self) -> Option<&'static str> {
        Some(match self {
            Self::Log | Self::Config | Self::Clock => return None,
            Self::Chats => "capabilities.chats",
            Self::Messages => "capabilities.messages",
            Self::Files => "capabilities.files",
            Self::Availability => "capabilities.availability",
            Self::Templates => "capabilities.templates",
            Self::Kv => "capabilities.kv",
            Self::Http => "capabilities.http",
            Self::Contacts => "capabilities.contacts",
            Self::Tags => "capabilities.tags",
            Self::Notes => "capabilities.notes",
            Self::History => "capabilities.history",
            Self::Inbox => "capabilities.inbox",
            Self::QuickReplies => "capabilities.quick_replies",
        })
    }

    /// A line to put under `[capabilities]` to grant this; `None` if always granted.
    pub fn grant_example(self) -> Option<&'static str> {
        Some(match self {
            Self::Log | Self::Config | Self::Clock => return None,
            Self::Chats => "chats = { connections = [70001] }",
            Self::Messages => "messages = { connections = [70001], types = [\"text\"] }",
            Self::Files => "files = { max_bytes = 10485760 }",
            Self::Availability => "availability = { connections = [70001] }",
            Self::Templates => "templates = { connections = [70001] }",
            Self::Kv => "kv = true",
            Self::Http => "http = { allow = [\"https://api.example.com\"] }",
            Self::Contacts => "contacts = { read = true, write = true, connections = [70001] }",
            Self::Tags => "tags = { write = true, connections = [70001], allow = [\"lead\"] }",
            Self::Notes => "notes = { write = true, connections = [70001], per_minute = 10 }",
            Self::History => "history = { connections = [70001], max_messages = 100 }",
            Self::Inbox => "inbox = { connections = [70001] }",
            Self::QuickReplies => "quick_replies = true",
        })
    }

    /// The WIT interface a component imports, e.g. `switchboard:plugin/http@0.2.0`: the version
    /// that introduced it (hosts of `0.2.1` accept both versions of the older interfaces).
    pub fn wit_interface(self) -> &'static str {
        match self {
            Self::Log => "switchboard:plugin/log@0.2.0",
            Self::Config => "switchboard:plugin/config@0.2.0",
            Self::Clock => "switchboard:plugin/clock@0.2.0",
            Self::Chats => "switchboard:plugin/chats@0.2.0",
            Self::Messages => "switchboard:plugin/messages@0.2.0",
            Self::Files => "switchboard:plugin/files@0.2.0",
            Self::Availability => "switchboard:plugin/availability@0.2.0",
            Self::Templates => "switchboard:plugin/templates@0.2.0",
            Self::Kv => "switchboard:plugin/kv@0.2.0",
            Self::Http => "switchboard:plugin/http@0.2.0",
            Self::Contacts => "switchboard:plugin/contacts@0.2.1",
            Self::Tags => "switchboard:plugin/tags@0.2.1",
            Self::Notes => "switchboard:plugin/notes@0.2.1",
            Self::History => "switchboard:plugin/history@0.2.1",
            Self::Inbox => "switchboard:plugin/inbox@0.2.1",
            Self::QuickReplies => "switchboard:plugin/quick-replies@0.2.1",
        }
    }

    /// The capability behind an imported interface name, at any version this host provides
    /// (`0.2.0` and `0.2.1`, the interface's own or later); `None` for anything else (including
    /// `switchboard:plugin/types`, which holds only types, and WASI interfaces).
    pub fn from_wit_interface(interface: &str) -> Option<Self> {
        let (name, version) = interface.split_once('@')?;
        Self::ALL.iter().copied().find(|kind| {
            let (own_name, own_version) = kind.wit_interface().split_once('@').unwrap_or_default();
            own_name == name && HOST_WIT_VERSIONS.contains(&version) && own_version <= version
        })
    }
}

/// The versions of `switchboard:plugin` this host provides, oldest first.
pub const HOST_WIT_VERSIONS: [&str; 2] = ["0.2.0", "0.2.1"];

impl Default for FilesGrant {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
        }
    }
}

impl Default for KvGrant {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 * 1024,
            max_keys: 10_000,
        }
    }
}

impl HttpGrant {
    /// `max_body_bytes` when the manifest gives none.
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
    /// `timeout_ms` when the manifest gives none.
    pub const DEFAULT_TIMEOUT_MS: u32 = 5000;

    /// Whether `url` is on one of the allowed origins.
    pub fn allows(&self, url: &str) -> bool {
        self.allow.iter().any(|origin| origin.matches(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_map_both_ways() {
        for &kind in CapabilityKind::ALL {
            assert_eq!(
                CapabilityKind::from_wit_interface(kind.wit_interface()),
                Some(kind)
            );
            let expected = format!("switchboard:plugin/{kind}@0.2.1");
            assert_eq!(
                CapabilityKind::from_wit_interface(&expected),
                Some(kind),
                "every interface is provided at 0.2.1"
            );
            assert_eq!(kind.manifest_key().is_none(), kind.is_always_granted());
            assert_eq!(kind.grant_example().is_none(), kind.is_always_granted());
        }
        assert_eq!(
            CapabilityKind::from_wit_interface("switchboard:plugin/types@0.2.0"),
            None
        );
        assert_eq!(
            CapabilityKind::from_wit_interface("wasi:http/outgoing-handler@0.2.0"),
            None
        );
        assert_eq!(
            CapabilityKind::from_wit_interface("switchboard:plugin/tags@0.2.0"),
            None,
            "tags arrived in 0.2.1"
        );
        assert_eq!(
            CapabilityKind::from_wit_interface("switchboard:plugin/kv@0.3.0"),
            None
        );
    }

    #[test]
    fn nothing_beyond_the_basics_is_granted_by_default() {
        let granted = Capabilities::default().granted_interfaces();
        let expected = [
            CapabilityKind::Log,
            CapabilityKind::Config,
            CapabilityKind::Clock,
        ];
        assert_eq!(granted, expected);
        assert_eq!(
            CapabilityKind::Http.manifest_key(),
            Some("capabilities.http")
        );
    }
}
