//! The figures of a benchmark run: one row per phase, rendered as a table or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::load::Tally;
use crate::machine::Machine;
use crate::pg::PgCounters;

/// What the harness prints while it works (stderr, beside the progress bars).
pub fn say(text: &str) {
    eprintln!("switchboard-bench: {text}");
}

/// Everything one invocation measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub scenario: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Service processes sharing the store.
    pub nodes: usize,
    /// The commit the service was built from (`git log -1 --format=%h`), when known.
    pub commit: Option<String>,
    /// The service binary measured, or the foreign URL.
    pub target: String,
    #[serde(flatten)]
    pub startup: Startup,
    pub plugins: usize,
    pub phases: Vec<Phase>,
    /// The database file after the service's shutdown checkpoint (WAL folded in), per run.
    pub db_bytes_per_run_checkpointed: Option<f64>,
    pub db_bytes_per_event_checkpointed: Option<f64>,
    /// PostgreSQL's work over every phase, read after the nodes stopped (exact counts).
    pub postgres_total: Option<PgTotal>,
    /// The cron storm's figures (scenario `cron-storm`).
    pub storm: Option<Storm>,
    pub notes: Vec<String>,
}

/// The service's start-up, none for a foreign URL (JSON keys `startup_ms`, `startup_cache_warm`).
#[derive(Debug, Default, Serialize)]
pub struct Startup {
    /// Start-up to "admin API" announced, ms: the slowest node.
    #[serde(rename = "startup_ms")]
    pub ms: Option<u64>,
    /// Whether the compiled-component cache was warm when the nodes started.
    #[serde(rename = "startup_cache_warm")]
    pub cache_warm: Option<bool>,
}

/// What one service process (node) cost in a phase.
#[derive(Debug, Default, Clone, Serialize)]
pub struct NodeCost {
    pub node: String,
    pub cpu_s: f64,
    /// CPU time over the phase's wall time (100% = one core).
    pub cpu_pct: f64,
    pub peak_rss_mib: Option<f64>,
}

/// What PostgreSQL did in a phase.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PgPhase {
    /// The postmaster and all its processes, over the phase's wall time.
    pub cpu_s: f64,
    pub cpu_pct: f64,
    pub counters: PgCounters,
    /// Committed transactions per second of the phase (the statistics lag about a second).
    pub commits_per_s: f64,
}

/// PostgreSQL's work over the whole invocation, per webhook and per run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PgTotal {
    pub counters: PgCounters,
    pub events: u64,
    pub runs: u64,
    pub commits_per_event: Option<f64>,
    pub rows_written_per_event: Option<f64>,
    pub wal_bytes_per_event: Option<f64>,
    pub wal_bytes_per_run: Option<f64>,
    /// The database's growth per run.
    pub db_bytes_per_run: Option<f64>,
}

/// The cron storm: `schedules` cron triggers on the same slot.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Storm {
    pub schedules: usize,
    /// The slot every schedule fires at (RFC 3339).
    pub slot: String,
    /// Slots fired, summed over the storm's schedules (`schedule_states`).
    pub slots_fired: u64,
    pub schedules_fired_once: u64,
    pub schedules_fired_twice_or_more: u64,
    pub schedules_not_fired: u64,
    /// `schedule.fired` runs in the store, and how many succeeded.
    pub runs: u64,
    pub runs_succeeded: u64,
    /// From the slot to the scheduler's clock reading for the pass that fired it (the runs'
    /// `created_at`; one pass fires every schedule due, so these are nearly all equal), µs.
    pub pass_clock_us: Percentiles,
    /// From the slot to the run's first attempt starting, µs.
    pub start_us: Percentiles,
    /// From the slot to the run's last attempt finishing, µs.
    pub finish_us: Percentiles,
    /// Runs finished over the time from the slot to the last finish.
    pub runs_per_s: f64,
    /// The service's CPU (all nodes) from the slot until every run finished.
    pub service_cpu_s: f64,
    pub service_cpu_pct: f64,
    /// Peak resident memory, summed over the nodes.
    pub peak_rss_mib: Option<f64>,
    /// Resident memory just before the slot (all plugins loaded, idle), summed over the nodes.
    pub idle_rss_mib: Option<f64>,
}

