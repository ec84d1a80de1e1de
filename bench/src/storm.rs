//! The cron storm: every storm schedule fires on the same slot. The harness waits for the slot,
//! then until each schedule has fired and the queue is empty (bounded), and reads from the store
//! how many slots fired (per schedule: once, more, never), and for each `schedule.fired` run the
//! time from the slot to the scheduler pass that fired it (the run's `created_at`), its first
//! attempt's start and its last attempt's end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use switchboard_store::{MAX_PAGE, RunFilter, RunStatus, RunSummary, Store};

use crate::load::histogram;
use crate::machine;
use crate::report::{Percentiles, Storm};

/// The prefix of the storm's plugin names (and so of their schedule keys).
pub const PREFIX: &str = "storm-";
/// The longest wait after the slot for every schedule to fire and every run to finish.
const SETTLE_BOUND: Duration = Duration::from_secs(120);
/// How often the store is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

/// The service processes (nodes) the storm runs in.
pub struct Target {
    pub pids: Vec<u32>,
    pub ticks: u64,
}

impl Target {
    /// CPU time of every node, summed.
    fn cpu(&self) -> Duration {
        self.pids
            .iter()
            .filter_map(|&pid| machine::cpu_time(pid, self.ticks))
            .sum()
    }

    /// A memory figure (KiB) summed over the nodes.
    fn sum_mib(&self, read: fn(u32) -> Option<u64>) -> Option<f64> {
        let kib: Option<u64> = self.pids.iter().map(|&pid| read(pid)).sum();
        kib.map(|k| k as f64 / 1024.0)
    }
}

/// Waits for `slot`, then for the storm to settle, and measures it.
pub async fn measure(
    store: &Arc<dyn Store>,
    target: &Target,
    schedules: usize,
    slot: DateTime<Utc>,
) -> anyhow::Result<Storm> {
    let wait = (slot - Utc::now()).to_std().unwrap_or_default();
    anyhow::ensure!(
        !wait.is_zero(),
        "the service started after the storm's slot {slot}; raise --storm-lead-s"
    );
    crate::report::say(&format!(
        "waiting {:.1} s for the slot {slot}",
        wait.as_secs_f64()
    ));
    // The storm's slot is a wall-clock instant: waiting for it is the scenario itself.
    tokio::time::sleep(wait.saturating_sub(Duration::from_millis(200))).await;
    let idle_rss = target.sum_mib(machine::rss_kib);
    let cpu0 = target.cpu();
    settle(store, schedules).await?;
    let cpu = target.cpu().saturating_sub(cpu0);
    let mut storm = figures(store, schedules, slot).await?;
    storm.idle_rss_mib = idle_rss;
    storm.peak_rss_mib = target.sum_mib(machine::peak_rss_kib);
    storm.service_cpu_s = cpu.as_secs_f64();
    let busy = storm.finish_us.max.max(1) as f64 / 1e6;
    storm.service_cpu_pct = 100.0 * storm.service_cpu_s / busy;
    Ok(storm)
}

/// Until every storm schedule has a handled slot and nothing is queued or running (bounded).
async fn settle(store: &Arc<dyn Store>, schedules: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + SETTLE_BOUND;
    while Instant::now() < deadline {
        let fired: u64 = storm_states(store).await?.iter().map(|s| s.fired).sum();
        let depth = store.queue_depth().await?;
        let idle = depth.queued + depth.running + depth.retrying == 0;
        if fired >= schedules as u64 && idle {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    crate::report::say("the storm did not settle within 120 s; reporting what happened");
    Ok(())
}

async fn storm_states(
    store: &Arc<dyn Store>,
) -> anyhow::Result<Vec<switchboard_store::ScheduleState>> {
    let states = store.schedule_states().await?;
    Ok(states
        .into_iter()
        .filter(|s| s.schedule_key.starts_with(PREFIX))
        .collect())
}

async fn figures(
    store: &Arc<dyn Store>,
    schedules: usize,
    slot: DateTime<Utc>,
) -> anyhow::Result<Storm> {
    let states = storm_states(store).await?;
    let once = states.iter().filter(|s| s.fired == 1).count() as u64;
    let more = states.iter().filter(|s| s.fired > 1).count() as u64;
    let runs = storm_runs(store, slot).await?;
    let mut times = Times::new();
    for run in &runs {
        times.add(store, run, slot).await?;
    }
    let runs_per_s = runs.len() as f64 / (times.finish.max().max(1) as f64 / 1e6);
    Ok(Storm {
        schedules,
        slot: slot.to_rfc3339(),
        slots_fired: states.iter().map(|s| s.fired).sum(),
        schedules_fired_once: once,
        schedules_fired_twice_or_more: more,
        schedules_not_fired: (schedules as u64).saturating_sub(once + more),
        runs: runs.len() as u64,
        runs_succeeded: runs
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count() as u64,
        pass_clock_us: Percentiles::of(&times.pass_clock),
        start_us: Percentiles::of(&times.start),
        finish_us: Percentiles::of(&times.finish),
        runs_per_s,
        ..Storm::default()
    })
}

/// The storm's schedule runs (created from a minute before the slot on), every page of them.
async fn storm_runs(
    store: &Arc<dyn Store>,
    slot: DateTime<Utc>,
) -> anyhow::Result<Vec<RunSummary>> {
    let mut runs: Vec<RunSummary> = Vec::new();
    loop {
        let filter = RunFilter {
            since: Some(slot - chrono::Duration::minutes(1)),
            limit: MAX_PAGE,
            before: runs.last().map(|r| r.run_id),
            ..RunFilter::default()
        };
        let page = store.list_runs(filter).await?;
        let full = page.len() == MAX_PAGE;
        runs.extend(page);
        if !full {
            break;
        }
    }
    Ok(runs
        .into_iter()
        .filter(|r| r.origin == "schedule" && r.plugin.starts_with(PREFIX))
        .collect())
}

/// Latencies from the slot, µs.
struct Times {
    pass_clock: Histogram<u64>,
    start: Histogram<u64>,
    finish: Histogram<u64>,
}

impl Times {
    fn new() -> Times {
        Times {
            pass_clock: histogram(),
            start: histogram(),
            finish: histogram(),
        }
    }

    async fn add(
        &mut self,
        store: &Arc<dyn Store>,
        run: &RunSummary,
        slot: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        record(&mut self.pass_clock, run.created_at, slot);
        let Some(detail) = store.get_run(run.run_id).await? else {
            return Ok(());
        };
        if let Some(first) = detail.attempts.first() {
            record(&mut self.start, first.started_at, slot);
        }
        if let Some(last) = detail.attempts.last() {
            let took = chrono::Duration::microseconds(i64::try_from(last.duration_us).unwrap_or(0));
            record(&mut self.finish, last.started_at + took, slot);
        }
        Ok(())
    }
}

fn record(into: &mut Histogram<u64>, at: DateTime<Utc>, slot: DateTime<Utc>) {
    let us = (at - slot).num_microseconds().unwrap_or(0);
    into.saturating_record(u64::try_from(us).unwrap_or(0).max(1));
}
