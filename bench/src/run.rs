//! One benchmark invocation: set up Radist, the store (a SQLite file, or a throwaway PostgreSQL
//! server), one or more service processes and their plugins for the scenario, run each phase of
//! load (spread round-robin over the nodes), wait for the service to finish the runs it
//! acknowledged, and collect the figures (acknowledgements, end-to-end replies, runs, CPU and
//! memory per node and of PostgreSQL, database size and work). The cron storm has no load phase:
//! it waits for the slot its schedules share and measures that (see `storm`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use switchboard_store::{PostgresConfig, PostgresStore, SqliteConfig, SqliteStore, Store};

use crate::cli::{Args, Pace, Scenario, StoreKind};
use crate::load::{Endpoint, Expect, PhaseLoad, run_phase};
use crate::machine::{self, Machine};
use crate::pg::{PgCounters, PgServer};
use crate::radist::Radist;
use crate::report::{NodeCost, Percentiles, PgPhase, PgTotal, Phase, Report, Startup, say};
use crate::service::{self, Service, ServiceConfig, Workdir};
use crate::traffic::Traffic;
use crate::{e2e, inject, manifests, storm};

/// The longest wait for the service to finish the runs of a phase.
const DRAIN_BOUND: Duration = Duration::from_secs(60);
/// How often the queue is looked at while draining.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Runs the invocation `args` describes.
pub fn run(args: &Args, rt: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
    let mut report = Report {
        machine: Machine::read(),
        scenario: match args.lang.port() {
            Some((port, _)) if args.scenario == Scenario::E2e => format!("e2e ({port})"),
            _ => args.scenario.name().to_owned(),
        },
        store: format!(
            "{} (durability {}{})",
            args.store.name(),
            args.durability.name(),
            args.max_concurrent_runs
                .map(|n| format!(", max_concurrent_runs {n}"))
                .unwrap_or_default()
        ),
        nodes: args.nodes,
        commit: commit(),
        target: String::new(),
        startup: Startup::default(),
        plugins: 0,
        db_bytes_per_run_checkpointed: None,
        db_bytes_per_event_checkpointed: None,
        postgres_total: None,
        storm: None,
        phases: Vec::new(),
        notes: vec!["the load generator (1 tokio worker) and the Radist sandbox (1 worker) run on the same machine as the service and share its cores".to_owned()],
    };
    anyhow::ensure!(
        args.url.is_none() || args.scenario != Scenario::CronStorm,
        "the cron storm needs a service the harness starts: drop --url"
    );
    match &args.url {
        Some(url) => foreign(args, url, rt, &mut report)?,
        None => with_service(args, rt, &mut report)?,
    }
    Ok(report)
}

