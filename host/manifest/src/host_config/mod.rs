//! The host config (`switchboard.toml`): where the server listens, which Radist to talk to, and
//! where manifests, the module cache and the database live. Same pipeline as manifests
//! (`config_version` first, `deny_unknown_fields`, every problem collected), and every key has a
//! default, so a file holding only `config_version = 1` is valid.

mod schema;
mod validate;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::manifest::{PluginName, SecretSource};
use crate::problem::Report;
use crate::{document, named::named_enum};

/// The `config_version` values this crate reads, oldest first.
const SUPPORTED_VERSIONS: &[i64] = &[1];

/// The validated host config. Relative paths are relative to the config file; the caller
/// resolves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub server: ServerConfig,
    pub radist: RadistConfig,
    pub plugins: PluginsConfig,
    pub runtime: RuntimeConfig,
    pub store: StoreConfig,
    pub webhook: WebhookConfig,
    pub retention: RetentionConfig,
}

/// `[server]`: the HTTP listener for webhooks, health, metrics and the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Webhooks and health checks; also the admin API, the dashboard and `/metrics` unless
    /// `admin_listen` is set. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// A listener of its own for the admin API, the dashboard and `/metrics`, so webhooks can
    /// face the network while administration stays on loopback. Default: none (served on
    /// `listen`).
    pub admin_listen: Option<SocketAddr>,
    /// Bearer token for the admin API, the dashboard and `/metrics`; required when the address
    /// serving them is not a loopback address (see [`admin_exposure`]).
    pub admin_token: Option<SecretSource>,
    /// This node's name among nodes sharing a PostgreSQL store (default: the host name). Runs
    /// record it, and a restarted node recovers the runs left under its name.
    pub node_id: Option<String>,
    /// This node's lease in the store, 2..=300 s (default 10). The node heartbeats every third
    /// of it; a node silent for a whole lease is dead, and a live node recovers its runs. A node
    /// whose own heartbeats have failed for a whole lease stops claiming runs until one succeeds.
    pub lease_s: u32,
    /// Open HTTP connections at once, 16..=1000000 (default 1024); the binary lowers it to fit
    /// under the process's open-file limit.
    pub max_connections: u32,
    /// A client must send a request's headers within this time, and an idle keep-alive
    /// connection is closed after it, 100..=300000 ms (default 10000).
    pub header_timeout_ms: u32,
    /// A request, its body included, must be read and answered within this time,
    /// 100..=600000 ms (default 30000).
    pub request_timeout_ms: u32,
}

/// Why serving the admin surface (API, dashboard, metrics) at the chosen addresses without a
/// token is refused, or `None` when it is allowed. The admin surface is on `admin_listen` when
/// set, else on `listen`; without `server.admin_token` it must be a loopback address. The
/// config file's validation and the binary's `--listen`/`--admin-listen` flags both ask here,
/// so no flag can open what the file may not.
pub fn admin_exposure(
    listen: SocketAddr,
    admin_listen: Option<SocketAddr>,
    has_token: bool,
) -> Option<String> {
    let admin = admin_listen.unwrap_or(listen);
    if has_token || admin.ip().is_loopback() {
        return None;
    }
    let key = if admin_listen.is_some() {
        "server.admin_listen"
    } else {
        "server.listen"
    };
    Some(format!(
        "required when the admin API is served on a non-loopback address (`{key}` is {admin}); \
         add `admin_token = {{ env = \"SWITCHBOARD_ADMIN_TOKEN\" }}` to `[server]`, or keep the admin \
         API on loopback with `admin_listen = \"127.0.0.1:8081\"`"
    ))
}

/// `[radist]`: the Radist API the connector talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RadistConfig {
    pub mode: RadistMode,
    /// Default 1 in sandbox mode; required in remote mode.
    pub company_id: i64,
    /// Per request, 1..=300000 ms (default 10000).
    pub timeout_ms: u32,
    /// Retries of retryable failures, 0..=20 (default 4).
    pub max_retries: u32,
}

/// Which Radist: the built-in sandbox (the default) or the real API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RadistMode {
    /// Start the local Radist emulator on `listen` (default `127.0.0.1:0`) and talk to it.
    Sandbox { listen: SocketAddr },
    /// Talk to `base_url` (default `https://api.radist.online/v2`, no trailing slash).
    Remote {
        base_url: String,
        api_key: SecretSource,
    },
}

/// `[plugins]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginsConfig {
    /// Directory of plugin manifests (default `manifests`).
    pub manifests: PathBuf,
    /// Plugins that are skipped, with a note saying why and how to enable them, when their
    /// secrets are not set, instead of failing `check` and `serve` (e.g. `crm-sync` on a fresh
    /// clone without `CRM_TOKEN`).
    pub optional: BTreeSet<PluginName>,
    /// Whether `serve`, `check`, `run` and the other commands that load plugins build a
    /// missing component from its source workspace (`cargo build` runs that workspace's build
    /// scripts as the service user). Default false: a config without the key never builds, and
    /// `switchboard plugins build` does it on request. The repository's own `switchboard.toml`
    /// sets it, so a fresh clone starts with one command.
    pub build: bool,
}

/// `[runtime]`: the wasm engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Pooling instance allocator (default true).
    pub pooling: bool,
    /// Compiled-module cache (default `.switchboard/cache`).
    pub cache_dir: PathBuf,
    /// The installation key (mode 0600) that keys the fingerprints stored in history and
    /// authenticates the compiled cache. Default: `<cache_dir>.key`, created on first start.
    /// Every node sharing one database must use the same key: copy the file to each node and
    /// point this at it.
    pub key_file: Option<PathBuf>,
    /// Epoch tick for timeouts, 1..=1000 ms (default 10).
    pub epoch_tick_ms: u32,
    /// Runs executing at once, 1..=10000 (default 64).
    pub max_concurrent_runs: u32,
}

