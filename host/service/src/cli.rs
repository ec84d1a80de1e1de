//! The command line: one binary, one subcommand per job.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Switchboard: an automation host for Radist.Online messaging with sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// The host config file.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_CONFIG",
        default_value = "switchboard.toml"
    )]
    pub config: PathBuf,
    /// More logging (-v, -vv); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// How logs are written to stderr: `text` for people, `json` (one object per line) for machines.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: webhook intake, dispatcher and admin API (against the embedded Radist
    /// sandbox unless the config says `radist.mode = "remote"`).
    Serve(ServeArgs),
    /// Validate the host config, every manifest, and each plugin's imports against its grants.
    /// Exits 1 with every problem listed. With `--event FILE`, also says which plugins that
    /// event would trigger and why each other plugin would not.
    Check(CheckArgs),
    /// Run one plugin once on an event and print the outcome, its actions and its logs.
    Run(RunArgs),
    /// Serve the local Radist sandbox (an emulator of the Radist v2 API).
    Sandbox(SandboxArgs),
    /// Run history: list, show and replay runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Stored events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Webhook requests intake refused (kept for inspection).
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// The plugins the config enables (digest, grants and triggers), and building plugins.
    Plugins(PluginsArgs),
    /// Create things: `new plugin NAME --lang rust|js|python`.
    #[command(subcommand)]
    New(NewCommand),
    /// Radist administration.
    #[command(subcommand)]
    Radist(RadistCommand),
    /// Cron schedules: zone, last slot and its run, the next five fires, skipped and missed.
    Schedules(JsonArg),
    /// Nodes sharing the store: live or not, their leases and the runs they hold.
    Nodes(JsonArg),
    /// The database: sizes and row counts, online backup, retention now.
    #[command(subcommand)]
    Db(DbCommand),
}

/// `switchboard plugins [list|build]`; no subcommand lists.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub command: Option<PluginsCommand>,
    #[command(flatten)]
    pub list: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// The plugins the config enables: digest, grants and triggers.
    List(JsonArg),
    /// Build plugins from source: a plugin directory (Rust, JavaScript or Python, told by its
    /// files) or, without PATH, the plugins of every configured manifest.
    Build {
        /// A plugin directory (holding manifest.toml) or a cargo workspace of plugins.
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A ready plugin directory: manifest, source using the SDK, narrow WIT world, sample
    /// event, test and README.
    Plugin(NewPluginArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewPluginArgs {
    /// The plugin's name: lowercase words joined by `-` (`order-bot`); also its directory.
    pub name: String,
    /// The plugin's language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to create the plugin's directory.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Only regenerate `wit/world.wit` of an existing plugin from its manifest's grants.
    #[arg(long)]
    pub world_only: bool,
}

/// A plugin language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Js,
    Python,
}

impl Lang {
    /// The build crate's language.
    pub fn language(self) -> switchboard_plugin_build::Language {
        match self {
            Lang::Rust => switchboard_plugin_build::Language::Rust,
            Lang::Js => switchboard_plugin_build::Language::JavaScript,
            Lang::Python => switchboard_plugin_build::Language::Python,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// File and WAL sizes, pages, rows per table.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the database, taken while the service keeps running.
    Backup { file: PathBuf },
    /// Apply `[retention]` now (what `serve` does every `retention.interval_s`).
    Purge,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides `server.listen`; port 0 picks a free port). Without
    /// `server.admin_token` a non-loopback address is refused unless `--admin-listen` keeps the
    /// admin API on loopback.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// A separate address for the admin API, dashboard and metrics (overrides
    /// `server.admin_listen`); without `server.admin_token` it must be loopback.
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// How long runs in flight may take to finish after SIGTERM, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub drain_ms: u64,
    /// Start although this node's installation key (`runtime.key_file`) differs from the one
    /// the database was used with, and make it the database's key. Fingerprints recorded under
    /// the old key can no longer be compared: a run interrupted mid-send may end as
    /// non-deterministic instead of being reconciled.
    #[arg(long)]
    pub replace_key: bool,
}

#[derive(Debug, clap::Args)]
pub struct JsonArg {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Filters shared by `runs list` and `runs replay`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunFilterArgs {
    /// Only this plugin's runs.
    #[arg(long)]
    pub plugin: Option<String>,
    /// Only runs with this status (queued, running, retrying, succeeded, failed, trapped,
    /// timed-out, denied, dead).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs created at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only runs of this chat: `<connection id>:<chat id>`.
    #[arg(long)]
    pub chat: Option<String>,
    /// Only runs of this trigger kind (event kind), e.g. `message.received`.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only runs created before this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Only runs whose event payload holds every one of these words (whole, any case).
    #[arg(long)]
    pub text: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        #[command(flatten)]
        filter: RunFilterArgs,
        #[arg(long)]
        json: bool,
    },
    /// One run: its event, attempts, actions (with ledger decisions), logs and error.
    Show(ShowArgs),
    /// Run finished runs again; completed actions are answered from the ledger, so nothing a
    /// customer already received is sent twice.
    Replay {
        /// One run; or leave it out and select runs with the filters.
        id: Option<i64>,
        #[command(flatten)]
        filter: RunFilterArgs,
        /// Show which runs would be replayed and what the ledger already holds for them.
        #[arg(long)]
        dry_run: bool,
    },
}

// One stored item by id, as text or JSON (a plain comment: the variant's doc is its help).
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Events, newest first.
    List {
        /// Only this kind (`message.received`, `unsupported`, ...).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        chat: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One event and its runs.
    Show(ShowArgs),
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Refused requests, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One refused request: reason, headers and body.
    Show(ShowArgs),
    /// Decode a refused request again and, if it now decodes, store it as intake would.
    Retry { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum RadistCommand {
    /// Radist webhook subscriptions.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Register or update a webhook for every connection a manifest subscribes to, and remove
    /// stale ones this command created.
    Sync {
        /// Where Radist reaches this service, e.g. https://switchboard.example.com
        #[arg(long)]
        public_url: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A JSON event file (as `run --event` takes): report which plugins it would trigger.
    #[arg(long)]
    pub event: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plugin's name, as in its manifest's `[plugin] name` (or give `--manifest`).
    #[arg(required_unless_present = "manifest", conflicts_with = "manifest")]
    pub plugin: Option<String>,
    /// A manifest file anywhere (e.g. a new plugin's `greeter/manifest.toml`) instead of a
    /// plugin of the configured manifests directory. Without a host config file, an embedded
    /// sandbox and a store under the manifest's directory (`.switchboard/`) are used.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// A JSON file: a Radist webhook body, or `{"manual": {...}}`, or
    /// `{"schedule": {"cron": "...", "slot": "2026-11-23T09:00:00Z"}}`.
    #[arg(long)]
    pub event: PathBuf,
    /// Answer Radist actions without calling Radist.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// A seed file replacing the default seed.
    #[arg(long)]
    pub seed: Option<PathBuf>,
}
