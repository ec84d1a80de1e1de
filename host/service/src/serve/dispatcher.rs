//! The [`Dispatcher`]: claims queued runs from the store (one per lane at a time, so a chat's runs
//! execute in arrival order) and executes them on the runtime, which runs at most
//! `max_concurrent` at once on its own guest threads; holds up to twice that many claimed, so the
//! next run is waiting when a slot frees; records each attempt with its actions and logs, and
//! decides what happens next.
//!
//! What happens next is decided on types, never on message text: the retry class of each
//! failed action and the cause of a trap (`switchboard_runtime::{RetryClass, TrapCause}`).
//! - A run that failed only because its plugin's own `per_minute` send budget was spent waits
//!   for the budget (`Next::Defer`: the lane waits, the attempt does not count, so a burst is
//!   delayed, never dropped); `switchboard_runs_deferred_total` and
//!   `switchboard_deferred_run_age_seconds` show the queue.
//! - A run that failed because Radist or the store failed transiently (Radist's rate limit, a
//!   retryable upstream error, the journal unavailable) is retried with exponential backoff and
//!   full jitter (honouring the longest wait an answer asked for, clamped to [`RETRY_MAX`])
//!   until the manifest's `max_attempts`, then ends `dead` with the reason.
//! - Plugin errors, other traps, time-outs and denials are final and say why.
//!
//! A run's event comes from the [`Handoff`] when intake of this process kept it (decoded once,
//! at intake), else from its stored payload, parsed again.
//!
//! A finished attempt is recorded, with the run's last ledger records in the same transaction
//! (`finish_recorded`; see the runtime's `recorder` for which writes wait for it), however long
//! the store stays unavailable (the lane waits);
//! claimed-but-unfinished runs of a process that died are put back by `Store::recover` at
//! start-up.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use switchboard_runtime::event::{PluginEvent, RunInfo};
use switchboard_runtime::{
    ActionOutcome, ActionRecord, LogLine, RetryClass, RunInput, RunOutcome, RunStatus, TrapCause,
};
use switchboard_store::{
    ActionRow, AttemptStatus, ClaimedRun, FinishedAttempt, LedgerRecord, LogRow, Next, StoreError,
    role,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use tracing::Instrument;

use crate::adapters;
use crate::serve::handoff::Handoff;
use crate::serve::plugins::SharedPlugins;
use crate::stored_event::StoredEvent;
use crate::telemetry;

/// First retry delay; doubles per attempt.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between attempts, whatever a `Retry-After` or the send budget asked for.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// The first wait before trying again to record a finished attempt in an unavailable store.
const FINISH_RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between tries to record a finished attempt in an unavailable store.
const FINISH_RETRY_MAX: Duration = Duration::from_secs(5);
/// How often the dispatcher looks for work when nothing woke it (another process may have
/// queued runs, e.g. `switchboard runs replay`).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Runs claimed but not yet ended, as a multiple of `max_concurrent`: the runs beyond the
/// runtime's execution slots wait in its admission queue (where no plugin may hold more than half
/// of the slots while another plugin's run waits), so a slot freed by one run is taken at once
/// by the next instead of after a claim round trip to the store.
const CLAIM_AHEAD: usize = 2;

/// The dispatcher's bounds on runs in flight.
struct Permits {
    /// One per claimed run until it ended.
    claimed: Arc<Semaphore>,
    /// One per ended run until its attempt is recorded.
    finishing: Arc<Semaphore>,
}

impl Permits {
    /// Waits up to `drain` until every run in flight ended and was recorded.
    async fn drain(&self, limit: usize, drain: Duration) {
        let all = u32::try_from(limit).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(drain, async {
            let claimed = self.claimed.acquire_many(all).await;
            let finishing = self.finishing.acquire_many(all).await;
            (claimed, finishing)
        })
        .await;
        if drained.is_err() {
            tracing::warn!("runs still in flight after {drain:?}; they resume after the restart");
        }
    }
}

/// Claims and executes runs until shutdown.
pub struct Dispatcher {
    pub store: Arc<dyn role::Dispatch>,
    pub plugins: SharedPlugins,
    /// Events intake of this process decoded already; a run whose event is not there reads
    /// its stored payload.
    pub handoff: Arc<Handoff>,
    pub node: String,
    pub max_concurrent: usize,
}

impl Dispatcher {
    /// Runs until `shutdown` turns true, then waits up to `drain` for runs in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, drain: Duration) {
        let this = Arc::new(self);
        let limit = this.max_concurrent.max(1).saturating_mul(CLAIM_AHEAD);
        let permits = Permits {
            claimed: Arc::new(Semaphore::new(limit)),
            finishing: Arc::new(Semaphore::new(limit)),
        };
        let notify = this.store.work_notify();
        while !*shutdown.borrow() {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let first = tokio::select! {
                permit = Arc::clone(&permits.claimed).acquire_owned() => permit,
                changed = shutdown.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => break,
                },
            };
            let Ok(first) = first else { break };
            let free = 1 + permits.claimed.available_permits();
            let claimed = this.claim(free).await;
            let idle = claimed.is_empty();
            this.spawn_all(claimed, first, &permits);
            if idle {
                let wait = this.idle_wait().await;
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        permits.drain(limit, drain).await;
    }

    /// Claims up to `limit` runs; none when the store fails (logged).
    async fn claim(&self, limit: usize) -> Vec<ClaimedRun> {
        match self.store.claim(&self.node, limit, Utc::now()).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::error!(error = %err, "cannot claim runs; retrying in a second");
                Vec::new()
            }
        }
    }

    /// Starts every claimed run, each holding a claim permit (`first` and then free ones; the
    /// store returned at most as many runs as were free).
    fn spawn_all(
        self: &Arc<Self>,
        claimed: Vec<ClaimedRun>,
        first: OwnedSemaphorePermit,
        permits: &Permits,
    ) {
        let mut first = Some(first);
        for run in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match Arc::clone(&permits.claimed).try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let this = Arc::clone(self);
            let finishing = Arc::clone(&permits.finishing);
            tokio::spawn(async move { this.execute(run, permit, finishing).await });
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

    /// One attempt of one run, recorded, inside the run's tracing span. The claim permit is
    /// given back once the run has ended, before its attempt is recorded (under a `finishing`
    /// permit), so the store round trip of `finish` does not keep the next run waiting.
    async fn execute(
        &self,
        claimed: ClaimedRun,
        permit: OwnedSemaphorePermit,
        finishing: Arc<Semaphore>,
    ) {
        let span = tracing::info_span!(
            "run",
            run_id = %claimed.run_id,
            plugin = %claimed.plugin,
            event_id = %claimed.event_id,
            attempt = claimed.attempt
        );
        self.execute_in_span(claimed, permit, finishing)
            .instrument(span)
            .await;
    }

    async fn execute_in_span(
        &self,
        claimed: ClaimedRun,
        permit: OwnedSemaphorePermit,
        finishing: Arc<Semaphore>,
    ) {
        let started_at = Utc::now();
        if claimed.attempt == 1 {
            let waited = (started_at - claimed.received_at)
                .to_std()
                .unwrap_or_default();
            telemetry::run_started(waited);
        }
        let (attempt, next, ledger) = match self.attempt(&claimed, started_at).await {
            Ok(done) => done,
            Err(reason) => (
                refused_attempt(&claimed, started_at, &self.node, &reason),
                Next::Dead { reason },
                Vec::new(),
            ),
        };
        if let Next::Defer { not_before } = &next {
            let now = Utc::now();
            let age = (now - claimed.received_at).to_std().unwrap_or_default();
            let wait = (*not_before - now).to_std().unwrap_or_default();
            telemetry::run_deferred(&claimed.plugin, age, wait);
        }
        // The semaphore is never closed.
        let recording = finishing.acquire_owned().await.ok();
        drop(permit);
        self.finish(&claimed, attempt, next, ledger).await;
        drop(recording);
    }

    async fn attempt(
        &self,
        claimed: &ClaimedRun,
        started_at: DateTime<Utc>,
    ) -> Result<(FinishedAttempt, Next, Vec<LedgerRecord>), String> {
        let plugin = self.plugins.current().get(&claimed.plugin).ok_or_else(|| {
            format!(
                "plugin `{}` is not loaded (removed, or its manifest failed to load); fix it and replay the run",
                claimed.plugin
            )
        })?;
        let input = RunInput {
            event: self.event_of(claimed)?,
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
        // Cannot fail: the run keys are the claimed run's id.
        let ledger = adapters::ledger_records(&outcome.ledger).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the run's last ledger records cannot be written");
            Vec::new()
        });
        Ok((attempt, next, ledger))
    }

    /// The plugin's event of a claimed run: intake's decoded event when the handoff has it,
    /// else its stored payload read again.
    fn event_of(&self, claimed: &ClaimedRun) -> Result<PluginEvent, String> {
        if let Some(event) = self.handoff.take(&claimed.payload) {
            return Ok(Arc::unwrap_or_clone(event));
        }
        let stored = StoredEvent::from_payload(&claimed.payload)
            .map_err(|e| format!("the stored event cannot be read: {e}"))?;
        Ok(stored.plugin_event())
    }

    /// Stores the attempt with the run's last ledger records (its send results, and the
    /// whole records of actions whose intents were not written before). A store that is unavailable is retried until it takes the attempt
    /// (the lane stays held meanwhile, so nothing behind the run overtakes it); only a store
    /// that shut down, or refuses the attempt for good, ends the effort (a shut-down store's
    /// running runs are recovered at the next start).
    async fn finish(
        &self,
        claimed: &ClaimedRun,
        attempt: FinishedAttempt,
        next: Next,
        ledger: Vec<LedgerRecord>,
    ) {
        let store = &self.store;
        let recorded = until_recorded(claimed, FINISH_RETRY_FIRST, || {
            let ledger = ledger.clone();
            store.finish_recorded(claimed.run_id, attempt.clone(), next.clone(), ledger)
        })
        .await;
        if let Err(err) = recorded {
            log_lost(claimed, &err);
        }
    }
}

