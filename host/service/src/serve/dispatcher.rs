//! The [`Dispatcher`]: claims queued runs from the store (one per lane at a time, so a chat's runs
//! execute in arrival order) and executes them on the runtime, at most `max_concurrent` at once;
//! records each attempt with its actions and logs, and decides what happens next.
//!
//! Retries: a run that failed because Radist or the store failed transiently (rate limited, a
//! retryable upstream error, the ledger unavailable) is retried with exponential backoff and full
//! jitter (honouring the longest `retry after` a Radist answer asked for) until the manifest's
//! `max_attempts`, then ends `dead` with the reason. Plugin errors, traps, time-outs and denials
//! are final and say why. Claimed-but-unfinished runs of a process that died are put back by
//! `Store::recover` at start-up.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use switchboard_runtime::event::RunInfo;
use switchboard_runtime::{ActionOutcome, ActionRecord, LogLine, RunInput, RunOutcome, RunStatus};
use switchboard_store::{
    ActionRow, AttemptStatus, ClaimedRun, FinishedAttempt, LogRow, Next, Store, StoreError,
};
use tokio::sync::{Semaphore, watch};

use tracing::Instrument;

use crate::serve::plugins::SharedPlugins;
use crate::stored_event::StoredEvent;
use crate::telemetry;

/// First retry delay; doubles per attempt.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between attempts.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// How often the dispatcher looks for work when nothing woke it (another process may have
/// queued runs, e.g. `switchboard runs replay`).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Claims and executes runs until shutdown.
pub struct Dispatcher {
    pub store: Arc<dyn Store>,
    pub plugins: SharedPlugins,
    pub node: String,
    pub max_concurrent: usize,
}

