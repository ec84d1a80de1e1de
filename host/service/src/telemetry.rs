//! Typed telemetry: every event the service reports about itself is one function here, named in
//! the past tense (`webhook_answered`, `run_finished`, ...), and each emits both the log line and
//! the Prometheus series, so logs and metrics always agree. `GET /metrics` renders the series in
//! the Prometheus text format through `metrics-exporter-prometheus`.
//!
//! Series (all prefixed `switchboard_`):
//! - `webhook_ack_seconds` (histogram, by `status`): time to answer a webhook
//! - `events_total` (by `kind`), `webhook_duplicates_total`, `quarantined_total` (by `status`)
//! - `queue_depth` (gauge, by `state`: queued, running, retrying), `queue_oldest_age_seconds`
//!   (gauge): how long the longest-waiting queued run has waited
//! - `webhooks_refused_total` (by `reason`: `backlog`): webhooks answered 503 because the queue
//!   was over `[webhook] max_queued_runs` or `max_queue_age_s`
//! - `handoff_total` (by `result`: `hit`, `miss`): how each run found its event: `hit` from
//!   intake's decoded event in memory ([`Handoff`](crate::serve::handoff::Handoff)), `miss`
//!   parsed from the stored payload (a retry, a replay, a schedule or manual run, another
//!   process's event, an evicted entry); `handoff_evicted_total`: entries evicted by the handoff's bounds before every run
//!   took them
//! - `lane_wait_seconds` (histogram): from an event's arrival to its run's first attempt
//! - `runs_total` (by `plugin`, `status`; `deferred` when a run waits for its send budget),
//!   `run_duration_seconds` (histogram, by `plugin`)
//! - `runs_deferred_total` (by `plugin`) and `deferred_run_age_seconds` (gauge, by `plugin`): runs
//!   waiting for their plugin's `per_minute` send budget, and how long the last one deferred had
//!   been queued since its event arrived
//! - `actions_total` (by `kind`, `outcome`), `ledger_reconciliations_total` (by `decision`, from
//!   the action's typed reconciliation, never its text)
//! - `radist_request_seconds` (histogram, by `operation`, `outcome`) and `radist_retries_total`
//!   (by `operation`): every HTTP attempt the Radist client makes (recorded by the connector
//!   through the `metrics` facade, so they land in the same registry)
//! - `cron_fired_total`, `cron_skipped_total`, `cron_missed_total`
//! - `database_bytes`, `database_wal_bytes` (gauges)
//! - `plugin_memory_peak_bytes` (gauge, by `plugin`): the most linear memory any of its runs held

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use switchboard_runtime::{ActionOutcome, RunOutcome};
use switchboard_store::{DbStats, QueueDepth};

/// Installs the process-wide recorder; the handle renders `/metrics`. `None` when a recorder
/// was installed already (a second service in one process, e.g. tests).
pub fn install() -> Option<PrometheusHandle> {
    let buckets = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets(&buckets)
        .ok()?
        .install_recorder()
        .ok()?;
    INSTALLED.store(true, Ordering::Release);
    Some(handle)
}

