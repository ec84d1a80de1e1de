//! Validation of the host config: addresses, the Radist mode and the keys it needs, paths and
//! sizes. Absent sections and keys take their defaults.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use toml::Spanned;

use super::schema::{
    HostConfigV1, PluginsV1, RadistV1, RetentionV1, RuntimeV1, ServerV1, StoreV1, WebhookV1,
};
use super::{
    HostConfig, ModeName, PluginsConfig, RadistConfig, RadistMode, RetentionConfig, RuntimeConfig,
    ServerConfig, StoreConfig, StoreDurability, WebhookConfig, admin_exposure, loopback,
};
use crate::PluginName;
use crate::problem::Report;
use crate::validate::fields::{MIB, int_field, int_opt, name_or, parsed_or, secret};

/// Radist ids are 32-bit.
const MAX_ID: i64 = i32::MAX as i64;

/// The host config, if every required part is there; problems go to `report` either way.
pub(crate) fn host_config(report: &mut Report<'_>, raw: &HostConfigV1) -> Option<HostConfig> {
    let server = or_default(&raw.server, |s| server(report, s));
    let radist = raw
        .radist
        .as_ref()
        .map_or(Some(RadistConfig::default()), |r| radist(report, r));
    let plugins = or_default(&raw.plugins, |p| plugins(report, p.get_ref()));
    let runtime = or_default(&raw.runtime, |r| runtime(report, r.get_ref()));
    let store = or_default(&raw.store, |s| store(report, s.get_ref()));
    let webhook = or_default(&raw.webhook, |w| webhook(report, w.get_ref()));
    let retention = or_default(&raw.retention, |r| retention(report, r.get_ref()));
    Some(HostConfig {
        server,
        radist: radist?,
        plugins,
        runtime,
        store,
        webhook,
        retention,
    })
}

fn or_default<R, T: Default>(
    raw: &Option<Spanned<R>>,
    validate: impl FnOnce(&Spanned<R>) -> T,
) -> T {
    raw.as_ref().map_or_else(T::default, validate)
}

fn server(report: &mut Report<'_>, raw: &Spanned<ServerV1>) -> ServerConfig {
    let fields = raw.get_ref();
    let listen = parsed_or(
        report,
        "server.listen",
        &fields.listen,
        ServerConfig::default().listen,
        parse_address,
    );
    let admin_listen = fields
        .admin_listen
        .as_ref()
        .and_then(|raw| address(report, "server.admin_listen", raw));
    let admin_token = fields.admin_token.as_ref();
    let admin_token = admin_token.and_then(|token| secret(report, "server.admin_token", token));
    if fields.admin_token.is_none()
        && let Some(message) = admin_exposure(listen, admin_listen, false)
    {
        let chosen = fields.admin_listen.as_ref().or(fields.listen.as_ref());
        let at = chosen.map_or(raw.span(), Spanned::span);
        report.missing(at, "server.admin_token", message);
    }
    let node_id = fields.node_id.as_ref().and_then(|raw| {
        let id = raw.get_ref();
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            let message =
                format!("`{id}` is not a node id; use 1 to 64 of a-z, A-Z, 0-9, `-`, `_`, `.`");
            report.error(raw.span(), "server.node_id", message);
        }
        valid.then(|| id.clone())
    });
    let d = ServerConfig::default();
    let lease_s = int_field!(report, "server", fields, d, lease_s, 2..=300);
    ServerConfig {
        listen,
        admin_listen,
        admin_token,
        node_id,
        lease_s,
        max_connections: int_field!(report, "server", fields, d, max_connections, 16..=1_000_000),
        header_timeout_ms: int_field!(
            report,
            "server",
            fields,
            d,
            header_timeout_ms,
            100..=300_000
        ),
        request_timeout_ms: int_field!(
            report,
            "server",
            fields,
            d,
            request_timeout_ms,
            100..=600_000
        ),
    }
}