/// One phase of load.
#[derive(Debug, Default, Serialize)]
pub struct Phase {
    /// `open 5000/s` or `max 64 conns`.
    pub load: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub seconds: f64,
    pub acked_per_s: f64,
    pub ack_us: Percentiles,
    pub e2e_us: Option<Percentiles>,
    pub e2e_matched: u64,
    pub e2e_missing: u64,
    pub runs_completed: Option<u64>,
    pub runs_per_s: Option<f64>,
    /// Seconds from the phase's start until the service's queue was empty.
    pub drain_s: Option<f64>,
    pub service_cpu_s: Option<f64>,
    /// Service CPU time over wall time (200% = both cores).
    pub service_cpu_pct: Option<f64>,
    pub service_peak_rss_mib: Option<f64>,
    /// The harness's own CPU (generator and sandbox) over the load's wall time.
    pub bench_cpu_pct: Option<f64>,
    pub db_bytes: Option<u64>,
    pub db_bytes_per_run: Option<f64>,
    pub db_bytes_per_event: Option<f64>,
    /// Hostile runs by final status (hostile scenario).
    pub hostile: Option<BTreeMap<String, u64>>,
    /// Each node's CPU and memory (the `service_*` figures are their sum and largest peak).
    pub nodes: Vec<NodeCost>,
    /// Service CPU (all nodes) per acknowledged webhook and per completed run, ms.
    pub cpu_ms_per_webhook: Option<f64>,
    pub cpu_ms_per_run: Option<f64>,
    pub postgres: Option<PgPhase>,
}

/// Latency percentiles in µs.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

impl Report {
    /// JSON or the table, on `out`.
    pub fn write(&self, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
        if json {
            serde_json::to_writer_pretty(&mut *out, self)?;
            writeln!(out)?;
            return Ok(());
        }
        self.table(out)
    }

    fn table(&self, out: &mut dyn Write) -> anyhow::Result<()> {
        let m = &self.machine;
        writeln!(
            out,
            "scenario {}  ({} plugins)  store {}  nodes {}  target {}  commit {}",
            self.scenario,
            self.plugins,
            self.store,
            self.nodes,
            self.target,
            self.commit.as_deref().unwrap_or("?")
        )?;
        writeln!(
            out,
            "machine: {} cpus, {}, {} MiB; generator and service share it",
            m.cpus, m.cpu_model, m.memory_mib
        )?;
        if let Some(ms) = self.startup.ms {
            let warm = if self.startup.cache_warm == Some(true) {
                "warm"
            } else {
                "cold"
            };
            writeln!(out, "start-up: {ms} ms (compile cache {warm})")?;
        }
        writeln!(
            out,
            "{:<16} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>8}",
            "load",
            "acked/s",
            "errors",
            "ack p50",
            "ack p99",
            "ack p99.9",
            "e2e p50",
            "e2e p99",
            "runs/s",
            "cpu%",
            "rss MiB",
            "db B/run"
        )?;
        for p in &self.phases {
            writeln!(out, "{}", row(p))?;
        }
        for p in &self.phases {
            details(p, out)?;
        }
        if let Some(storm) = &self.storm {
            storm_table(storm, out)?;
        }
        if let Some(t) = &self.postgres_total {
            writeln!(
                out,
                "postgres over all phases: {} events, {} runs; {} commits/event, {} rows written/event, {} WAL bytes/event, {} WAL bytes/run, database growth {} B/run",
                t.events,
                t.runs,
                opt(t.commits_per_event, 2),
                opt(t.rows_written_per_event, 2),
                opt(t.wal_bytes_per_event, 0),
                opt(t.wal_bytes_per_run, 0),
                opt(t.db_bytes_per_run, 0)
            )?;
        }
        if let Some(e) = self.db_bytes_per_event_checkpointed {
            let per_run = self.db_bytes_per_run_checkpointed;
            let per_run = per_run.map_or("-".to_owned(), |r| format!("{r:.0}"));
            writeln!(
                out,
                "database after the shutdown checkpoint: {e:.0} bytes per event, {per_run} per run"
            )?;
        }
        for note in &self.notes {
            writeln!(out, "note: {note}")?;
        }
        Ok(())
    }
}

fn row(p: &Phase) -> String {
    let e2e = |f: fn(&Percentiles) -> u64| p.e2e_us.as_ref().map_or("-".to_owned(), |e| ms(f(e)));
    format!(
        "{:<16} {:>9.0} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>8}",
        p.load,
        p.acked_per_s,
        p.tally.errors,
        ms(p.ack_us.p50),
        ms(p.ack_us.p99),
        ms(p.ack_us.p999),
        e2e(|e| e.p50),
        e2e(|e| e.p99),
        opt(p.runs_per_s, 0),
        opt(p.service_cpu_pct, 0),
        opt(p.service_peak_rss_mib, 1),
        opt(p.db_bytes_per_run.or(p.db_bytes_per_event), 0),
    )
}