/// Calls `finish` until it succeeds or fails with anything but [`StoreError::Unavailable`],
/// backing off from `first` to [`FINISH_RETRY_MAX`]; never gives up on an unavailable store.
async fn until_recorded<F, Fut>(
    claimed: &ClaimedRun,
    first: Duration,
    mut finish: F,
) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut delay = first;
    loop {
        match finish().await {
            Err(err @ StoreError::Unavailable { .. }) => {
                tracing::warn!(run = %claimed.run_id, error = %err, retry_in_ms = delay.as_millis() as u64, "cannot record the run yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(FINISH_RETRY_MAX);
            }
            other => return other,
        }
    }
}

fn log_lost(claimed: &ClaimedRun, err: &StoreError) {
    tracing::error!(run = %claimed.run_id, plugin = %claimed.plugin, error = %err, "cannot record the run");
}

/// What happens after this attempt: a run that failed only for want of the plugin's own send
/// budget waits for it without spending an attempt; one that failed transiently is retried
/// until `max_attempts`; everything else is final.
fn next_step(outcome: &RunOutcome, claimed: &ClaimedRun) -> Next {
    match retry_of(outcome) {
        Retry::No => Next::Final,
        Retry::Budget(wait) => Next::Defer {
            not_before: Utc::now() + to_chrono(spread(wait.min(RETRY_MAX))),
        },
        Retry::Transient(_) if claimed.attempt >= claimed.max_attempts => {
            let why = status_error(&outcome.status).unwrap_or_default();
            Next::Dead {
                reason: format!(
                    "gave up after {} attempts (`limits.max_attempts`): {why}",
                    claimed.attempt
                ),
            }
        }
        Retry::Transient(after) => Next::Retry {
            not_before: Utc::now() + to_chrono(backoff(claimed.attempt).max(after).min(RETRY_MAX)),
        },
    }
}

