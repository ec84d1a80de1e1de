//! One benchmark invocation: set up Radist, the service and its plugins for the scenario, run
//! each phase of load, wait for the service to finish the runs it acknowledged, and collect
//! the figures (acknowledgements, end-to-end replies, runs, CPU, memory, database size).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use switchboard_store::{SqliteConfig, SqliteStore, Store};

use crate::cli::{Args, Pace, Scenario};
use crate::load::{Endpoint, Expect, PhaseLoad, run_phase};
use crate::machine::{self, Machine};
use crate::radist::Radist;
use crate::report::{Percentiles, Phase, Report};
use crate::service::{self, Service, Workdir};
use crate::traffic::Traffic;
use crate::{e2e, inject, manifests};

/// The longest wait for the service to finish the runs of a phase.
const DRAIN_BOUND: Duration = Duration::from_secs(60);
/// How often the queue is looked at while draining.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// What the harness prints while it works (stderr, beside the progress bars).
pub fn say(text: &str) {
    eprintln!("switchboard-bench: {text}");
}

/// Runs the invocation `args` describes.
pub fn run(args: &Args, rt: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
    let mut report = Report {
        machine: Machine::read(),
        scenario: args.scenario.name().to_owned(),
        target: String::new(),
        startup_ms: None,
        startup_cache_warm: None,
        plugins: 0,
        db_bytes_per_run_checkpointed: None,
        db_bytes_per_event_checkpointed: None,
        phases: Vec::new(),
        notes: vec!["the load generator (1 tokio worker) and the Radist sandbox (1 worker) run on the same machine as the service and share its cores".to_owned()],
    };
    if args.scenario == Scenario::CronStorm {
        report.notes.push(
            "not available: the scheduler has not landed (host/service has no scheduler yet)"
                .to_owned(),
        );
        return Ok(report);
    }
    match &args.url {
        Some(url) => foreign(args, url, rt, &mut report)?,
        None => with_service(args, rt, &mut report)?,
    }
    Ok(report)
}

/// Load on a URL the harness did not start: acknowledgement figures only.
fn foreign(
    args: &Args,
    url: &str,
    rt: &tokio::runtime::Runtime,
    report: &mut Report,
) -> anyhow::Result<()> {
    let endpoint = Endpoint::parse(url)?;
    report.target = url.to_owned();
    let traffic = Traffic::synthetic(args.chats);
    for pace in args.phases() {
        let cpu0 = own_cpu();
        let load = rt.block_on(phase_load(args, &endpoint, &traffic.next_phase(), pace))?;
        let mut phase = ack_figures(&load, args.connections);
        phase.bench_cpu_pct = Some(percent(own_cpu().saturating_sub(cpu0), load.elapsed));
        report.phases.push(phase);
    }
    Ok(())
}

async fn phase_load(
    args: &Args,
    endpoint: &Endpoint,
    traffic: &Arc<Traffic>,
    pace: Pace,
) -> anyhow::Result<PhaseLoad> {
    let bar = progress(&label(pace, args.connections));
    let duration = Duration::from_secs(args.duration_s);
    let load = run_phase(
        endpoint,
        Arc::clone(traffic),
        pace,
        duration,
        args.connections,
        &bar,
    )
    .await;
    bar.finish_and_clear();
    load
}

fn progress(prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{prefix:>16} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(prefix.to_owned());
    bar
}

fn label(pace: Pace, connections: usize) -> String {
    match pace {
        Pace::Open(rate) => format!("open {rate}/s"),
        Pace::Closed => format!("max {connections} conns"),
    }
}

fn ack_figures(load: &PhaseLoad, connections: usize) -> Phase {
    let seconds = load.elapsed.as_secs_f64();
    Phase {
        load: label(load.pace, connections),
        planned: load.planned,
        sent: load.sent,
        acked: load.acked,
        duplicates: load.duplicates,
        errors: load.errors,
        first_error: load.first_error.clone(),
        seconds,
        acked_per_s: load.acked as f64 / seconds.max(1e-9),
        ack_us: Percentiles::of(&load.ack),
        ..Phase::default()
    }
}