impl Dispatcher {
    /// Runs until `shutdown` turns true, then waits up to `drain` for runs in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, drain: Duration) {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.max_concurrent));
        let notify = this.store.work_notify();
        while !*shutdown.borrow() {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Ok(first) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            let free = 1 + permits.available_permits();
            let claimed = match this.store.claim(&this.node, free, Utc::now()).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::error!(error = %err, "cannot claim runs; retrying in a second");
                    Vec::new()
                }
            };
            let idle = claimed.is_empty();
            let mut first = Some(first);
            for run in claimed {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match Arc::clone(&permits).try_acquire_owned() {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                };
                let this = Arc::clone(&this);
                tokio::spawn(async move {
                    this.execute(run).await;
                    drop(permit);
                });
            }
            drop(first);
            if idle {
                let wait = this.idle_wait().await;
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        let all = u32::try_from(this.max_concurrent).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(drain, permits.acquire_many(all)).await;
        if drained.is_err() {
            tracing::warn!("runs still in flight after {drain:?}; they resume after the restart");
        }
    }

    /// Until the next retry is due, at most [`IDLE_POLL`].
    async fn idle_wait(&self) -> Duration {
        let next = self.store.next_retry_at().await.ok().flatten();
        next.map_or(IDLE_POLL, |at| {
            (at - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(IDLE_POLL)
        })
    }

    /// One attempt of one run, recorded, inside the run's tracing span.
    async fn execute(&self, claimed: ClaimedRun) {
        let span = tracing::info_span!(
            "run",
            run_id = %claimed.run_id,
            plugin = %claimed.plugin,
            event_id = %claimed.event_id,
            attempt = claimed.attempt
        );
        self.execute_in_span(claimed).instrument(span).await;
    }

    async fn execute_in_span(&self, claimed: ClaimedRun) {
        let started_at = Utc::now();
        if claimed.attempt == 1 {
            let waited = (started_at - claimed.received_at)
                .to_std()
                .unwrap_or_default();
            telemetry::run_started(waited);
        }
        let (attempt, next) = match self.attempt(&claimed, started_at).await {
            Ok(done) => done,
            Err(reason) => (
                refused_attempt(&claimed, started_at, &self.node, &reason),
                Next::Dead { reason },
            ),
        };
        self.finish(&claimed, attempt, next).await;
    }

    async fn attempt(
        &self,
        claimed: &ClaimedRun,
        started_at: DateTime<Utc>,
    ) -> Result<(FinishedAttempt, Next), String> {
        let plugin = self.plugins.current().get(&claimed.plugin).ok_or_else(|| {
            format!(
                "plugin `{}` is not loaded (removed, or its manifest failed to load); fix it and replay the run",
                claimed.plugin
            )
        })?;
        let event = StoredEvent::from_payload(&claimed.payload)
            .map_err(|e| format!("the stored event cannot be read: {e}"))?;
        let input = RunInput {
            event: event.plugin_event(),
            run: RunInfo {
                run_id: claimed.run_id.to_string(),
                event_id: claimed.event_id.to_string(),
                attempt: claimed.attempt,
                is_replay: claimed.is_replay,
            },
            dry_run: false,
        };
        let outcome = plugin.plugin.run(input).await;
        let next = next_step(&outcome, claimed);
        telemetry::run_finished(
            &claimed.plugin,
            next_status(&next, &outcome.status),
            &outcome,
        );
        let attempt = record(&outcome, claimed, started_at, &self.node, &plugin.digest);
        Ok((attempt, next))
    }

    /// Stores the attempt; a store that is briefly unavailable is retried a few times (the run
    /// stays `running` otherwise and is recovered at the next start).
    async fn finish(&self, claimed: &ClaimedRun, attempt: FinishedAttempt, next: Next) {
        let mut delay = Duration::from_millis(100);
        for _ in 0..8 {
            match self
                .store
                .finish(claimed.run_id, attempt.clone(), next.clone())
                .await
            {
                Ok(()) => return,
                Err(err) if err.is_unavailable() => {
                    tracing::warn!(run = %claimed.run_id, error = %err, "cannot record the run yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(err) => return log_lost(claimed, &err),
            }
        }
        tracing::error!(run = %claimed.run_id, "gave up recording the run; it resumes after a restart");
    }
}

fn log_lost(claimed: &ClaimedRun, err: &StoreError) {
    tracing::error!(run = %claimed.run_id, plugin = %claimed.plugin, error = %err, "cannot record the run");
}

/// What happens after this attempt.
fn next_step(outcome: &RunOutcome, claimed: &ClaimedRun) -> Next {
    let Some(retry_after) = transient(outcome) else {
        return Next::Final;
    };
    if claimed.attempt >= claimed.max_attempts {
        let why = status_error(&outcome.status).unwrap_or_default();
        return Next::Dead {
            reason: format!(
                "gave up after {} attempts (`limits.max_attempts`): {why}",
                claimed.attempt
            ),
        };
    }
    let wait = backoff(claimed.attempt).max(retry_after);
    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    Next::Retry {
        not_before: Utc::now() + wait,
    }
}

/// The run's status name after an attempt, for telemetry.
fn next_status(next: &Next, status: &RunStatus) -> &'static str {
    match next {
        Next::Final => status.as_str(),
        Next::Retry { .. } => "retrying",
        Next::Dead { .. } => "dead",
    }
}

/// `Some(minimum wait)` when the run failed only because something outside the plugin failed
/// transiently: a Radist rate limit or retryable error the plugin gave up on, or the ledger.
fn transient(outcome: &RunOutcome) -> Option<Duration> {
    match &outcome.status {
        RunStatus::Failed(_) => {}
        RunStatus::Trapped(message) if message.contains("action journal") => {
            return Some(Duration::ZERO);
        }
        _ => return None,
    }
    let mut wait = None;
    for action in &outcome.actions {
        if let ActionOutcome::Error(text) = &action.outcome
            && let Some(w) = retryable_wait(text)
        {
            wait = Some(wait.unwrap_or(Duration::ZERO).max(w));
        }
    }
    wait
}

/// The wait a retryable action error asks for: `rate-limited: retry after N ms`, or an
/// upstream error marked retryable.
fn retryable_wait(text: &str) -> Option<Duration> {
    if let Some(rest) = text.strip_prefix("rate-limited: retry after ") {
        let ms = rest.trim_end_matches(" ms").parse().unwrap_or(1000);
        return Some(Duration::from_millis(ms));
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    (value.get("retryable")? == true).then_some(Duration::ZERO)
}

/// Full jitter over an exponential ceiling: uniform in [0, min(max, base * 2^(attempt-1))].
fn backoff(attempt: u32) -> Duration {
    let ceiling = RETRY_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(RETRY_MAX);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// The attempt as the store keeps it.
fn record(
    outcome: &RunOutcome,
    claimed: &ClaimedRun,
    started_at: DateTime<Utc>,
    node: &str,
    digest: &str,
) -> FinishedAttempt {
    FinishedAttempt {
        attempt: claimed.attempt,
        status: attempt_status(&outcome.status),
        error: status_error(&outcome.status),
        started_at,
        duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
        node: node.to_owned(),
        plugin_digest: Some(digest.to_owned()),
        actions: outcome.actions.iter().map(action_row).collect(),
        logs: outcome.logs.iter().map(log_row).collect(),
    }
}

fn refused_attempt(
    claimed: &ClaimedRun,
    started_at: DateTime<Utc>,
    node: &str,
    reason: &str,
) -> FinishedAttempt {
    FinishedAttempt {
        attempt: claimed.attempt,
        status: AttemptStatus::Failed,
        error: Some(reason.to_owned()),
        started_at,
        duration_us: 0,
        node: node.to_owned(),
        plugin_digest: None,
        actions: Vec::new(),
        logs: Vec::new(),
    }
}

fn attempt_status(status: &RunStatus) -> AttemptStatus {
    match status {
        RunStatus::Succeeded => AttemptStatus::Succeeded,
        RunStatus::Failed(_) => AttemptStatus::Failed,
        RunStatus::Trapped(_) => AttemptStatus::Trapped,
        RunStatus::TimedOut => AttemptStatus::TimedOut,
        RunStatus::Denied(_) => AttemptStatus::Denied,
    }
}

fn status_error(status: &RunStatus) -> Option<String> {
    match status {
        RunStatus::Succeeded => None,
        RunStatus::Failed(m) => Some(format!("the plugin returned an error: {m}")),
        RunStatus::Trapped(m) => Some(format!("trapped: {m}")),
        RunStatus::TimedOut => Some("timed out (`limits.timeout_ms`)".to_owned()),
        RunStatus::Denied(m) => Some(format!("denied: {m}")),
    }
}

fn action_row(a: &ActionRecord) -> ActionRow {
    let mut outcome = serde_json::to_value(&a.outcome).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut outcome {
        if a.reused {
            map.insert("reused".to_owned(), true.into());
        }
        if let Some(effect) = &a.effect_id {
            map.insert("effect_id".to_owned(), effect.clone().into());
        }
    }
    ActionRow {
        seq: a.seq,
        kind: a.kind.clone(),
        request: a.request.to_string(),
        outcome: outcome.to_string(),
        latency_us: u64::try_from(a.latency.as_micros()).unwrap_or(u64::MAX),
        replayed: a.replayed,
        decision: a.decision.clone(),
    }
}

fn log_row(l: &LogLine) -> LogRow {
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    LogRow {
        level: name(serde_json::to_value(l.level).unwrap_or_default()),
        source: name(serde_json::to_value(l.source).unwrap_or_default()),
        message: l.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..40 {
            let ceiling = RETRY_BASE
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(RETRY_MAX);
            assert!(backoff(attempt) <= ceiling, "attempt {attempt}");
        }
    }

    #[test]
    fn rate_limits_and_retryable_upstream_errors_are_transient() {
        assert_eq!(
            retryable_wait("rate-limited: retry after 1500 ms"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retryable_wait(r#"{"status":503,"message":"x","retryable":true}"#),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retryable_wait(r#"{"status":500,"message":"x","retryable":false}"#),
            None
        );
        assert_eq!(retryable_wait("denied: no"), None);
    }
}
