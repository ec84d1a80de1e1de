//! `switchboard sandbox`: serves the Radist emulator on its own until Ctrl-C. The Radist the
//! other commands talk to is chosen in [`radist_target`](crate::radist_target).

use anyhow::Context;
use radist_sandbox::{Sandbox, SandboxConfig, Seed};

use crate::cli::SandboxArgs;
use crate::output;

/// `switchboard sandbox`: serve until Ctrl-C.
pub async fn serve(args: SandboxArgs) -> anyhow::Result<std::process::ExitCode> {
    let seed = match &args.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::default(),
    };
    let handle = Sandbox::start(SandboxConfig {
        listen: args.listen,
        seed,
        ..SandboxConfig::default()
    })
    .await?;
    output::line(&format!(
        "radist sandbox listening on {} (api key: {}, company {}); control endpoints under {}",
        handle.base_url(),
        handle.api_key(),
        handle.company_id(),
        handle.control_url()
    ));
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    handle.shutdown().await?;
    Ok(std::process::ExitCode::SUCCESS)
}