/// The harness's own view of the service: Radist, scratch dir, process and its database.
struct Setup {
    radist: Radist,
    work: Workdir,
    service: Option<Service>,
    store: Arc<dyn Store>,
    traffic: Traffic,
    endpoint: Endpoint,
    ticks: u64,
}

fn with_service(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    report: &mut Report,
) -> anyhow::Result<()> {
    let setup = start(args, rt, report)?;
    let mut expects: Vec<Vec<Expect>> = Vec::new();
    for pace in args.phases() {
        let phase = rt.block_on(measure(args, &setup, pace, &mut expects))?;
        report.phases.push(phase);
    }
    stop(setup, rt, report)
}

fn start(args: &Args, rt: &tokio::runtime::Runtime, report: &mut Report) -> anyhow::Result<Setup> {
    let binary = service::binary(args.rebuild, &say)?;
    report.target = binary.display().to_string();
    let radist = Radist::start()?;
    let remote = radist.remote()?;
    let work = Workdir::new(&remote)?;
    report.plugins = write_manifests(args.scenario, &work)?;
    report.startup_cache_warm = Some(service::cache_is_warm());
    say(&format!(
        "starting {} serve ({} plugins)",
        binary.display(),
        report.plugins
    ));
    let service = Service::start(&binary, &work, &remote.api_key)?;
    report.startup_ms = u64::try_from(service.startup.as_millis()).ok();
    let endpoint = Endpoint::parse(&service.webhook)?;
    let store = rt.block_on(open_store(&work))?;
    let traffic = rt.block_on(traffic(args, &radist))?;
    Ok(Setup {
        radist,
        work,
        service: Some(service),
        store,
        traffic,
        endpoint,
        ticks: machine::ticks_per_second(),
    })
}

/// The scenario's manifests; the plugins are built from source first (intake loads none).
fn write_manifests(scenario: Scenario, work: &Workdir) -> anyhow::Result<usize> {
    if scenario == Scenario::Intake {
        return Ok(0);
    }
    say("building the plugins from source (plugins/, wasm32-wasip2)");
    let plugins = switchboard_testing::build_plugins()?;
    manifests::write(scenario, &work.path("manifests"), &plugins)
}

async fn open_store(work: &Workdir) -> anyhow::Result<Arc<dyn Store>> {
    let mut config = SqliteConfig::new(work.path("data/switchboard.db"));
    config.readers = 1;
    let store = SqliteStore::open(config)
        .await
        .context("cannot open the service's database")?;
    Ok(Arc::new(store))
}

/// Intake needs no real chats; the other scenarios reply, so their chats exist in the sandbox.
async fn traffic(args: &Args, radist: &Radist) -> anyhow::Result<Traffic> {
    if args.scenario == Scenario::Intake {
        return Ok(Traffic::synthetic(args.chats));
    }
    say(&format!("creating {} chats in the sandbox", args.chats));
    Ok(Traffic::new(radist.create_chats(args.chats).await?))
}

async fn measure(
    args: &Args,
    setup: &Setup,
    pace: Pace,
    expects: &mut Vec<Vec<Expect>>,
) -> anyhow::Result<Phase> {
    let pid = setup
        .service
        .as_ref()
        .context("the service has stopped")?
        .pid();
    let cpu0 = machine::cpu_time(pid, setup.ticks).unwrap_or_default();
    let done0 = finished_runs(&setup.store).await?;
    let started = Instant::now();
    let injecting = (args.scenario == Scenario::Hostile).then(|| {
        let until = started + Duration::from_secs(args.duration_s);
        tokio::spawn(inject::inject(
            Arc::clone(&setup.store),
            args.hostile_rate,
            until,
        ))
    });
    let bench_cpu0 = own_cpu();
    let load = phase_load(args, &setup.endpoint, &setup.traffic.next_phase(), pace).await?;
    let bench_cpu = own_cpu().saturating_sub(bench_cpu0);
    if let Some(task) = injecting {
        task.await.context("the hostile injector panicked")??;
    }
    let drained = drain(&setup.store, started).await?;
    let mut phase = ack_figures(&load, args.connections);
    phase.bench_cpu_pct = Some(percent(bench_cpu, load.elapsed));
    expects.push(load.expects);
    let cpu = machine::cpu_time(pid, setup.ticks)
        .unwrap_or_default()
        .saturating_sub(cpu0);
    phase.drain_s = Some(drained.as_secs_f64());
    phase.service_cpu_s = Some(cpu.as_secs_f64());
    phase.service_cpu_pct = Some(percent(cpu, drained));
    phase.service_peak_rss_mib = machine::peak_rss_kib(pid).map(|k| k as f64 / 1024.0);
    let done = finished_runs(&setup.store).await?.saturating_sub(done0);
    if args.scenario != Scenario::Intake {
        phase.runs_completed = Some(done);
        phase.runs_per_s = Some(done as f64 / drained.as_secs_f64().max(1e-9));
        replies(setup, expects, &mut phase).await?;
    }
    database(setup, &mut phase).await?;
    if args.scenario == Scenario::Hostile {
        phase.hostile = Some(inject::outcomes(&setup.store).await?);
    }
    Ok(phase)
}