fn radist(report: &mut Report<'_>, raw: &Spanned<RadistV1>) -> Option<RadistConfig> {
    let fields = raw.get_ref();
    let d = RadistConfig::default();
    let mode_name = name_or(report, "radist.mode", &fields.mode, ModeName::Sandbox);
    let mode = match mode_name {
        ModeName::Sandbox => sandbox(report, fields),
        ModeName::Remote => remote(report, raw),
    };
    let company_id = int_opt(report, "radist.company_id", &fields.company_id, 1..=MAX_ID);
    if fields.company_id.is_none() && mode_name == ModeName::Remote {
        let message = "required key is missing in remote mode; add your Radist company id, e.g. `company_id = 12345`";
        report.missing(raw.span(), "radist.company_id", message);
    }
    let timeout_ms = int_field!(report, "radist", fields, d, timeout_ms, 1..=300_000);
    let max_retries = int_field!(report, "radist", fields, d, max_retries, 0..=20);
    let company_id = company_id.unwrap_or(d.company_id);
    Some(RadistConfig {
        mode: mode?,
        company_id,
        timeout_ms,
        max_retries,
    })
}

/// Sandbox mode. `base_url` and `api_key` are unused here but still checked, so that switching
/// to remote mode holds no surprise.
fn sandbox(report: &mut Report<'_>, fields: &RadistV1) -> Option<RadistMode> {
    if let Some(url) = &fields.base_url {
        base_url(report, url);
    }
    if let Some(key) = &fields.api_key {
        secret(report, "radist.api_key", key);
    }
    let listen = parsed_or(
        report,
        "radist.sandbox_listen",
        &fields.sandbox_listen,
        loopback(0),
        parse_address,
    );
    Some(RadistMode::Sandbox { listen })
}

fn remote(report: &mut Report<'_>, raw: &Spanned<RadistV1>) -> Option<RadistMode> {
    let fields = raw.get_ref();
    let base_url = match &fields.base_url {
        Some(url) => base_url(report, url),
        None => Some(RadistMode::DEFAULT_BASE_URL.to_owned()),
    };
    let api_key = match &fields.api_key {
        Some(key) => secret(report, "radist.api_key", key),
        None => {
            let message = "required key is missing in remote mode; add `api_key = { env = \"RADIST_API_KEY\" }`";
            report.missing(raw.span(), "radist.api_key", message);
            None
        }
    };
    Some(RadistMode::Remote {
        base_url: base_url?,
        api_key: api_key?,
    })
}

fn base_url(report: &mut Report<'_>, raw: &Spanned<String>) -> Option<String> {
    let text = raw.get_ref();
    let problem = match url::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => "is not an http or https URL",
        Ok(url) if url.query().is_some() || url.fragment().is_some() => "has a query or fragment",
        Ok(_) => return Some(text.trim_end_matches('/').to_owned()),
        Err(_) => "is not a valid URL",
    };
    let message = format!(
        "`{text}` {problem}; write the API root, e.g. `{}`",
        RadistMode::DEFAULT_BASE_URL
    );
    report.error(raw.span(), "radist.base_url", message);
    None
}

fn plugins(report: &mut Report<'_>, raw: &PluginsV1) -> PluginsConfig {
    let default = PluginsConfig::default().manifests;
    PluginsConfig {
        manifests: path_or(report, "plugins.manifests", &raw.manifests, default),
        optional: optional_plugins(report, raw.optional.as_ref()),
        build: raw.build.as_ref().is_some_and(|b| *b.get_ref()),
    }
}

/// `plugins.optional`: plugin names, each a valid [`PluginName`].
fn optional_plugins(
    report: &mut Report<'_>,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
) -> BTreeSet<PluginName> {
    let mut names = BTreeSet::new();
    for (i, name) in raw.map(Spanned::get_ref).into_iter().flatten().enumerate() {
        match PluginName::new(name.get_ref()) {
            Some(valid) => {
                names.insert(valid);
            }
            None => report.error(
                name.span(),
                &format!("plugins.optional[{i}]"),
                format!(
                    "`{}` is not a plugin name (1 to 64 of a-z, 0-9 and -)",
                    name.get_ref()
                ),
            ),
        }
    }
    names
}

