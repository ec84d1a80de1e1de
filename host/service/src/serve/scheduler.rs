//! The scheduler: fires the cron triggers of the loaded plugins (DESIGN.md "Schedules").
//!
//! Each schedule is keyed `<plugin>:<cron>@<zone>`. At every wake it plans with
//! `switchboard-schedule` from the last slot it handled: slots due now fire; after downtime the
//! trigger's `catch_up` policy (`none`, `one`, `all` within `catch_up_window_s`) decides which
//! missed slots run late, and the rest are counted missed. A slot fires at most once, ever: it is
//! stored under a unique (schedule, slot) key in the transaction that queues its run
//! (`Store::fire_slot`), so a restart, or another node, cannot fire it again. The `overlap`
//! policy looks at the schedule's unfinished runs: `skip` (default) drops a slot while one is
//! unfinished, `queue-one` keeps at most one waiting, `allow` runs them side by side (each slot
//! its own lane). Skipped and missed slots are recorded as handled (no run), and counted.
//!
//! Time comes from a [`Clock`], so tests drive the scheduler through DST changes and downtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_manifest::{Manifest, Overlap, ScheduleTrigger, Trigger};
use switchboard_schedule::{CatchUp, Schedule, Slot};
use switchboard_store::{NewEvent, NewRun, StoreResult, role};
use tokio::sync::watch;

use crate::serve::plugins::SharedPlugins;
use crate::stored_event::StoredEvent;

/// The longest the scheduler sleeps without looking again (manifests may have been reloaded).
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// One cron trigger of one plugin.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub plugin: String,
    pub max_attempts: u32,
    pub trigger: ScheduleTrigger,
    pub schedule: Schedule,
}

impl Entry {
    /// The schedule's fixed firing delay: a keyed hash of its key within `jitter_s`, so every
    /// node computes the same and schedules sharing a minute spread over the window.
    pub fn jitter(&self) -> chrono::Duration {
        let window = Duration::from_secs(u64::from(self.trigger.jitter_s));
        if window.is_zero() {
            return chrono::Duration::zero();
        }
        let offset = switchboard_schedule::jitter(&self.key, DateTime::UNIX_EPOCH, window);
        chrono::Duration::from_std(offset).unwrap_or_else(|_| chrono::Duration::zero())
    }
}

/// The schedules of a manifest.
pub fn entries_of(manifest: &Manifest) -> Vec<Entry> {
    let plugin = manifest.plugin.name.as_str();
    manifest
        .triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Schedule(s) => Some(s),
            _ => None,
        })
        .map(|t| Entry {
            key: schedule_key(plugin, t),
            plugin: plugin.to_owned(),
            max_attempts: manifest.limits.max_attempts,
            trigger: t.clone(),
            schedule: t.schedule(),
        })
        .collect()
}

/// The newest slot in `(last, now]`, if any.
fn latest_slot(
    schedule: &Schedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let since = (now - last?).to_std().ok()? + Duration::from_secs(1);
    let plan = schedule.plan(last, now, CatchUp::One, since);
    plan.due.last().map(|slot| slot.at)
}

/// `<plugin>:<cron>@<zone>`: stable while the trigger is unchanged, whatever else the manifest
/// says.
pub fn schedule_key(plugin: &str, t: &ScheduleTrigger) -> String {
    format!("{plugin}:{}@{}", t.cron.as_str(), t.timezone.name())
}

/// Fires due slots.
pub struct Scheduler {
    store: Arc<dyn role::Schedules>,
    clock: Arc<dyn Clock>,
    /// The last slot handled per schedule (fired, skipped or missed), once read from the store.
    last: HashMap<String, Option<DateTime<Utc>>>,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub fired: Vec<(String, DateTime<Utc>, bool)>,
    pub skipped: u64,
    pub missed: u64,
    /// The next instant any schedule is due.
    pub next: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub fn new(store: Arc<dyn role::Schedules>, clock: Arc<dyn Clock>) -> Self {
        Scheduler {
            store,
            clock,
            last: HashMap::new(),
        }
    }

