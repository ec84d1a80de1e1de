//! `switchboard-bench`: starts the Radist sandbox in-process and the release `switchboard serve`
//! on loopback with a scratch data directory, drives it with realistic Radist webhooks from an
//! open-loop (fixed send times) and a closed-loop (maximum) generator, and prints acknowledged
//! webhooks/s, acknowledgement and end-to-end latency, completed runs/s, the service's CPU time
//! and peak RSS, and database bytes per run. See BENCHMARKS.md.
//!
//! `cargo run --release -p switchboard-bench -- <intake|e2e|plugins20|cron-storm|hostile>
//! [--rate N | --max] [--duration-s S] [--json] [--url URL] [--store sqlite|postgres] [--nodes N]`

mod cli;
mod e2e;
mod inject;
mod load;
mod machine;
mod manifests;
mod pg;
mod radist;
mod report;
mod run;
mod service;
mod storm;
mod traffic;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match bench(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report::say(&format!("error: {err:#}"));
            ExitCode::FAILURE
        }
    }
}

fn bench(args: &cli::Args) -> anyhow::Result<()> {
    args.validate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-generator")
        .enable_all()
        .build()?;
    let report = run::run(args, &rt)?;
    let mut out = std::io::stdout().lock();
    report.write(args.json, &mut out)
}
