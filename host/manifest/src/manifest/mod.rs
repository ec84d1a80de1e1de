//! The validated plugin manifest: what the plugin is, when it runs, what it may do, its limits,
//! its config values and where its secrets come from. Every value here has passed validation.

mod capability;
mod trigger;
mod words;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use capability::{
    Capabilities, CapabilityKind, ConnectionsGrant, FilesGrant, HttpGrant, KvGrant, MessageType,
    MessagesGrant,
};
pub use trigger::{
    CatchUp, CronSpec, EventKind, EventTrigger, Overlap, ScheduleTrigger, SourceType, TextPattern,
    Trigger,
};

/// A plugin manifest, upgraded to the current schema and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub plugin: PluginSection,
    /// At least one.
    pub triggers: Vec<Trigger>,
    pub capabilities: Capabilities,
    pub limits: Limits,
    /// `[config]`: values the plugin reads with `config.get`, numbers and booleans as written.
    pub config: BTreeMap<String, String>,
    /// `[secrets]`: where each secret comes from. This crate never sees the values.
    pub secrets: BTreeMap<String, SecretSource>,
}

/// `[plugin]`: the plugin's identity and its component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSection {
    pub name: PluginName,
    /// The `.wasm` component as written: relative to the manifest file, resolved by the caller.
    pub wasm: PathBuf,
    pub description: Option<String>,
}

/// A plugin name: 1 to 64 characters of `a-z`, `0-9` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PluginName(String);

/// A Radist connection id (one WhatsApp number, WABA number, Telegram account or bot): positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(i64);

/// `[limits]`: what one run of the plugin may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap, 1..=4096 MiB (default 32).
    pub memory_mib: u32,
    /// Wall-clock time per run, 1..=300000 ms (default 2000).
    pub timeout_ms: u32,
    /// Runs per event including the first, 1..=100 (default 3).
    pub max_attempts: u32,
    /// Log bytes kept per run, 1..=16 MiB (default 64 KiB).
    pub log_bytes: u32,
    /// Host calls per run (every import, WASI included), 1..=1000000 (default 10000); past it
    /// the run traps.
    pub max_host_calls: u32,
}

/// Where a secret value comes from. Only the source is stored, never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSource {
    /// The environment variable of this name, read by the binary.
    Env(String),
}

impl PluginName {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// `name` as a plugin name, if it is 1 to 64 characters of `a-z`, `0-9` and `-`.
    pub fn new(name: &str) -> Option<Self> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let valid = !name.is_empty() && name.len() <= Self::MAX_LEN && name.chars().all(valid_char);
        valid.then(|| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConnectionId {
    /// `id` as a connection id, if it is positive.
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 32,
            timeout_ms: 2000,
            max_attempts: 3,
            log_bytes: 64 * 1024,
            max_host_calls: 10_000,
        }
    }
}

impl SecretSource {
    /// The environment variable holding the secret.
    pub fn env_var(&self) -> &str {
        match self {
            Self::Env(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_lowercase_words() {
        assert_eq!(
            PluginName::new("auto-reply").map(|n| n.to_string()),
            Some("auto-reply".into())
        );
        assert!(PluginName::new("crm2").is_some());
        assert!(PluginName::new("").is_none());
        assert!(PluginName::new("Auto_Reply").is_none());
        assert!(PluginName::new(&"a".repeat(65)).is_none());
        assert!(PluginName::new(&"a".repeat(64)).is_some());
    }

    #[test]
    fn connection_ids_are_positive() {
        assert_eq!(ConnectionId::new(70001).map(ConnectionId::get), Some(70001));
        assert!(ConnectionId::new(0).is_none());
        assert!(ConnectionId::new(-5).is_none());
    }
}
