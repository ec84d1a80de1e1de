//! Host config schema version 1, as written (`config_version = 1`). Every key is optional.

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use crate::schema::SecretV1;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostConfigV1 {
    /// Read and checked before decoding; listed so that it is a known key.
    #[serde(rename = "config_version", default)]
    _version: IgnoredAny,
    pub server: Option<Spanned<ServerV1>>,
    pub radist: Option<Spanned<RadistV1>>,
    pub plugins: Option<Spanned<PluginsV1>>,
    pub runtime: Option<Spanned<RuntimeV1>>,
    pub store: Option<Spanned<StoreV1>>,
    pub webhook: Option<Spanned<WebhookV1>>,
    pub retention: Option<Spanned<RetentionV1>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerV1 {
    pub listen: Option<Spanned<String>>,
    pub admin_listen: Option<Spanned<String>>,
    pub admin_token: Option<Spanned<SecretV1>>,
    pub node_id: Option<Spanned<String>>,
    pub lease_s: Option<Spanned<i64>>,
    pub max_connections: Option<Spanned<i64>>,
    pub header_timeout_ms: Option<Spanned<i64>>,
    pub request_timeout_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RadistV1 {
    pub mode: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    pub api_key: Option<Spanned<SecretV1>>,
    pub company_id: Option<Spanned<i64>>,
    pub timeout_ms: Option<Spanned<i64>>,
    pub max_retries: Option<Spanned<i64>>,
    pub sandbox_listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginsV1 {
    pub manifests: Option<Spanned<String>>,
    pub optional: Option<Spanned<Vec<Spanned<String>>>>,
    pub build: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuntimeV1 {
    pub pooling: Option<Spanned<bool>>,
    pub cache_dir: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
    pub epoch_tick_ms: Option<Spanned<i64>>,
    pub max_concurrent_runs: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreV1 {
    pub path: Option<Spanned<String>>,
    pub url: Option<Spanned<SecretV1>>,
    pub durability: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookV1 {
    pub token: Option<Spanned<SecretV1>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    pub own_echo_window_s: Option<Spanned<i64>>,
    pub max_queued_runs: Option<Spanned<i64>>,
    pub max_queue_age_s: Option<Spanned<i64>>,
    pub backlog_retry_after_s: Option<Spanned<i64>>,
    pub handoff_max_events: Option<Spanned<i64>>,
    pub handoff_max_mib: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionV1 {
    pub succeeded_days: Option<Spanned<i64>>,
    pub failed_days: Option<Spanned<i64>>,
    pub max_db_mib: Option<Spanned<i64>>,
    pub interval_s: Option<Spanned<i64>>,
}
