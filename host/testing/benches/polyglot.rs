//! The auto-reply plugin in Rust, TypeScript and Python: component size, cold compile (an empty
//! compiled-component cache), warm load (from that cache), per-run instantiate and whole run
//! (instantiate + `handle` + one send to the sandbox over loopback HTTP), and peak memory per
//! instance. Prints figures, asserts none.
//!
//! `cargo bench --workspace --bench polyglot` (`RUNS=N` to change the count: at most 60, the
//! manifests' `per_minute` send budget, or later runs are rate limited).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use radist_sandbox::SandboxConfig;
use switchboard_runtime::{RunStatus, RuntimeConfig};
use switchboard_testing::figures::{bench_tokio, count_from_env, percentile};
use switchboard_testing::{PluginHarness, build_plugin_dir, repo_root};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = count_from_env("RUNS", 55);
    let tokio = bench_tokio(2)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "auto-reply per language, {runs} runs each (instantiate + handle + one send)"
    )?;
    for lang in ["rust", "ts", "py"] {
        let figures = tokio.block_on(measure(lang, runs))?;
        writeln!(out, "{figures}")?;
    }
    Ok(())
}

fn manifest(lang: &str) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if lang == "rust" {
        return Ok(repo_root().join("manifests/auto-reply.toml"));
    }
    let dir = repo_root().join(format!("plugins/auto-reply-{lang}"));
    build_plugin_dir(&dir)?;
    Ok(dir.join("manifest.toml"))
}

async fn measure(lang: &str, runs: usize) -> Result<String, Box<dyn std::error::Error>> {
    let file = manifest(lang)?;
    let cache = tempfile::tempdir()?;
    let config = || RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let cold = PluginHarness::start_with(config(), SandboxConfig::default()).await?;
    let started = Instant::now();
    let plugin = cold.load(&file)?;
    let cold_compile = started.elapsed();
    let h = PluginHarness::start_with(config(), SandboxConfig::default()).await?;
    let started = Instant::now();
    let plugin_warm = h.load(&file)?;
    let warm_load = started.elapsed();
    drop((plugin, cold));
    let (mut totals, mut instantiations, mut peak) = (Vec::new(), Vec::new(), 0);
    for i in 0..runs {
        let (_, event) = h
            .inbound_text(70002, &format!("7999200{i:04}"), "hours?")
            .await?;
        let outcome = h.run(&plugin_warm, event).await;
        let sends = outcome.actions.iter().filter(|a| a.kind == "messages.send");
        if outcome.status != RunStatus::Succeeded || sends.count() != 1 {
            return Err(format!("{lang} run {i}: {:?} {:?}", outcome.status, outcome.logs).into());
        }
        totals.push(outcome.duration);
        instantiations.push(outcome.instantiate);
        peak = peak.max(outcome.peak_memory_bytes);
    }
    let wasm = file
        .parent()
        .unwrap_or(&file)
        .join(&plugin_warm.manifest.plugin.wasm);
    let size = std::fs::metadata(&wasm)?.len();
    Ok(format!(
        "{lang:>4}: component {:>5.1} MB | cold compile {:>7.0?} | warm load {:>6.1?} | instantiate median {:>7.1?} | run median {:>7.1?} p99 {:>7.1?} | peak memory {:>5.1} MiB",
        size as f64 / 1e6,
        cold_compile,
        warm_load,
        percentile(&mut instantiations, 50.0),
        percentile(&mut totals, 50.0),
        percentile(&mut totals, 99.0),
        peak as f64 / (1024.0 * 1024.0),
    ))
}
