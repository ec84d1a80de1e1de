//! Manifest schema version 1, as written (`manifest_version = 1`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use toml::Spanned;

use super::{List, SecretV1};

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestV1 {
    /// Read and checked before decoding; listed so that it is a known key.
    #[serde(rename = "manifest_version", default)]
    _version: IgnoredAny,
    pub plugin: Option<Spanned<PluginV1>>,
    pub trigger: Option<List<TriggerV1>>,
    pub capabilities: Option<Spanned<CapabilitiesV1>>,
    pub limits: Option<Spanned<LimitsV1>>,
    pub config: Option<BTreeMap<String, Spanned<toml::Value>>>,
    pub secrets: Option<BTreeMap<String, Spanned<SecretV1>>>,
}

/// `[plugin]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginV1 {
    pub name: Option<Spanned<String>>,
    pub wasm: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
}

/// One `[[trigger]]`: event keys and cron keys side by side; validation keeps them apart.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriggerV1 {
    pub on: Option<List<String>>,
    pub connections: Option<List<i64>>,
    pub source_types: Option<List<String>>,
    pub text_matches: Option<Spanned<String>>,
    pub include_own_echoes: Option<Spanned<bool>>,
    pub cron: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    pub overlap: Option<Spanned<String>>,
    pub catch_up: Option<Spanned<String>>,
    pub catch_up_window_s: Option<Spanned<i64>>,
    pub start: Option<Spanned<String>>,
    pub end: Option<Spanned<String>>,
    pub jitter_s: Option<Spanned<i64>>,
}

/// `[capabilities]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapabilitiesV1 {
    pub messages: Option<Spanned<MessagesV1>>,
    pub chats: Option<Spanned<ConnectionsV1>>,
    pub files: Option<Spanned<FilesV1>>,
    pub availability: Option<Spanned<ConnectionsV1>>,
    pub templates: Option<Spanned<ConnectionsV1>>,
    pub kv: Option<Spanned<KvV1>>,
    pub http: Option<Spanned<HttpV1>>,
    pub contacts: Option<Spanned<ContactsV1>>,
    pub tags: Option<Spanned<TagsV1>>,
    pub notes: Option<Spanned<NotesV1>>,
    pub history: Option<Spanned<HistoryV1>>,
    pub inbox: Option<Spanned<ConnectionsV1>>,
    pub quick_replies: Option<Spanned<bool>>,
    /// Always granted; accepted here only to say so.
    pub log: Option<Spanned<IgnoredAny>>,
    pub config: Option<Spanned<IgnoredAny>>,
    pub clock: Option<Spanned<IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessagesV1 {
    pub connections: Option<List<i64>>,
    pub types: Option<List<String>>,
    pub per_minute: Option<Spanned<i64>>,
}

/// `chats`, `availability` and `templates`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionsV1 {
    pub connections: Option<List<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilesV1 {
    pub max_bytes: Option<Spanned<i64>>,
}

/// `kv = true`, `kv = false` or `kv = { max_value_bytes = …, max_keys = … }`.
pub(crate) enum KvV1 {
    Flag(bool),
    Limits(KvLimitsV1),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KvLimitsV1 {
    pub max_value_bytes: Option<Spanned<i64>>,
    pub max_keys: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpV1 {
    pub allow: Option<List<String>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    pub timeout_ms: Option<Spanned<i64>>,
}

/// `contacts = { read, write, connections }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactsV1 {
    pub read: Option<Spanned<bool>>,
    pub write: Option<Spanned<bool>>,
    pub connections: Option<List<i64>>,
}

/// `tags = { read, write, connections, allow, create_missing }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagsV1 {
    pub read: Option<Spanned<bool>>,
    pub write: Option<Spanned<bool>>,
    pub connections: Option<List<i64>>,
    pub allow: Option<List<String>>,
    pub create_missing: Option<Spanned<bool>>,
}

/// `notes = { read, write, connections, max_chars, per_minute }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotesV1 {
    pub read: Option<Spanned<bool>>,
    pub write: Option<Spanned<bool>>,
    pub connections: Option<List<i64>>,
    pub max_chars: Option<Spanned<i64>>,
    pub per_minute: Option<Spanned<i64>>,
}

/// `history = { connections, max_messages }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryV1 {
    pub connections: Option<List<i64>>,
    pub max_messages: Option<Spanned<i64>>,
}

/// `[limits]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsV1 {
    pub memory_mib: Option<Spanned<i64>>,
    pub timeout_ms: Option<Spanned<i64>>,
    pub max_attempts: Option<Spanned<i64>>,
    pub log_bytes: Option<Spanned<i64>>,
    pub max_host_calls: Option<Spanned<i64>>,
}

impl<'de> Deserialize<'de> for KvV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KvVisitor)
    }
}

struct KvVisitor;

impl<'de> Visitor<'de> for KvVisitor {
    type Value = KvV1;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`true`, `false` or a table like `{ max_keys = 10000 }`")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<KvV1, E> {
        Ok(KvV1::Flag(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KvV1, A::Error> {
        KvLimitsV1::deserialize(de::value::MapAccessDeserializer::new(map)).map(KvV1::Limits)
    }
}
