//! Host overhead per run: a fresh store, instantiation and a call of the trivial `ok` handler
//! (the hostile plugin under the `bystander` manifest), no Radist. Prints median and p99 for the
//! pooling and the on-demand allocator, and the machine it ran on. Prints figures, asserts none.
//!
//! `cargo bench -p switchboard-testing --bench host_overhead` (`RUNS=N` to change the count).

use std::io::Write;

use serde_json::json;
use switchboard_runtime::{RunStatus, Runtime, RuntimeConfig};
use switchboard_testing::events::manual_run;
use switchboard_testing::figures::{bench_tokio, count_from_env, load_manifest, percentile};
use switchboard_testing::repo_root;

const WARM_UP: usize = 200;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = count_from_env("RUNS", 5_000);
    let tokio = bench_tokio(1)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "host overhead per run (store + instantiate + call `ok`, no Radist), {runs} runs"
    )?;
    writeln!(out, "machine: {} cpus, {}", cpus(), cpu_model())?;
    for pooling in [true, false] {
        let figures = tokio.block_on(measure(pooling, runs))?;
        writeln!(out, "{figures}")?;
    }
    Ok(())
}

async fn measure(pooling: bool, runs: usize) -> Result<String, Box<dyn std::error::Error>> {
    let runtime = Runtime::new(RuntimeConfig {
        pooling,
        ..RuntimeConfig::default()
    })?;
    let file = repo_root().join("host/testing/manifests/bystander.toml");
    let kv_dir = tempfile::tempdir()?;
    let plugin = load_manifest(&runtime, &file, kv_dir.path())?;
    let payload = json!({"mode": "ok"});
    let mut totals = Vec::with_capacity(runs);
    let mut instantiations = Vec::with_capacity(runs);
    for i in 0..WARM_UP + runs {
        let outcome = plugin
            .run(manual_run(&payload, &format!("bench-{i}")))
            .await;
        if outcome.status != RunStatus::Succeeded {
            return Err(format!("run {i} ended {:?}", outcome.status).into());
        }
        if i >= WARM_UP {
            totals.push(outcome.duration);
            instantiations.push(outcome.instantiate);
        }
    }
    let allocator = match (pooling, runtime.is_pooled()) {
        (true, true) => "pooling  ",
        (true, false) => "pooling (fell back to on-demand)",
        _ => "on-demand",
    };
    Ok(format!(
        "{allocator}: run median {:>8.1?} p99 {:>8.1?} | instantiate median {:>8.1?} p99 {:>8.1?}",
        percentile(&mut totals, 50.0),
        percentile(&mut totals, 99.0),
        percentile(&mut instantiations, 50.0),
        percentile(&mut instantiations, 99.0),
    ))
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".to_owned())
}