fn details(p: &Phase, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}: planned {} sent {} acked {} (duplicates {}) errors {} in {:.1} s; ack max {}",
        p.load,
        p.tally.planned,
        p.tally.sent,
        p.tally.acked,
        p.tally.duplicates,
        p.tally.errors,
        p.seconds,
        ms(p.ack_us.max)
    )?;
    if let Some(e) = &p.tally.first_error {
        writeln!(out, "  first error: {e}")?;
    }
    if p.e2e_us.is_some() {
        writeln!(
            out,
            "  replies matched {} missing {}; queue drained after {:.1} s; {} runs completed",
            p.e2e_matched,
            p.e2e_missing,
            p.drain_s.unwrap_or(0.0),
            p.runs_completed.unwrap_or(0)
        )?;
    }
    if let (Some(b), Some(cpu)) = (p.db_bytes, p.service_cpu_s) {
        writeln!(
            out,
            "  service cpu {cpu:.1} s; database {b} bytes ({} B/event)",
            p.db_bytes_per_event
                .map_or("-".to_owned(), |v| format!("{v:.0}"))
        )?;
    }
    if let Some(cpu) = p.bench_cpu_pct {
        writeln!(
            out,
            "  harness (generator + sandbox) cpu {cpu:.0}% during the load"
        )?;
    }
    if let Some(h) = &p.hostile {
        writeln!(out, "  hostile runs by status: {h:?}")?;
    }
    let per = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    writeln!(
        out,
        "  service cpu per webhook {} ms, per run {} ms",
        per(p.cpu_ms_per_webhook),
        per(p.cpu_ms_per_run)
    )?;
    for n in p.nodes.iter().filter(|_| p.nodes.len() > 1) {
        let rss = n.peak_rss_mib.map_or("-".to_owned(), |r| format!("{r:.1}"));
        writeln!(
            out,
            "  node {}: cpu {:.1} s ({:.0}%), peak rss {rss} MiB",
            n.node, n.cpu_s, n.cpu_pct
        )?;
    }
    if let Some(pg) = &p.postgres {
        let c = &pg.counters;
        writeln!(
            out,
            "  postgres: cpu {:.1} s ({:.0}%), {} commits ({:.0}/s), {} rows written, {} WAL bytes, database {} bytes",
            pg.cpu_s,
            pg.cpu_pct,
            c.commits,
            pg.commits_per_s,
            c.rows_written,
            c.wal_bytes,
            c.db_bytes
        )?;
    }
    Ok(())
}

fn storm_table(s: &Storm, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "cron storm: {} schedules on slot {}: {} slots fired ({} schedules once, {} twice or more, {} never); {} runs, {} succeeded",
        s.schedules,
        s.slot,
        s.slots_fired,
        s.schedules_fired_once,
        s.schedules_fired_twice_or_more,
        s.schedules_not_fired,
        s.runs,
        s.runs_succeeded
    )?;
    writeln!(
        out,
        "{:<22} {:>9} {:>9} {:>9} {:>9}",
        "from the slot to", "p50", "p99", "p99.9", "max"
    )?;
    for (name, p) in [
        ("scheduler pass clock", &s.pass_clock_us),
        ("run started", &s.start_us),
        ("run finished", &s.finish_us),
    ] {
        writeln!(
            out,
            "{name:<22} {:>9} {:>9} {:>9} {:>9}",
            ms(p.p50),
            ms(p.p99),
            ms(p.p999),
            ms(p.max)
        )?;
    }
    let rss = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    writeln!(
        out,
        "{:.0} runs/s; service cpu {:.2} s ({:.0}%) from the slot to the last finish; rss idle {} MiB, peak {} MiB",
        s.runs_per_s,
        s.service_cpu_s,
        s.service_cpu_pct,
        rss(s.idle_rss_mib),
        rss(s.peak_rss_mib)
    )?;
    Ok(())
}

/// A figure with `digits` decimals, or `-`.
fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
}

/// µs as milliseconds with two decimals.
fn ms(us: u64) -> String {
    format!("{:.2}ms", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_writes_its_tally_at_the_top_level_of_its_json() {
        let phase = Phase {
            load: "open 10/s".to_owned(),
            tally: Tally {
                planned: 5,
                acked: 4,
                first_error: Some("refused".to_owned()),
                ..Tally::default()
            },
            ..Phase::default()
        };
        let json = serde_json::to_value(&phase).expect("a phase serializes");
        assert_eq!(json["planned"], 5);
        assert_eq!(json["acked"], 4);
        assert_eq!(json["first_error"], "refused");
        assert!(json.get("tally").is_none(), "{json}");
    }

    #[test]
    fn the_startup_keeps_its_report_keys() {
        let startup = Startup {
            ms: Some(850),
            cache_warm: Some(true),
        };
        let json = serde_json::to_value(&startup).expect("a start-up serializes");
        assert_eq!(
            json,
            serde_json::json!({"startup_ms": 850, "startup_cache_warm": true})
        );
    }
}