fn runtime(report: &mut Report<'_>, raw: &RuntimeV1) -> RuntimeConfig {
    let d = RuntimeConfig::default();
    RuntimeConfig {
        pooling: raw.pooling.as_ref().map_or(d.pooling, |p| *p.get_ref()),
        cache_dir: path_or(report, "runtime.cache_dir", &raw.cache_dir, d.cache_dir),
        key_file: raw.key_file.as_ref().map(|raw| {
            path_or(
                report,
                "runtime.key_file",
                &Some(raw.clone()),
                PathBuf::from(".switchboard/cache.key"),
            )
        }),
        epoch_tick_ms: int_field!(report, "runtime", raw, d, epoch_tick_ms, 1..=1000),
        max_concurrent_runs: int_field!(report, "runtime", raw, d, max_concurrent_runs, 1..=10_000),
    }
}

fn store(report: &mut Report<'_>, raw: &StoreV1) -> StoreConfig {
    StoreConfig {
        path: path_or(report, "store.path", &raw.path, StoreConfig::default().path),
        url: raw
            .url
            .as_ref()
            .and_then(|url| secret(report, "store.url", url)),
        durability: name_or(
            report,
            "store.durability",
            &raw.durability,
            StoreDurability::Full,
        ),
    }
}

fn webhook(report: &mut Report<'_>, raw: &WebhookV1) -> WebhookConfig {
    let token = raw
        .token
        .as_ref()
        .and_then(|token| secret(report, "webhook.token", token));
    let d = WebhookConfig::default();
    WebhookConfig {
        token,
        max_body_bytes: int_field!(report, "webhook", raw, d, max_body_bytes, 1..=64 * MIB),
        own_echo_window_s: int_field!(report, "webhook", raw, d, own_echo_window_s, 10..=86_400),
        max_queued_runs: int_field!(report, "webhook", raw, d, max_queued_runs, 100..=10_000_000),
        max_queue_age_s: int_field!(report, "webhook", raw, d, max_queue_age_s, 1..=3600),
        backlog_retry_after_s: int_field!(
            report,
            "webhook",
            raw,
            d,
            backlog_retry_after_s,
            1..=600
        ),
        handoff_max_events: int_field!(
            report,
            "webhook",
            raw,
            d,
            handoff_max_events,
            0..=1_000_000
        ),
        handoff_max_mib: int_field!(report, "webhook", raw, d, handoff_max_mib, 0..=1024),
    }
}

fn retention(report: &mut Report<'_>, raw: &RetentionV1) -> RetentionConfig {
    let d = RetentionConfig::default();
    let days = 1..=3650;
    RetentionConfig {
        succeeded_days: int_field!(report, "retention", raw, d, succeeded_days, days.clone()),
        failed_days: int_field!(report, "retention", raw, d, failed_days, days),
        max_db_mib: int_opt(
            report,
            "retention.max_db_mib",
            &raw.max_db_mib,
            1..=1_048_576,
        ),
        interval_s: int_field!(report, "retention", raw, d, interval_s, 10..=86_400),
    }
}

/// An address with a port, or a problem saying how to write one.
fn address(report: &mut Report<'_>, path: &str, raw: &Spanned<String>) -> Option<SocketAddr> {
    parse_address(raw.get_ref())
        .map_err(|message| report.error(raw.span(), path, message))
        .ok()
}

fn parse_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let hint = match text.strip_prefix("localhost:") {
        Some(port) => format!("write `127.0.0.1:{port}`"),
        None => "write an IP address and a port, e.g. `127.0.0.1:8080`".to_owned(),
    };
    Err(format!("`{text}` is not an address with a port; {hint}"))
}

/// A non-empty path, or `default` when the key is absent (or empty, which is reported).
fn path_or(
    report: &mut Report<'_>,
    path: &str,
    raw: &Option<Spanned<String>>,
    default: PathBuf,
) -> PathBuf {
    let empty = format!(
        "the path is empty; remove the key to use `{}`",
        default.display()
    );
    parsed_or(report, path, raw, default, |text| match text {
        "" => Err(empty),
        text => Ok(PathBuf::from(text)),
    })
}
