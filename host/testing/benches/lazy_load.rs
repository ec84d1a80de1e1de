//! What loading many distinct components costs with a warm compiled-component cache, eager
//! against lazy linking (prints figures, asserts nothing):
//! - start-up: `Runtime::new` plus reading and loading `N` components (auto-reply built from
//!   source, each made distinct by a custom section with its own name), and the process's RSS
//!   after it;
//! - first-run latency of a plugin (lazy: it links then) against its second run.
//!
//! Start-up (ms) is split into `Runtime::new` and, measured in a separate pass, reading and
//! hashing the files, which every load does in both modes.
//!
//! Each measurement is a fresh child process (`--child eager|lazy`), so RSS is its own. `eager`
//! deletes the cache's import lists first, which sends every load down the eager path (read,
//! authenticate and deserialize the compiled file, link), i.e. what every load did before lazy
//! linking; it then writes the lists back (200 small files, a few ms). Rounds alternate which
//! mode goes first, as the machine is noisy.
//!
//! `cargo bench -p switchboard-testing --bench lazy_load` (`N=200 ROUNDS=3` by default).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_runtime::{FileKvStore, HostServices, Plugin, RunInput, Runtime, RuntimeConfig};
use switchboard_testing::events::text;
use switchboard_testing::figures::{BenchError, count_from_env};
use switchboard_testing::{build_plugins, repo_root};

/// Plugins whose first and second runs are timed in each child.
const TIMED: usize = 3;

fn main() -> Result<(), BenchError> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, mode, dir, n] = args.as_slice()
        && flag == "--child"
    {
        let line = child(mode == "eager", Path::new(dir), n.parse()?)?;
        writeln!(std::io::stdout().lock(), "{line}")?;
        return Ok(());
    }
    parent(count_from_env("N", 200), count_from_env("ROUNDS", 3))
}

fn parent(n: usize, rounds: usize) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    write_variants(dir.path(), n)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "cold (compiles {n}): {}",
        spawn("lazy", dir.path(), n)?
    )?;
    writeln!(
        out,
        "mode  start-up  Runtime::new  read+sha256 (ms)  RSS MiB  linked  first-run ms  second-run ms"
    )?;
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            ["eager", "lazy"]
        } else {
            ["lazy", "eager"]
        };
        for mode in order {
            writeln!(out, "{mode:5} {}", spawn(mode, dir.path(), n)?)?;
        }
    }
    Ok(())
}

/// `n` copies of auto-reply under `dir/wasm`, each with a custom section of its own name.
fn write_variants(dir: &Path, n: usize) -> Result<(), BenchError> {
    let wasm = std::fs::read(build_plugins()?.wasm("auto-reply")?)?;
    std::fs::create_dir_all(dir.join("wasm"))?;
    for i in 0..n {
        let name = format!("switchboard-bench-{i}");
        let mut section = leb128(name.len());
        section.extend_from_slice(name.as_bytes());
        let mut bytes = wasm.clone();
        bytes.push(0); // custom section id
        bytes.extend(leb128(section.len()));
        bytes.extend(section);
        std::fs::write(variant(dir, i), bytes)?;
    }
    Ok(())
}

fn variant(dir: &Path, i: usize) -> PathBuf {
    dir.join("wasm").join(format!("{i}.wasm"))
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn spawn(mode: &str, dir: &Path, n: usize) -> Result<String, BenchError> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args(["--child", mode, &dir.to_string_lossy(), &n.to_string()])
        .output()?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// One measurement: start-up, RSS, linked components, first and second run (mean of `TIMED`).
fn child(eager: bool, dir: &Path, n: usize) -> Result<String, BenchError> {
    let cache = dir.join("cache");
    if eager {
        forget_import_lists(&cache)?;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache),
        ..RuntimeConfig::default()
    })?;
    let new = started.elapsed();
    let plugins = load_all(&runtime, dir, n)?;
    let start_up = started.elapsed();
    let rss = rss_mib()?;
    let linked = runtime.components_linked();
    let (first, second) = tokio.block_on(time_runs(&plugins[..TIMED.min(n)]));
    Ok(format!(
        "{:8.0}  {:6.0}  {:9.0}  {rss:7.1}  {linked:6}  {:12.2}  {:13.2}",
        ms(start_up),
        ms(new),
        ms(read_and_hash(dir, n)?),
        ms(first),
        ms(second)
    ))
}

/// How long reading the `n` files and hashing them takes (every load does both, the runtime
/// to find the component in its caches), measured in a pass of its own after the loads.
fn read_and_hash(dir: &Path, n: usize) -> Result<Duration, BenchError> {
    use sha2::Digest;
    let started = Instant::now();
    for i in 0..n {
        std::hint::black_box(sha2::Sha256::digest(std::fs::read(variant(dir, i))?));
    }
    Ok(started.elapsed())
}

fn forget_import_lists(cache: &Path) -> Result<(), BenchError> {
    for entry in std::fs::read_dir(cache)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "imports") {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}

fn load_all(runtime: &Runtime, dir: &Path, n: usize) -> Result<Vec<Plugin>, BenchError> {
    let file = repo_root().join("manifests/auto-reply.toml");
    let manifest =
        switchboard_manifest::parse_manifest("auto-reply.toml", &std::fs::read_to_string(file)?)?;
    let kv = Arc::new(FileKvStore::open(dir.join("kv"))?);
    (0..n)
        .map(|i| {
            let wasm = std::fs::read(variant(dir, i))?;
            let services = HostServices::new(kv.clone());
            Ok(runtime.load_plugin_bytes(&manifest, "auto-reply.toml", &wasm, services)?)
        })
        .collect()
}

/// Mean first-run and second-run latency of `plugins` (a message no rule matches, dry run).
async fn time_runs(plugins: &[Plugin]) -> (Duration, Duration) {
    let (mut first, mut second) = (Duration::ZERO, Duration::ZERO);
    for (i, plugin) in plugins.iter().enumerate() {
        first += timed(plugin, &format!("first-{i}")).await;
        second += timed(plugin, &format!("second-{i}")).await;
    }
    let count = u32::try_from(plugins.len().max(1)).unwrap_or(1);
    (first / count, second / count)
}

async fn timed(plugin: &Plugin, id: &str) -> Duration {
    let input = RunInput {
        event: text(70001, 1, "nothing any rule matches").received(),
        run: switchboard_runtime::event::RunInfo {
            run_id: id.to_owned(),
            event_id: id.to_owned(),
            attempt: 1,
            is_replay: false,
        },
        dry_run: true,
    };
    let started = Instant::now();
    let outcome = plugin.run(input).await;
    let took = started.elapsed();
    assert_eq!(outcome.status.as_str(), "succeeded", "{:?}", outcome.status);
    took
}

/// The process's resident set (`VmRSS`), in MiB.
fn rss_mib() -> Result<f64, BenchError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