    /// One pass over `entries` at the clock's time.
    pub async fn tick(&mut self, entries: &[Entry]) -> StoreResult<Pass> {
        let clock = self.clock.now();
        let mut pass = Pass::default();
        for entry in entries {
            // The schedule runs `jitter` behind the clock: its slots fire that much later.
            let jitter = entry.jitter();
            let now = clock - jitter;
            self.tick_one(entry, now, &mut pass).await?;
            let next = entry.schedule.next_after(now).map(|at| at + jitter);
            pass.next = match (pass.next, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(pass)
    }

    async fn tick_one(
        &mut self,
        e: &Entry,
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> StoreResult<()> {
        let last = self.last_handled(&e.key).await?;
        let window = Duration::from_secs(u64::from(e.trigger.catch_up_window_s));
        let plan = e.schedule.plan(last, now, e.trigger.catch_up, window);
        if plan.missed > 0 {
            self.store.schedule_count(&e.key, 0, plan.missed).await?;
            pass.missed += plan.missed;
            if plan.due.is_empty()
                && let Some(at) = latest_slot(&e.schedule, last, now)
            {
                // Nothing runs now: the newest missed slot counts as handled, so the next
                // pass does not count the same slots again.
                self.mark_handled(e, at).await?;
            }
        }
        for slot in plan.due {
            self.fire(e, slot, now, pass).await?;
        }
        Ok(())
    }

    async fn last_handled(&mut self, key: &str) -> StoreResult<Option<DateTime<Utc>>> {
        if let Some(found) = self.last.get(key) {
            return Ok(*found);
        }
        let found = self.store.last_slot(key).await?;
        self.last.insert(key.to_owned(), found);
        Ok(found)
    }

    /// Records a slot as handled without a run (skipped or missed).
    async fn mark_handled(&mut self, e: &Entry, at: DateTime<Utc>) -> StoreResult<()> {
        self.store.skip_slot(&e.key, at).await?;
        self.advance(&e.key, at);
        Ok(())
    }

    fn advance(&mut self, key: &str, at: DateTime<Utc>) {
        let last = self.last.entry(key.to_owned()).or_insert(None);
        *last = Some(last.map_or(at, |l| l.max(at)));
    }

    async fn fire(
        &mut self,
        e: &Entry,
        slot: Slot,
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> StoreResult<()> {
        let room = match e.trigger.overlap {
            Overlap::Skip => 1,
            Overlap::QueueOne => 2,
            _ => u64::MAX,
        };
        if room != u64::MAX && self.store.schedule_unfinished_runs(&e.key).await? >= room {
            self.store.schedule_count(&e.key, 1, 0).await?;
            self.mark_handled(e, slot.at).await?;
            pass.skipped += 1;
            return Ok(());
        }
        let stored = StoredEvent::Schedule {
            schedule: e.key.clone(),
            cron: e.trigger.cron.as_str().to_owned(),
            slot: slot.at,
            catch_up: slot.catch_up,
        };
        let lane = match e.trigger.overlap {
            Overlap::Skip | Overlap::QueueOne => format!("{}/schedule/{}", e.plugin, e.key),
            _ => format!("{}/schedule/{}/{}", e.plugin, e.key, slot.at.to_rfc3339()),
        };
        let event = NewEvent {
            dedupe_key: format!("schedule:{}:{}", e.key, slot.at.to_rfc3339()),
            kind: "schedule.fired".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: stored.to_payload(),
            received_at: now,
        };
        let run = NewRun {
            plugin: e.plugin.clone(),
            lane,
            max_attempts: e.max_attempts,
            origin: "schedule".to_owned(),
        };
        let fired = self
            .store
            .fire_slot(&e.key, slot.at, slot.catch_up, event, run)
            .await?;
        self.advance(&e.key, slot.at);
        if fired.is_some() {
            pass.fired.push((e.key.clone(), slot.at, slot.catch_up));
        }
        Ok(())
    }

    /// Runs until shutdown, over the schedules of the current plugin set.
    pub async fn run(mut self, plugins: SharedPlugins, mut shutdown: watch::Receiver<bool>) {
        loop {
            let entries: Vec<Entry> = plugins
                .current()
                .iter()
                .flat_map(|p| entries_of(&p.manifest))
                .collect();
            let wait = match self.tick(&entries).await {
                Ok(pass) => {
                    crate::telemetry::slots_handled(pass.fired.len(), pass.skipped, pass.missed);
                    self.until(pass.next)
                }
                Err(err) => {
                    tracing::error!(error = %err, "scheduler pass failed; retrying in a second");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    fn until(&self, next: Option<DateTime<Utc>>) -> Duration {
        let Some(next) = next else { return MAX_SLEEP };
        let wait = (next - self.clock.now()).to_std().unwrap_or_default();
        wait.min(MAX_SLEEP)
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
