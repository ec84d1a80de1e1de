//! `radist-sandbox` binary: runs the emulator on a socket until Ctrl-C.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use radist_sandbox::{Sandbox, SandboxConfig, SandboxError, Seed, WindowPolicy};

/// A stateful local emulator of the Radist.Online v2 messaging API.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// JSON seed file replacing the default company, connections and templates.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Closed-window policy for non-template WABA sends: accept, reject or allow.
    #[arg(long, default_value = "accept")]
    window_policy: String,
}

#[tokio::main]
async fn main() -> Result<(), SandboxError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::default(),
    };
    let window_policy: WindowPolicy = serde_json::from_value(serde_json::Value::String(
        args.window_policy.clone(),
    ))
    .map_err(|_| {
        SandboxError::Seed(format!(
            "--window-policy `{}`: use accept, reject or allow",
            args.window_policy
        ))
    })?;
    let config = SandboxConfig {
        listen: args.listen,
        seed,
        window_policy,
        ..SandboxConfig::default()
    };
    let handle = Sandbox::start(config).await?;
    println!(
        "radist sandbox listening on {} (api key: {})",
        handle.base_url(),
        handle.api_key()
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await
}
