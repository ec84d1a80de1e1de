//! The command line: one binary, one subcommand per job.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the host config, every manifest, and each plugin's imports against its grants.
    /// Exits 1 with every problem listed.
    Check,
    /// Run one plugin once on an event and print the outcome, its actions and its logs.
    Run(RunArgs),
    /// Serve the local Radist sandbox (an emulator of the Radist v2 API).
    Sandbox(SandboxArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plugin's name, as in its manifest's `[plugin] name`.
    pub plugin: String,
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

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => crate::check::check(&cli.config).await,
        Command::Run(args) => crate::run::run(&cli.config, args).await,
        Command::Sandbox(args) => crate::sandbox::serve(args).await,
    }
}
