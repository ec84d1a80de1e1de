//! The figures of a benchmark run: one row per phase, rendered as a table or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::machine::Machine;

/// Everything one invocation measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub scenario: String,
    /// The service binary measured, or the foreign URL.
    pub target: String,
    /// Start-up to "admin API" announced, ms (none for a foreign URL).
    pub startup_ms: Option<u64>,
    pub startup_cache_warm: Option<bool>,
    pub plugins: usize,
    pub phases: Vec<Phase>,
    /// The database file after the service's shutdown checkpoint (WAL folded in), per run.
    pub db_bytes_per_run_checkpointed: Option<f64>,
    pub db_bytes_per_event_checkpointed: Option<f64>,
    pub notes: Vec<String>,
}

/// One phase of load.
#[derive(Debug, Default, Serialize)]
pub struct Phase {
    /// `open 5000/s` or `max 64 conns`.
    pub load: String,
    pub planned: u64,
    pub sent: u64,
    pub acked: u64,
    pub duplicates: u64,
    pub errors: u64,
    pub first_error: Option<String>,
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
            "scenario {}  ({} plugins)  target {}",
            self.scenario, self.plugins, self.target
        )?;
        writeln!(
            out,
            "machine: {} cpus, {}, {} MiB; generator and service share it",
            m.cpus, m.cpu_model, m.memory_mib
        )?;
        if let Some(ms) = self.startup_ms {
            let warm = if self.startup_cache_warm == Some(true) {
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
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    format!(
        "{:<16} {:>9.0} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>8}",
        p.load,
        p.acked_per_s,
        p.errors,
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
        p.planned,
        p.sent,
        p.acked,
        p.duplicates,
        p.errors,
        p.seconds,
        ms(p.ack_us.max)
    )?;
    if let Some(e) = &p.first_error {
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
    Ok(())
}

/// µs as milliseconds with two decimals.
fn ms(us: u64) -> String {
    format!("{:.2}ms", us as f64 / 1000.0)
}
