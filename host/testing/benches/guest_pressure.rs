//! What hostile guests cost the host, as figures (prints, asserts nothing):
//! - fairness: how long a healthy run waits when two plugins spin on the CPU until their
//!   timeout on the same 2-worker tokio runtime (median and max over `ROUNDS` rounds, after one
//!   warm-up round: tokio tunes how often a worker looks at its global queue from task poll
//!   times, and a fresh runtime looks only every 61 polls);
//! - log floods: lines and bytes a run's log holds after a flood of empty `log("")` calls and of
//!   newline-only stdout writes.
//!
//! `cargo bench -p switchboard-testing --bench guest_pressure` (`ROUNDS=N` to change the count).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_runtime::{Plugin, RunOutcome, Runtime, RuntimeConfig};
use switchboard_testing::events::manual_run;
use switchboard_testing::figures::{
    BenchError as BoxError, bench_tokio, count_from_env, load_manifest,
};
use switchboard_testing::repo_root;

fn main() -> Result<(), BoxError> {
    let rounds: usize = count_from_env("ROUNDS", 10);
    let tokio = bench_tokio(2)?;
    let mut out = std::io::stdout().lock();
    let waits = tokio.block_on(fairness(rounds))?;
    writeln!(
        out,
        "healthy run beside 2 spinners (timeout 500 ms, 2 workers), {rounds} rounds: median {:.1} ms, max {:.1} ms",
        ms(waits[waits.len() / 2]),
        ms(waits[waits.len() - 1])
    )?;
    for (mode, lines) in [("empty-log-flood", 9_000), ("newline-flood", 1_000_000)] {
        let outcome = tokio.block_on(flood(mode, lines))?;
        let bytes: usize = outcome.logs.iter().map(|l| l.message.len()).sum();
        let last = outcome.logs.last().map_or("", |l| l.message.as_str());
        writeln!(
            out,
            "{mode} of {lines} lines (log_bytes 65536): {} lines held, {bytes} text bytes, {:?}; last: {last}",
            outcome.logs.len(),
            outcome.status
        )?;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn fairness(rounds: usize) -> Result<Vec<Duration>, BoxError> {
    let kv = tempfile::tempdir()?;
    let runtime = Runtime::new(RuntimeConfig {
        max_concurrent_runs: 4,
        ..RuntimeConfig::default()
    })?;
    let spinner = load(&runtime, "hostile.toml", kv.path())?;
    let healthy = load(&runtime, "bystander.toml", kv.path())?;
    let mut waits = Vec::with_capacity(rounds + 1);
    for round in 0..=rounds {
        let spinners: Vec<_> = (0..2)
            .map(|n| {
                let spinner = spinner.clone();
                let run = manual_run(&json!({"mode": "loop"}), &format!("spin-{round}-{n}"));
                tokio::spawn(async move { spinner.run(run).await })
            })
            .collect();
        while runtime.runs_in_progress() < 2 {
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        let plugin = healthy.clone();
        let run = manual_run(&json!({"mode": "ok"}), &format!("ok-{round}"));
        tokio::spawn(async move { plugin.run(run).await }).await?;
        waits.push(started.elapsed());
        for s in spinners {
            s.await?;
        }
    }
    waits.remove(0);
    waits.sort();
    Ok(waits)
}

async fn flood(mode: &str, lines: usize) -> Result<RunOutcome, BoxError> {
    let kv = tempfile::tempdir()?;
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let plugin = load(&runtime, "hostile.toml", kv.path())?;
    let run = manual_run(&json!({"mode": mode, "lines": lines}), mode);
    Ok(plugin.run(run).await)
}

fn load(runtime: &Runtime, manifest: &str, kv: &Path) -> Result<Plugin, BoxError> {
    let file = repo_root().join("host/testing/manifests").join(manifest);
    load_manifest(runtime, &file, kv)
}
