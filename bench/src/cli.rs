//! Command-line arguments of `switchboard-bench` and the bounds they are held to.

use clap::{Parser, ValueEnum};

/// The most requests one phase may plan (bounds the generator's memory for expectations).
pub const MAX_REQUESTS: u64 = 2_000_000;
/// The longest phase.
pub const MAX_DURATION_S: u64 = 120;
/// The highest open-loop rate.
pub const MAX_RATE: u32 = 200_000;
/// The most HTTP connections the generator opens.
pub const MAX_CONNECTIONS: usize = 1024;
/// The most chats created in the sandbox.
pub const MAX_CHATS: usize = 20_000;
/// The most service processes (nodes) started on one database.
pub const MAX_NODES: usize = 8;
/// The most schedules in the cron storm.
pub const MAX_SCHEDULES: usize = 10_000;
/// The longest wait from writing the storm's manifests to its slot.
pub const MAX_STORM_LEAD_S: u64 = 600;

/// Drives `switchboard serve` (or any webhook URL) with realistic Radist webhooks.
#[derive(Debug, Parser)]
#[command(name = "switchboard-bench", version)]
pub struct Args {
    /// What to measure.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Open loop at this many webhooks/s only (default: the scenario's rate, then maximum).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Closed loop at maximum only.
    #[arg(long, conflicts_with = "rate")]
    pub max: bool,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Print the figures as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Send the load to this webhook URL instead of a service the harness starts; only
    /// acknowledgement figures are reported.
    #[arg(long)]
    pub url: Option<String>,
    /// Concurrent HTTP connections of the generator.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Distinct chats the webhooks come from.
    #[arg(long, default_value_t = 2000)]
    pub chats: usize,
    /// Hostile runs injected per second in the `hostile` scenario.
    #[arg(long, default_value_t = 8)]
    pub hostile_rate: u32,
    /// Run `cargo build --release -p switchboard` even when the binary exists.
    #[arg(long)]
    pub rebuild: bool,
    /// The store the service runs on: a SQLite file, or a throwaway PostgreSQL 15 server the
    /// harness starts (`/usr/lib/postgresql/15/bin` or `$SWITCHBOARD_PG_BIN`).
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// Service processes sharing the database (PostgreSQL only); the load is spread over their
    /// webhook URLs round-robin.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Schedules in the cron storm (one manifest each, all firing in the same second).
    #[arg(long, default_value_t = 1000)]
    pub schedules: usize,
    /// Seconds from writing the storm's manifests to the slot they fire at (start-up with all
    /// plugins must fit in it).
    #[arg(long, default_value_t = 30)]
    pub storm_lead_s: u64,
    /// The language of the auto-reply plugin in `e2e` (its TypeScript and Python ports are built
    /// from `plugins/auto-reply-ts` and `plugins/auto-reply-py`).
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// `[store] durability`: `full` (the default: an acknowledged webhook survives a power
    /// cut) or `normal`.
    #[arg(long, value_enum, default_value_t = Durability::Full)]
    pub durability: Durability,
    /// `[runtime] max_concurrent_runs` of the service under test (its default, 64, when not
    /// given): how many runs execute at once, and twice that many may be claimed.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_runs: Option<u32>,
}

/// The language auto-reply is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Ts,
    Py,
}

impl Lang {
    /// The port's directory under `plugins/` and its memory limit (its manifest's), or `None`
    /// for the Rust plugin.
    pub fn port(self) -> Option<(&'static str, u32)> {
        match self {
            Lang::Rust => None,
            Lang::Ts => Some(("auto-reply-ts", 32)),
            Lang::Py => Some(("auto-reply-py", 48)),
        }
    }
}

/// `[store] durability` of the service under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    Full,
    Normal,
}

impl Durability {
    /// The config value.
    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

/// Where the service keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// `data/switchboard.db` in the scratch directory.
    Sqlite,
    /// A throwaway PostgreSQL 15 server (default durability settings) on a private port.
    Postgres,
}

impl StoreKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Webhook intake only: no plugins loaded.
    Intake,
    /// Auto-reply end to end: webhook in, reply at the Radist sandbox.
    E2e,
    /// 20 plugins with a mix of triggers, auto-reply among them.
    Plugins20,
    /// 1,000 schedules firing in one second.
    CronStorm,
    /// Hostile plugins running beside auto-reply.
    Hostile,
}

impl Scenario {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Intake => "intake",
            Scenario::E2e => "e2e",
            Scenario::Plugins20 => "plugins20",
            Scenario::CronStorm => "cron-storm",
            Scenario::Hostile => "hostile",
        }
    }

    /// The open-loop rate its targets are stated at.
    pub fn default_rate(self) -> u32 {
        match self {
            Scenario::Intake => 5_000,
            _ => 1_000,
        }
    }
}

/// One phase of load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Send times fixed in advance at this rate per second.
    Open(u32),
    /// Each connection sends its next request when the previous one is answered.
    Closed,
}

impl Args {
    /// Checks the bounds; the message says what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        within("--duration-s", self.duration_s, 1..=MAX_DURATION_S)?;
        if let Some(rate) = self.rate {
            within("--rate", rate, 1..=MAX_RATE)?;
        }
        within("--connections", self.connections, 1..=MAX_CONNECTIONS)?;
        within("--chats", self.chats, 1..=MAX_CHATS)?;
        within("--hostile-rate", self.hostile_rate, 0..=1000)?;
        within("--nodes", self.nodes, 1..=MAX_NODES)?;
        anyhow::ensure!(
            self.nodes == 1 || self.store == StoreKind::Postgres,
            "several nodes need a shared database: add --store postgres"
        );
        anyhow::ensure!(
            self.url.is_none() || (self.nodes == 1 && self.store == StoreKind::Sqlite),
            "--url sends load to a service the harness did not start: drop --store and --nodes"
        );
        within("--schedules", self.schedules, 1..=MAX_SCHEDULES)?;
        within("--storm-lead-s", self.storm_lead_s, 5..=MAX_STORM_LEAD_S)?;
        Ok(())
    }

    /// The phases to run, in order.
    pub fn phases(&self) -> Vec<Pace> {
        if self.scenario == Scenario::CronStorm {
            return Vec::new();
        }
        match (self.rate, self.max) {
            (Some(rate), _) => vec![Pace::Open(rate)],
            (None, true) => vec![Pace::Closed],
            (None, false) => vec![Pace::Open(self.scenario.default_rate()), Pace::Closed],
        }
    }
}

/// The value of `flag` lies in `range`, or an error saying which values it takes.
fn within<T: PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> anyhow::Result<()> {
    let (start, end) = (range.start(), range.end());
    anyhow::ensure!(range.contains(&value), "{flag} must be {start}..={end}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn a_flag_out_of_its_range_says_which_values_it_takes() {
        assert!(within("--nodes", 8_usize, 1..=8).is_ok());
        let err = within("--nodes", 9_usize, 1..=8).expect_err("9 nodes is too many");
        assert_eq!(err.to_string(), "--nodes must be 1..=8");
        assert!(within("--hostile-rate", 0_u32, 0..=1000).is_ok());
    }
}