/// This process's CPU time (generator and sandbox).
fn own_cpu() -> Duration {
    machine::cpu_time(std::process::id(), machine::ticks_per_second()).unwrap_or_default()
}

fn percent(cpu: Duration, wall: Duration) -> f64 {
    100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9)
}

/// Waits until no run is queued or running (bounded); returns the time since `started`.
async fn drain(store: &Arc<dyn Store>, started: Instant) -> anyhow::Result<Duration> {
    let bar = progress("draining");
    let deadline = Instant::now() + DRAIN_BOUND;
    loop {
        let depth = store.queue_depth().await?;
        bar.set_message(format!(
            "{} queued, {} running",
            depth.queued, depth.running
        ));
        if depth.queued + depth.running == 0 || Instant::now() >= deadline {
            bar.finish_and_clear();
            return Ok(started.elapsed());
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// Runs in a final state.
async fn finished_runs(store: &Arc<dyn Store>) -> anyhow::Result<u64> {
    let total = table_rows(store, "runs").await?;
    let depth = store.queue_depth().await?;
    Ok(total.saturating_sub(depth.queued + depth.running + depth.retrying))
}

async fn table_rows(store: &Arc<dyn Store>, table: &str) -> anyhow::Result<u64> {
    let stats = store.stats().await?;
    Ok(stats
        .rows
        .iter()
        .find(|(t, _)| t == table)
        .map_or(0, |(_, n)| *n))
}

async fn replies(setup: &Setup, expects: &[Vec<Expect>], phase: &mut Phase) -> anyhow::Result<()> {
    let replies = setup.radist.replies().await?;
    let pairing = e2e::pair_last(expects, &replies);
    phase.e2e_matched = pairing.matched;
    phase.e2e_missing = pairing.missing;
    phase.e2e_us = (pairing.matched > 0).then(|| Percentiles::of(&pairing.latency));
    Ok(())
}

async fn database(setup: &Setup, phase: &mut Phase) -> anyhow::Result<()> {
    let bytes = setup.work.database_bytes();
    let runs = table_rows(&setup.store, "runs").await?;
    let events = table_rows(&setup.store, "events").await?;
    phase.db_bytes = Some(bytes);
    phase.db_bytes_per_run = (runs > 0).then(|| bytes as f64 / runs as f64);
    phase.db_bytes_per_event = (events > 0).then(|| bytes as f64 / events as f64);
    Ok(())
}

fn stop(mut setup: Setup, rt: &tokio::runtime::Runtime, report: &mut Report) -> anyhow::Result<()> {
    if let Some(service) = setup.service.take() {
        let (status, tail) = service.stop()?;
        if !status.success() {
            report
                .notes
                .push(format!("the service exited {status}: {tail}"));
        }
    }
    let runs = rt.block_on(table_rows(&setup.store, "runs"))?;
    let events = rt.block_on(table_rows(&setup.store, "events"))?;
    let bytes = setup.work.database_bytes();
    report.db_bytes_per_run_checkpointed = (runs > 0).then(|| bytes as f64 / runs as f64);
    report.db_bytes_per_event_checkpointed = (events > 0).then(|| bytes as f64 / events as f64);
    drop(setup);
    Ok(())
}