/// The recorder is installed: series handles registered from now on stay valid for good, so the
/// per-run series may be kept (see [`Series`]). Before it, a handle would be a no-op forever.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Registered handles of the series every run touches, by label set. Registering one looks its
/// key up in the exporter's registry and copies its labels: at 5,000 runs/s that was 1.2% of the
/// service's CPU. The label sets are the ones the exporter keeps anyway, and the host spells
/// them all: plugin names from the operator's manifests, run statuses, action kinds and
/// outcomes, HTTP statuses.
#[derive(Default)]
struct Series {
    plugins: Vec<PluginSeries>,
    /// Where each plugin's series are in `plugins`.
    plugin_index: HashMap<String, usize>,
    actions: HashMap<String, Vec<(&'static str, Counter)>>,
    acks: Vec<(u16, Histogram)>,
}

/// One plugin's series and the largest peak memory of its runs so far.
struct PluginSeries {
    runs: Vec<(String, Counter)>,
    duration: Histogram,
    memory: Gauge,
    peak: u64,
}

impl Series {
    /// The cache, locked; `None` before the recorder is installed (the series then go nowhere).
    fn lock() -> Option<MutexGuard<'static, Series>> {
        static SERIES: LazyLock<Mutex<Series>> = LazyLock::new(Mutex::default);
        INSTALLED
            .load(Ordering::Acquire)
            .then(|| SERIES.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn plugin(&mut self, plugin: &str) -> &mut PluginSeries {
        let index = match self.plugin_index.get(plugin) {
            Some(&index) => index,
            None => {
                let p = plugin.to_owned();
                self.plugins.push(PluginSeries {
                    runs: Vec::new(),
                    duration: histogram!("switchboard_run_duration_seconds", "plugin" => p.clone()),
                    memory: gauge!("switchboard_plugin_memory_peak_bytes", "plugin" => p.clone()),
                    peak: 0,
                });
                self.plugin_index.insert(p, self.plugins.len() - 1);
                self.plugins.len() - 1
            }
        };
        &mut self.plugins[index]
    }

    fn run_finished(&mut self, plugin: &str, status: &str, outcome: &RunOutcome) {
        let series = self.plugin(plugin);
        series.duration.record(outcome.duration.as_secs_f64());
        if outcome.peak_memory_bytes > series.peak {
            series.peak = outcome.peak_memory_bytes;
            series.memory.set(series.peak as f64);
        }
        match series.runs.iter().find(|(s, _)| s == status) {
            Some((_, runs)) => runs.increment(1),
            None => {
                let runs = counter!("switchboard_runs_total", "plugin" => plugin.to_owned(), "status" => status.to_owned());
                runs.increment(1);
                series.runs.push((status.to_owned(), runs));
            }
        }
    }

    fn action_done(&mut self, kind: &str, outcome: &'static str) {
        let known = self.actions.get(kind).into_iter().flatten();
        if let Some((_, done)) = known.into_iter().find(|(o, _)| *o == outcome) {
            done.increment(1);
            return;
        }
        let done =
            counter!("switchboard_actions_total", "kind" => kind.to_owned(), "outcome" => outcome);
        done.increment(1);
        let outcomes = self.actions.entry(kind.to_owned()).or_default();
        outcomes.push((outcome, done));
    }

    fn webhook_answered(&mut self, status: u16, seconds: f64) {
        if let Some((_, ack)) = self.acks.iter().find(|(s, _)| *s == status) {
            return ack.record(seconds);
        }
        let ack = histogram!("switchboard_webhook_ack_seconds", "status" => status.to_string());
        ack.record(seconds);
        self.acks.push((status, ack));
    }
}

/// Intake answered a webhook.
pub fn webhook_answered(status: u16, elapsed: Duration) {
    if let Some(mut series) = Series::lock() {
        series.webhook_answered(status, elapsed.as_secs_f64());
    }
}

/// Intake stored an event (or found it was a redelivery).
pub fn event_stored(kind: &str, duplicate: bool) {
    if duplicate {
        counter!("switchboard_webhook_duplicates_total").increment(1);
        tracing::debug!(kind, "duplicate webhook: nothing created");
    } else {
        counter!("switchboard_events_total", "kind" => kind.to_owned()).increment(1);
    }
}

/// Intake refused a request and kept it in quarantine.
pub fn request_quarantined(status: u16, reason: &str) {
    counter!("switchboard_quarantined_total", "status" => status.to_string()).increment(1);
    tracing::warn!(status, reason, "webhook refused and quarantined");
}

/// The queue was sampled; `oldest` is how long its longest-waiting queued run has waited.
pub fn queue_measured(depth: QueueDepth, oldest: Duration) {
    gauge!("switchboard_queue_depth", "state" => "queued").set(depth.queued as f64);
    gauge!("switchboard_queue_depth", "state" => "running").set(depth.running as f64);
    gauge!("switchboard_queue_depth", "state" => "retrying").set(depth.retrying as f64);
    gauge!("switchboard_queue_oldest_age_seconds").set(oldest.as_secs_f64());
}

/// Intake answered 503 because the queue is over a bound (logged at most once a second).
pub fn webhook_refused_backlog(reason: &str) {
    counter!("switchboard_webhooks_refused_total", "reason" => "backlog").increment(1);
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let Ok(mut last) = LAST.lock() else { return };
    if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
        *last = Some(std::time::Instant::now());
        tracing::warn!(
            reason,
            "intake refuses webhooks for now (503, Radist redelivers): {reason}"
        );
    }
}

/// The dispatcher looked up a run's event in the handoff: found (`hit`) or not (`miss`).
pub fn handoff_looked_up(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!("switchboard_handoff_total", "result" => result).increment(1);
}

/// The handoff evicted `entries` to stay within its bounds.
pub fn handoff_evicted(entries: u64) {
    counter!("switchboard_handoff_evicted_total").increment(entries);
}

/// A run's attempt began, `waited` after its event arrived (first attempts only).
pub fn run_started(waited: Duration) {
    histogram!("switchboard_lane_wait_seconds").record(waited.as_secs_f64());
}

/// A run's attempt ended with `status` (the run's status after it: `succeeded`, `retrying`,
/// `dead`, ...).
pub fn run_finished(plugin: &str, status: &str, outcome: &RunOutcome) {
    if let Some(mut series) = Series::lock() {
        series.run_finished(plugin, status, outcome);
        for action in &outcome.actions {
            action_done(&mut series, action);
        }
    }
    tracing::info!(
        plugin,
        status,
        duration_ms = outcome.duration.as_secs_f64() * 1e3,
        actions = outcome.actions.len(),
        "run finished"
    );
}

fn action_done(series: &mut Series, action: &switchboard_runtime::ActionRecord) {
    let outcome = match &action.outcome {
        ActionOutcome::Ok(_) => "ok",
        ActionOutcome::Error(_) => "error",
        ActionOutcome::Denied(_) => "denied",
        _ => "in-flight",
    };
    series.action_done(&action.kind, outcome);
    if let Some(decision) = &action.decision {
        let what = action.reconciled.map_or("other", |r| r.as_str());
        counter!("switchboard_ledger_reconciliations_total", "decision" => what).increment(1);
        tracing::info!(seq = action.seq, decision = %decision, "action reconciled");
    }
}

/// A run waited for its plugin's send budget instead of spending an attempt: it has been
/// queued for `age` since its event arrived and comes back in `wait`.
pub fn run_deferred(plugin: &str, age: Duration, wait: Duration) {
    let p = plugin.to_owned();
    counter!("switchboard_runs_deferred_total", "plugin" => p.clone()).increment(1);
    gauge!("switchboard_deferred_run_age_seconds", "plugin" => p).set(age.as_secs_f64());
    tracing::info!(
        plugin,
        queued_s = age.as_secs_f64(),
        wait_ms = wait.as_millis() as u64,
        "run waits for the plugin's send budget (`capabilities.messages.per_minute`); not an attempt"
    );
}

/// The scheduler fired, skipped or counted missed slots.
pub fn slots_handled(fired: usize, skipped: u64, missed: u64) {
    counter!("switchboard_cron_fired_total").increment(fired as u64);
    counter!("switchboard_cron_skipped_total").increment(skipped);
    counter!("switchboard_cron_missed_total").increment(missed);
    if skipped + missed > 0 {
        tracing::info!(fired, skipped, missed, "schedule slots not run");
    }
}

/// The database's size was measured.
pub fn database_measured(stats: &DbStats) {
    gauge!("switchboard_database_bytes").set(stats.file_bytes as f64);
    gauge!("switchboard_database_wal_bytes").set(stats.wal_bytes as f64);
}