fn to_chrono(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

/// The run's status name after an attempt, for telemetry.
fn next_status(next: &Next, status: &RunStatus) -> &'static str {
    match next {
        Next::Final => status.as_str(),
        Next::Retry { .. } => "retrying",
        Next::Defer { .. } => "deferred",
        Next::Dead { .. } => "dead",
    }
}

/// Whether a run may be tried again, from the retry classes of its failed actions and the
/// cause of its trap (never from their messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    No,
    /// Only the plugin's own send budget stood in the way: wait at least this long.
    Budget(Duration),
    /// Something outside the plugin failed transiently: retry, not before this.
    Transient(Duration),
}

fn retry_of(outcome: &RunOutcome) -> Retry {
    match &outcome.status {
        RunStatus::Failed(_) => retry_of_actions(&outcome.actions),
        RunStatus::Trapped(trap) if trap.cause == TrapCause::JournalUnavailable => {
            Retry::Transient(Duration::ZERO)
        }
        _ => Retry::No,
    }
}

/// A failed run's verdict from its failed actions: any transient failure makes it a real
/// (counted) retry; budget waits alone defer it; the longest wait asked for wins.
fn retry_of_actions(actions: &[ActionRecord]) -> Retry {
    let (mut transient, mut budget) = (None::<Duration>, None::<Duration>);
    for action in actions {
        let ActionOutcome::Error(error) = &action.outcome else {
            continue;
        };
        match error.retry {
            RetryClass::Transient { after } => {
                transient = Some(transient.unwrap_or_default().max(after))
            }
            RetryClass::Budget { wait } => budget = Some(budget.unwrap_or_default().max(wait)),
            _ => {}
        }
    }
    match (transient, budget) {
        (Some(t), b) => Retry::Transient(t.max(b.unwrap_or_default())),
        (None, Some(b)) => Retry::Budget(b),
        (None, None) => Retry::No,
    }
}