/// `[store]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// SQLite database file (default `.switchboard/switchboard.db`).
    pub path: PathBuf,
    /// A PostgreSQL connection URL (`postgres://user:password@host/db`) read from the
    /// environment; when set, the store is PostgreSQL and `path` only names where the service
    /// keeps its other files (webhook token, installation key). Its `sslmode` (`disable`,
    /// `prefer`, `require`, `verify-full`) chooses TLS.
    pub url: Option<SecretSource>,
    /// When an acknowledged write is on disk (default `full`).
    pub durability: StoreDurability,
}

/// `[webhook]`: the Radist webhook intake at `/hooks/radist/{token}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where the URL token comes from; `None` leaves the choice to the binary.
    pub token: Option<SecretSource>,
    /// Largest accepted body, 1..=64 MiB (default 1 MiB).
    pub max_body_bytes: u64,
    /// How long a `messages.send` without a recorded result makes intake mark a message on its
    /// chat as our own echo, 10..=86400 s (default 600). Past it, the send is presumed lost and
    /// the chat's messages are the contact's again.
    pub own_echo_window_s: u32,
    /// Backpressure: past this many runs queued (waiting for a worker), intake answers 503 with
    /// `Retry-After` and Radist redelivers later, 100..=10,000,000 (default 10,000: a few seconds
    /// of work at full speed).
    pub max_queued_runs: u64,
    /// Backpressure: once the oldest queued run has waited this long, intake answers 503 with
    /// `Retry-After`, 1..=3600 s (default 30): a reply is never started later than a customer
    /// would wait for one.
    pub max_queue_age_s: u32,
    /// The `Retry-After` of those 503 answers, 1..=600 s (default 5).
    pub backlog_retry_after_s: u32,
    /// The most decoded events intake keeps in memory for this process's dispatcher, so a run
    /// need not parse its stored payload again, 0..=1,000,000 (default 4,096; 0 turns it off).
    pub handoff_max_events: u32,
    /// The most memory those events may take, 0..=1024 MiB (default 16; 0 turns it off).
    pub handoff_max_mib: u32,
}

/// `[retention]`: how long run history is kept, and how big the database may grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Days a `succeeded` run is kept, 1..=3650 (default 7).
    pub succeeded_days: u32,
    /// Days a `failed`, `trapped`, `timed-out`, `denied` or `dead` run is kept, 1..=3650
    /// (default 30).
    pub failed_days: u32,
    /// When the database grows past this many MiB, the oldest finished runs go first, whatever
    /// their age (default none).
    pub max_db_mib: Option<u32>,
    /// How often retention runs, 10..=86400 s (default 300).
    pub interval_s: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            succeeded_days: 7,
            failed_days: 30,
            max_db_mib: None,
            interval_s: 300,
        }
    }
}

named_enum! {
    /// `store.durability`: when an acknowledged write is on disk.
    #[derive(Default)]
    pub enum StoreDurability as "store durability" {
        /// Every commit reaches the disk before it is answered (SQLite `synchronous = FULL`,
        /// PostgreSQL `synchronous_commit = on`): an acknowledged webhook survives a power cut.
        #[default]
        Full = "full",
        /// Commits survive a killed process, but a power cut may lose the last ones (SQLite
        /// `synchronous = NORMAL`, PostgreSQL `synchronous_commit = off`).
        Normal = "normal",
    }
}

named_enum! {
    /// The spelling of `radist.mode`.
    pub(crate) enum ModeName as "radist mode" {
        Sandbox = "sandbox",
        Remote = "remote",
    }
}

/// Parses and validates the host config `text`; `file` names it in problem reports.
///
/// # Errors
///
/// Every problem found: TOML syntax, a missing or unsupported `config_version`, unknown keys
/// (with a "did you mean"), wrong types, and invalid values.
pub fn parse_host_config(file: &str, text: &str) -> Result<HostConfig, crate::Problems> {
    let mut report = Report::new(file, text);
    let config = read(text, &mut report);
    report.finish(config)
}

fn read(text: &str, report: &mut Report<'_>) -> Option<HostConfig> {
    let document = document::parse(text, report)?;
    document::read_version(&document, "config_version", SUPPORTED_VERSIONS, report)?;
    let raw: schema::HostConfigV1 = document::decode(document, report)?;
    validate::host_config(report, &raw)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: loopback(8080),
            admin_listen: None,
            admin_token: None,
            node_id: None,
            lease_s: 10,
            max_connections: 1024,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
        }
    }
}

impl Default for RadistConfig {
    fn default() -> Self {
        let mode = RadistMode::Sandbox {
            listen: loopback(0),
        };
        Self {
            mode,
            company_id: 1,
            timeout_ms: 10_000,
            max_retries: 4,
        }
    }
}

impl RadistMode {
    /// The Radist API base URL in remote mode when the file gives none.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.radist.online/v2";
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            manifests: PathBuf::from("manifests"),
            optional: BTreeSet::new(),
            build: false,
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        let cache_dir = PathBuf::from(".switchboard/cache");
        Self {
            pooling: true,
            cache_dir,
            key_file: None,
            epoch_tick_ms: 10,
            max_concurrent_runs: 64,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from(".switchboard/switchboard.db"),
            url: None,
            durability: StoreDurability::Full,
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            token: None,
            max_body_bytes: 1024 * 1024,
            own_echo_window_s: 600,
            max_queued_runs: 10_000,
            max_queue_age_s: 30,
            backlog_retry_after_s: 5,
            handoff_max_events: 4096,
            handoff_max_mib: 16,
        }
    }
}

#[cfg(test)]
mod tests;