/// The commit the working tree is at (`git log -1 --format=%h`), with `+dirty` when it has
/// uncommitted changes.
fn commit() -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(switchboard_testing::repo_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let hash = git(&["log", "-1", "--format=%h"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{hash}+dirty") } else { hash })
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
        let endpoints = [endpoint.clone()];
        let load = rt.block_on(phase_load(args, &endpoints, &traffic.next_phase(), pace))?;
        let mut phase = ack_figures(&load, args.connections);
        phase.bench_cpu_pct = Some(percent(own_cpu().saturating_sub(cpu0), load.elapsed));
        report.phases.push(phase);
    }
    Ok(())
}

async fn phase_load(
    args: &Args,
    endpoints: &[Endpoint],
    traffic: &Arc<Traffic>,
    pace: Pace,
) -> anyhow::Result<PhaseLoad> {
    let bar = progress(&label(pace, args.connections));
    let duration = Duration::from_secs(args.duration_s);
    let load = run_phase(
        endpoints,
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
        tally: load.tally.clone(),
        seconds,
        acked_per_s: load.tally.acked as f64 / seconds.max(1e-9),
        ack_us: Percentiles::of(&load.ack),
        ..Phase::default()
    }
}

/// The harness's own view of the service: Radist, scratch dir, processes and their store.
/// Fields drop in order: the nodes stop before the store and PostgreSQL go away.
struct Setup {
    nodes: Vec<Service>,
    store: Arc<dyn Store>,
    pg: Option<PgServer>,
    radist: Radist,
    work: Workdir,
    traffic: Traffic,
    endpoints: Vec<Endpoint>,
    ticks: u64,
    /// PostgreSQL's counters once every node had started (before any load).
    pg_baseline: PgCounters,
    /// The cron storm's slot.
    slot: Option<DateTime<Utc>>,
}

fn with_service(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    report: &mut Report,
) -> anyhow::Result<()> {
    let setup = start(args, rt, report)?;
    if let Some(slot) = setup.slot {
        let target = storm::Target {
            pids: setup.nodes.iter().map(Service::pid).collect(),
            ticks: setup.ticks,
        };
        let figures = storm::measure(&setup.store, &target, args.schedules, slot);
        report.storm = Some(rt.block_on(figures)?);
    }
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
    let pg = match args.store {
        StoreKind::Sqlite => None,
        StoreKind::Postgres => {
            say("starting a throwaway PostgreSQL 15 server");
            Some(rt.block_on(PgServer::start())?)
        }
    };
    let database_url = pg.as_ref().map(|pg| pg.url(crate::pg::DATABASE));
    let radist = Radist::start()?;
    let remote = radist.remote()?;
    let config = ServiceConfig {
        store: args.store,
        durability: args.durability,
        max_concurrent_runs: args.max_concurrent_runs,
    };
    let work = Workdir::new(&remote, &config, args.nodes)?;
    let slot = (args.scenario == Scenario::CronStorm).then(|| storm_slot(args.storm_lead_s));
    report.plugins = write_manifests(args, &work, slot)?;
    report.startup.cache_warm = Some(service::cache_is_warm());
    let mut nodes = Vec::with_capacity(args.nodes);
    for node in 1..=args.nodes {
        say(&format!(
            "starting {} serve as node bench-{node} ({} plugins, {} store)",
            binary.display(),
            report.plugins,
            args.store.name()
        ));
        let config = work.config(node);
        let service = Service::start(&binary, &config, &remote.api_key, database_url.as_deref())?;
        let ms = u64::try_from(service.startup.as_millis()).unwrap_or(u64::MAX);
        report.startup.ms = Some(report.startup.ms.unwrap_or(0).max(ms));
        nodes.push(service);
    }
    let endpoints = nodes
        .iter()
        .map(|n| Endpoint::parse(&n.webhook))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = rt.block_on(open_store(&work, database_url.as_deref()))?;
    let traffic = rt.block_on(traffic(args, &radist))?;
    let pg_baseline = match &pg {
        Some(pg) => rt.block_on(pg.counters())?,
        None => PgCounters::default(),
    };
    Ok(Setup {
        nodes,
        store,
        pg,
        radist,
        work,
        traffic,
        endpoints,
        ticks: machine::ticks_per_second(),
        pg_baseline,
        slot,
    })
}

/// The storm's slot: `lead_s` from now, on a whole second.
fn storm_slot(lead_s: u64) -> DateTime<Utc> {
    let at = Utc::now() + chrono::Duration::seconds(i64::try_from(lead_s).unwrap_or(30) + 1);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// The scenario's manifests; the plugins are built from source first (intake loads none).
fn write_manifests(
    args: &Args,
    work: &Workdir,
    slot: Option<DateTime<Utc>>,
) -> anyhow::Result<usize> {
    if args.scenario == Scenario::Intake {
        return Ok(0);
    }
    say("building the plugins from source (plugins/, wasm32-wasip2)");
    let plugins = switchboard_testing::build_plugins()?;
    let dir = work.path("manifests");
    match slot {
        Some(slot) => manifests::write_storm(&dir, &plugins, args.schedules, slot),
        None => manifests::write(args.scenario, &dir, &plugins, args.lang),
    }
}

/// The harness's own connection to the service's database, for counts and sizes. It only reads:
/// without `index_words = false` it would run a word indexer of its own, whose write
/// transactions (another process's, on SQLite) held the service's writer up to 200 ms.
async fn open_store(work: &Workdir, database_url: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = database_url {
        let mut config = PostgresConfig::new(url);
        config.pool_size = 2;
        config.index_words = false;
        let store = PostgresStore::connect(config)
            .await
            .context("cannot open the service's PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    let mut config = SqliteConfig::new(work.path("data/switchboard.db"));
    config.readers = 1;
    config.index_words = false;
    let store = SqliteStore::open(config)
        .await
        .context("cannot open the service's database")?;
    Ok(Arc::new(store))
}

/// Intake and the storm need no real chats; the other scenarios reply, so their chats exist
/// in the sandbox.
async fn traffic(args: &Args, radist: &Radist) -> anyhow::Result<Traffic> {
    if matches!(args.scenario, Scenario::Intake | Scenario::CronStorm) {
        return Ok(Traffic::synthetic(args.chats));
    }
    say(&format!("creating {} chats in the sandbox", args.chats));
    Ok(Traffic::new(radist.create_chats(args.chats).await?))
}

/// CPU time of each node and of PostgreSQL at one instant.
struct Costs {
    nodes: Vec<Duration>,
    pg: Option<Duration>,
}

fn costs(setup: &Setup) -> Costs {
    Costs {
        nodes: setup
            .nodes
            .iter()
            .map(|n| machine::cpu_time(n.pid(), setup.ticks).unwrap_or_default())
            .collect(),
        pg: setup.pg.as_ref().and_then(|pg| pg.cpu_time(setup.ticks)),
    }
}

async fn measure(
    args: &Args,
    setup: &Setup,
    pace: Pace,
    expects: &mut Vec<Vec<Expect>>,
) -> anyhow::Result<Phase> {
    let costs0 = costs(setup);
    let pg0 = pg_counters(setup).await?;
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
    let load = phase_load(args, &setup.endpoints, &setup.traffic.next_phase(), pace).await?;
    let bench_cpu = own_cpu().saturating_sub(bench_cpu0);
    if let Some(task) = injecting {
        task.await.context("the hostile injector panicked")??;
    }
    let drained = drain(&setup.store, started).await?;
    let mut phase = ack_figures(&load, args.connections);
    phase.bench_cpu_pct = Some(percent(bench_cpu, load.elapsed));
    expects.push(load.expects);
    phase.drain_s = Some(drained.as_secs_f64());
    node_costs(setup, &costs0, drained, &mut phase);
    let done = finished_runs(&setup.store).await?.saturating_sub(done0);
    if args.scenario != Scenario::Intake {
        phase.runs_completed = Some(done);
        phase.runs_per_s = Some(done as f64 / drained.as_secs_f64().max(1e-9));
        replies(setup, expects, &mut phase).await?;
    }
    per_unit(&mut phase);
    if let (Some(pg0), Some(cpu0)) = (pg0, costs0.pg) {
        phase.postgres = Some(pg_phase(setup, pg0, cpu0, drained).await?);
    }
    database(setup, &mut phase).await?;
    if args.scenario == Scenario::Hostile {
        phase.hostile = Some(inject::outcomes(&setup.store).await?);
    }
    Ok(phase)
}

/// Each node's CPU over the phase and peak memory; the service figures are their sum (CPU)
/// and the largest peak (memory).
fn node_costs(setup: &Setup, before: &Costs, wall: Duration, phase: &mut Phase) {
    let now = costs(setup);
    for (i, (node, cpu0)) in setup.nodes.iter().zip(&before.nodes).enumerate() {
        let cpu = now
            .nodes
            .get(i)
            .copied()
            .unwrap_or_default()
            .saturating_sub(*cpu0);
        phase.nodes.push(NodeCost {
            node: format!("bench-{}", i + 1),
            cpu_s: cpu.as_secs_f64(),
            cpu_pct: percent(cpu, wall),
            peak_rss_mib: machine::peak_rss_kib(node.pid()).map(|k| k as f64 / 1024.0),
        });
    }
    let cpu: f64 = phase.nodes.iter().map(|n| n.cpu_s).sum();
    phase.service_cpu_s = Some(cpu);
    phase.service_cpu_pct = Some(100.0 * cpu / wall.as_secs_f64().max(1e-9));
    phase.service_peak_rss_mib = phase
        .nodes
        .iter()
        .filter_map(|n| n.peak_rss_mib)
        .reduce(f64::max);
}

/// Service CPU per acknowledged webhook and per completed run.
fn per_unit(phase: &mut Phase) {
    let cpu_ms = phase.service_cpu_s.unwrap_or(0.0) * 1000.0;
    phase.cpu_ms_per_webhook = (phase.tally.acked > 0).then(|| cpu_ms / phase.tally.acked as f64);
    phase.cpu_ms_per_run = phase
        .runs_completed
        .filter(|&r| r > 0)
        .map(|r| cpu_ms / r as f64);
}

async fn pg_counters(setup: &Setup) -> anyhow::Result<Option<PgCounters>> {
    match &setup.pg {
        Some(pg) => Ok(Some(pg.counters().await?)),
        None => Ok(None),
    }
}

async fn pg_phase(
    setup: &Setup,
    before: PgCounters,
    cpu0: Duration,
    wall: Duration,
) -> anyhow::Result<PgPhase> {
    let pg = setup.pg.as_ref().context("no PostgreSQL server")?;
    let counters = pg.counters().await?.since(before);
    let cpu = pg
        .cpu_time(setup.ticks)
        .unwrap_or_default()
        .saturating_sub(cpu0);
    Ok(PgPhase {
        cpu_s: cpu.as_secs_f64(),
        cpu_pct: percent(cpu, wall),
        commits_per_s: counters.commits as f64 / wall.as_secs_f64().max(1e-9),
        counters,
    })
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

/// The database's size now: the SQLite file and its WAL, or how much PostgreSQL's database
/// grew since the nodes started (an empty database with the schema is about 8 MB).
async fn database_bytes(setup: &Setup) -> anyhow::Result<u64> {
    match &setup.pg {
        Some(pg) => Ok(pg.counters().await?.since(setup.pg_baseline).db_bytes),
        None => Ok(setup.work.database_bytes()),
    }
}

async fn database(setup: &Setup, phase: &mut Phase) -> anyhow::Result<()> {
    let bytes = database_bytes(setup).await?;
    let runs = table_rows(&setup.store, "runs").await?;
    let events = table_rows(&setup.store, "events").await?;
    phase.db_bytes = Some(bytes);
    phase.db_bytes_per_run = (runs > 0).then(|| bytes as f64 / runs as f64);
    phase.db_bytes_per_event = (events > 0).then(|| bytes as f64 / events as f64);
    Ok(())
}

fn stop(mut setup: Setup, rt: &tokio::runtime::Runtime, report: &mut Report) -> anyhow::Result<()> {
    for (i, service) in std::mem::take(&mut setup.nodes).into_iter().enumerate() {
        let (status, tail) = service.stop()?;
        if !status.success() {
            report
                .notes
                .push(format!("node bench-{} exited {status}: {tail}", i + 1));
        }
    }
    let runs = rt.block_on(table_rows(&setup.store, "runs"))?;
    let events = rt.block_on(table_rows(&setup.store, "events"))?;
    let bytes = rt.block_on(database_bytes(&setup))?;
    report.db_bytes_per_run_checkpointed = (runs > 0).then(|| bytes as f64 / runs as f64);
    report.db_bytes_per_event_checkpointed = (events > 0).then(|| bytes as f64 / events as f64);
    if let Some(pg) = &setup.pg {
        let counters = rt.block_on(pg.counters())?.since(setup.pg_baseline);
        report.postgres_total = Some(pg_total(counters, events, runs));
    }
    drop(setup);
    Ok(())
}

/// PostgreSQL's work per event and per run (the nodes have exited, so their statistics are in).
fn pg_total(counters: PgCounters, events: u64, runs: u64) -> PgTotal {
    let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    PgTotal {
        counters,
        events,
        runs,
        commits_per_event: per(counters.commits, events),
        rows_written_per_event: per(counters.rows_written, events),
        wal_bytes_per_event: per(counters.wal_bytes, events),
        wal_bytes_per_run: per(counters.wal_bytes, runs),
        db_bytes_per_run: per(counters.db_bytes, runs),
    }
}