/// `wait` plus up to as much again, so runs deferred together do not all come back at the
/// same instant for the one token the budget refilled.
fn spread(wait: Duration) -> Duration {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    wait + Duration::from_millis(rand::rng().random_range(0..=ms))
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
        RunStatus::Trapped(t) => Some(format!("trapped: {}", t.message)),
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
pub(crate) mod tests {
    use super::*;

    use serde_json::json;
    use switchboard_runtime::{FileKvStore, HostServices, Runtime, RuntimeConfig};
    use switchboard_store::{SqliteConfig, SqliteStore, Store};
    use switchboard_testing::ingest;

    use crate::serve::plugins::PluginSet;
    use crate::wiring::LoadedPlugin;

    /// The hostile test plugin with a short timeout, loaded on `runtime`.
    fn hostile(runtime: &Runtime, kv: &std::path::Path) -> LoadedPlugin {
        hostile_on(runtime, kv, r#"["manual"]"#)
    }

    /// [`hostile`] triggered by the event kinds `on` (a TOML array).
    pub(crate) fn hostile_on(runtime: &Runtime, kv: &std::path::Path, on: &str) -> LoadedPlugin {
        switchboard_testing::build_plugins().unwrap_or_else(|e| panic!("{e}"));
        let file = switchboard_testing::repo_root().join("host/testing/manifests/hostile.toml");
        let text = std::fs::read_to_string(&file).expect("manifest");
        let text = text.replace(r#"on = ["manual"]"#, &format!("on = {on}"));
        let head = &text[..text.find("[limits]").expect("limits")];
        let text = format!("{head}[limits]\nmemory_mib = 16\ntimeout_ms = 300\n");
        let loaded = crate::config::parse_manifest_file(&file, &text).expect("parse");
        let services = HostServices::new(Arc::new(FileKvStore::open(kv).expect("kv")));
        crate::assembly::load_plugin(runtime, &loaded, services).expect("load")
    }

    async fn queue_spinner(store: &Arc<dyn Store>, n: u32) {
        let payload = json!({"mode": "loop"}).to_string();
        let event = ingest::manual_event(format!("test:{n}"), &payload);
        let run = ingest::one_attempt("hostile", format!("hostile/{n}"), "manual");
        store.ingest(event, vec![run]).await.expect("ingest");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_next_run_is_claimed_while_the_slot_is_busy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("s.db")))
            .await
            .expect("store");
        let store: Arc<dyn Store> = Arc::new(store);
        let runtime = Runtime::new(RuntimeConfig {
            max_concurrent_runs: 1,
            max_memory_mib: 16,
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let plugin = hostile(&runtime, dir.path());
        for n in 0..3 {
            queue_spinner(&store, n).await;
        }
        let dispatcher = Dispatcher {
            store: store.clone(),
            plugins: SharedPlugins::new(PluginSet::new(vec![plugin])),
            handoff: Arc::new(Handoff::new(crate::serve::handoff::HandoffLimits::OFF)),
            node: "test".to_owned(),
            max_concurrent: 1,
        };
        let (stop, stopped) = watch::channel(false);
        let dispatching = tokio::spawn(dispatcher.run(stopped, Duration::from_secs(10)));
        while runtime.runs_in_progress() == 0 {
            tokio::task::yield_now().await;
        }
        // One run executes; the next is claimed already and waits for the slot in the runtime.
        let depth = store.queue_depth().await.expect("depth");
        assert_eq!((depth.running, depth.queued), (2, 1), "{depth:?}");
        // The claimed run reaches the runtime's admission queue a moment after the claim.
        tokio::time::timeout(Duration::from_secs(30), async {
            while runtime.runs_waiting() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the claimed run waits for the slot");
        assert_eq!(runtime.runs_waiting(), 1);
        let notify = store.work_notify();
        loop {
            let finished = notify.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let depth = store.queue_depth().await.expect("depth");
            if depth.running + depth.queued == 0 {
                break;
            }
            finished.await;
        }
        stop.send(true).expect("stop");
        dispatching.await.expect("dispatcher");
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..40 {
            let ceiling = RETRY_BASE
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(RETRY_MAX);
            assert!(backoff(attempt) <= ceiling, "attempt {attempt}");
        }
    }

    fn action(message: &str, retry: RetryClass) -> ActionRecord {
        ActionRecord {
            seq: 1,
            kind: "messages.send".to_owned(),
            request: json!({}),
            outcome: ActionOutcome::Error(switchboard_runtime::ActionError {
                message: message.to_owned(),
                retry,
            }),
            latency: Duration::ZERO,
            dry_run: false,
            replayed: false,
            fingerprint: String::new(),
            reused: false,
            effect_id: None,
            decision: None,
            reconciled: None,
        }
    }

    fn outcome(status: RunStatus, actions: Vec<ActionRecord>) -> RunOutcome {
        RunOutcome {
            status,
            actions,
            ledger: Vec::new(),
            logs: Vec::new(),
            logs_truncated: false,
            duration: Duration::ZERO,
            instantiate: Duration::ZERO,
            peak_memory_bytes: 0,
        }
    }

    fn trap(cause: TrapCause, message: &str) -> RunStatus {
        RunStatus::Trapped(switchboard_runtime::Trap {
            cause,
            message: message.to_owned(),
        })
    }

    /// Every kind of ending, each with the words the old text matching looked for.
    fn endings() -> Vec<RunOutcome> {
        let secs = Duration::from_secs;
        let failed = || RunStatus::Failed("rate-limited: retry after 1500 ms".to_owned());
        vec![
            outcome(
                failed(),
                vec![action(
                    "rate-limited: retry after 1500 ms",
                    RetryClass::Transient { after: secs(2) },
                )],
            ),
            outcome(
                failed(),
                vec![action(
                    r#"{"retryable":true}"#,
                    RetryClass::Transient {
                        after: Duration::ZERO,
                    },
                )],
            ),
            outcome(
                failed(),
                vec![action(
                    "rate-limited: retry after 3 ms",
                    RetryClass::Budget { wait: secs(3) },
                )],
            ),
            outcome(
                failed(),
                vec![
                    action("x", RetryClass::Budget { wait: secs(9) }),
                    action("y", RetryClass::Transient { after: secs(1) }),
                ],
            ),
            outcome(
                failed(),
                vec![action(r#"{"retryable":true}"#, RetryClass::Permanent)],
            ),
            outcome(
                RunStatus::Succeeded,
                vec![action(
                    "rate-limited: retry after 1 ms",
                    RetryClass::Budget { wait: secs(1) },
                )],
            ),
            outcome(
                trap(TrapCause::JournalUnavailable, "action journal: gone"),
                Vec::new(),
            ),
            outcome(
                trap(TrapCause::Guest, "action journal: not really"),
                Vec::new(),
            ),
            outcome(
                trap(
                    TrapCause::Limit {
                        key: "limits.memory_mib",
                    },
                    "memory",
                ),
                Vec::new(),
            ),
            outcome(trap(TrapCause::HostPanic, "host error"), Vec::new()),
            outcome(RunStatus::Denied("action journal".to_owned()), Vec::new()),
            outcome(RunStatus::TimedOut, Vec::new()),
        ]
    }

    /// The same outcome with every message replaced by `words`.
    fn reworded(mut outcome: RunOutcome, words: &str) -> RunOutcome {
        outcome.status = match outcome.status {
            RunStatus::Failed(_) => RunStatus::Failed(words.to_owned()),
            RunStatus::Denied(_) => RunStatus::Denied(words.to_owned()),
            RunStatus::Trapped(t) => trap(t.cause, words),
            other => other,
        };
        for a in &mut outcome.actions {
            if let ActionOutcome::Error(e) = &mut a.outcome {
                e.message = words.to_owned();
            }
        }
        outcome
    }

    #[test]
    fn rewording_every_message_changes_no_retry_decision() {
        let expected = [
            Retry::Transient(Duration::from_secs(2)),
            Retry::Transient(Duration::ZERO),
            Retry::Budget(Duration::from_secs(3)),
            Retry::Transient(Duration::from_secs(9)),
            Retry::No,
            Retry::No,
            Retry::Transient(Duration::ZERO),
            Retry::No,
            Retry::No,
            Retry::No,
            Retry::No,
            Retry::No,
        ];
        let verdicts: Vec<Retry> = endings().iter().map(retry_of).collect();
        assert_eq!(verdicts, expected);
        for words in [
            "",
            "rate-limited: retry after 99999 ms",
            r#"{"status":503,"retryable":true}"#,
            "action journal: unavailable",
            "denied: no",
        ] {
            let again: Vec<Retry> = endings()
                .into_iter()
                .map(|o| retry_of(&reworded(o, words)))
                .collect();
            assert_eq!(again, expected, "reworded as {words:?}");
        }
    }

    fn claimed(attempt: u32, max_attempts: u32) -> ClaimedRun {
        ClaimedRun {
            run_id: switchboard_store::RunId(1),
            event_id: switchboard_store::EventId(1),
            plugin: "p".to_owned(),
            lane: "p/1".to_owned(),
            attempt,
            max_attempts,
            is_replay: false,
            origin: "webhook".to_owned(),
            event_kind: "manual".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: String::new(),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn a_spent_budget_defers_without_counting_even_at_the_last_attempt() {
        let budget = outcome(
            RunStatus::Failed("x".to_owned()),
            vec![action(
                "x",
                RetryClass::Budget {
                    wait: Duration::from_secs(2),
                },
            )],
        );
        let before = Utc::now();
        let Next::Defer { not_before } = next_step(&budget, &claimed(1, 1)) else {
            panic!("expected a deferral");
        };
        let waited = (not_before - before).to_std().expect("later");
        assert!(
            waited >= Duration::from_secs(2) && waited <= Duration::from_secs(5),
            "{waited:?}"
        );
        let transient = outcome(
            RunStatus::Failed("x".to_owned()),
            vec![action(
                "x",
                RetryClass::Transient {
                    after: Duration::ZERO,
                },
            )],
        );
        assert!(matches!(
            next_step(&transient, &claimed(1, 1)),
            Next::Dead { .. }
        ));
        assert!(matches!(
            next_step(&transient, &claimed(1, 2)),
            Next::Retry { .. }
        ));
    }

    #[test]
    fn a_huge_retry_after_is_clamped_to_the_longest_wait() {
        let days = Duration::from_secs(49 * 86_400);
        // A rate limit is retried within RETRY_MAX; a spent send budget deferred within twice it.
        let cases = [
            (RetryClass::Transient { after: days }, RETRY_MAX),
            (RetryClass::Budget { wait: days }, RETRY_MAX * 2),
        ];
        for (retry, longest) in cases {
            let failed = outcome(RunStatus::Failed("x".to_owned()), vec![action("x", retry)]);
            let not_before = match (retry, next_step(&failed, &claimed(1, 5))) {
                (RetryClass::Transient { .. }, Next::Retry { not_before })
                | (RetryClass::Budget { .. }, Next::Defer { not_before }) => not_before,
                (_, next) => panic!("{retry:?}: expected a retry or a deferral, got {next:?}"),
            };
            let wait = (not_before - Utc::now()).to_std().unwrap_or_default();
            assert!(wait <= longest, "{retry:?}: {wait:?}");
        }
    }

    #[tokio::test]
    async fn an_unavailable_store_is_retried_until_it_records_the_attempt() {
        let mut calls = 0;
        let first = Duration::from_millis(1);
        let recorded = until_recorded(&claimed(1, 1), first, || {
            calls += 1;
            let answer = if calls <= 11 {
                Err(StoreError::Unavailable {
                    reason: "disk full".to_owned(),
                })
            } else {
                Ok(())
            };
            async move { answer }
        })
        .await;
        assert_eq!(recorded, Ok(()));
        assert_eq!(calls, 12, "kept trying past the old 8");
        let closed = || async { Err(StoreError::Closed) };
        let refused = until_recorded(&claimed(1, 1), first, closed).await;
        assert_eq!(refused, Err(StoreError::Closed), "a closed store ends it");
    }
}
