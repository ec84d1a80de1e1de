//! The scheduler: fires the cron triggers of the loaded plugins (DESIGN.md "Schedules").
//!
//! Each schedule is keyed `<plugin>:<cron>@<zone>`. At every wake it plans with
//! `switchboard-schedule` from the last slot it handled: slots due now fire; after downtime the
//! trigger's `catch_up` policy (`none`, `one`, `all` within `catch_up_window_s`) decides which
//! missed slots run late, and the rest are counted missed. A slot fires at most once, ever: it is
//! stored under a unique (schedule, slot) key in the transaction that queues its run
//! (`Store::fire_slots`: a pass's due slots in transactions of at most [`MAX_FIRES`] slots), so
//! a restart, or another node, cannot fire it again. The `overlap` policy bounds the schedule's unfinished runs in its lane,
//! checked in the same transaction: `skip` (default) drops a slot while one is unfinished,
//! `queue-one` keeps at most one waiting, `allow` runs them side by side (each slot its own
//! lane, so runs fired under `allow` do not count once the policy changes). Skipped and missed
//! slots are recorded as handled (no run), and counted.
//!
//! Time comes from a [`Clock`], so tests drive the scheduler through DST changes and downtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_manifest::{Manifest, Overlap, ScheduleTrigger, Trigger};
use switchboard_schedule::{CatchUp, Schedule, Slot};
use switchboard_store::{NewEvent, NewRun, SlotFire, SlotFired, StoreResult, role};
use tokio::sync::watch;

use crate::serve::plugins::{PluginSet, SharedPlugins};
use crate::serve::slot_owner::{SlotOwner, TAKEOVER_GRACE};
use crate::stored_event::StoredEvent;

/// The longest the scheduler sleeps without looking again (manifests may have been reloaded).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Slots fired in one store transaction: a storm of thousands is a few short transactions, so
/// the writer is never held long enough to delay intake, and the first slots' runs start while
/// the next ones are written.
const MAX_FIRES: usize = 128;

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

/// A due slot as the store fires it: its event, its run and the overlap policy's bound.
fn slot_fire(e: &Entry, slot: Slot, now: DateTime<Utc>) -> SlotFire {
    let max_unfinished = match e.trigger.overlap {
        Overlap::Skip => Some(1),
        Overlap::QueueOne => Some(2),
        _ => None,
    };
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
    SlotFire {
        schedule_key: e.key.clone(),
        slot: slot.at,
        catch_up: slot.catch_up,
        max_unfinished,
        event: NewEvent {
            dedupe_key: format!("schedule:{}:{}", e.key, slot.at.to_rfc3339()),
            kind: "schedule.fired".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: stored.to_payload(),
            received_at: now,
        },
        run: NewRun {
            plugin: e.plugin.clone(),
            lane,
            max_attempts: e.max_attempts,
            origin: "schedule".to_owned(),
        },
    }
}

/// Fires due slots.
pub struct Scheduler {
    store: Arc<dyn role::Schedules>,
    clock: Arc<dyn Clock>,
    /// The last slot handled per schedule (fired, skipped or missed), once read from the store.
    last: HashMap<String, Option<DateTime<Utc>>>,
    /// Each schedule's next fire after an instant, as (instant, next): still the answer for any
    /// later instant before that next fire, so a pass does not work it out again for each of a
    /// thousand schedules (see [`Self::next_fire`]). Forgotten when the plugin set changes.
    next: HashMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Which schedules this node fires when it shares them with other nodes, and where it
    /// reads which nodes are live.
    owner: Option<(SlotOwner, Arc<dyn role::Nodes>)>,
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
            next: HashMap::new(),
            owner: None,
        }
    }

    /// Shares the schedules with the other live nodes of the store: this node, `node`, fires
    /// only the ones it owns (see `slot_owner`), and the others' only when their owner is late.
    pub fn on_node(mut self, node: String, leases: Arc<dyn role::Nodes>) -> Self {
        self.owner = Some((SlotOwner::new(node), leases));
        self
    }

    /// One pass over `entries` at the clock's time: plans every schedule, then fires all due
    /// slots in as few store transactions as [`MAX_FIRES`] allows.
    pub async fn tick(&mut self, entries: &[Entry]) -> StoreResult<Pass> {
        let clock = self.clock.now();
        let mut pass = Pass::default();
        self.refresh_owner().await?;
        let mut due = Vec::new();
        for entry in entries {
            // The schedule runs `jitter` behind the clock: its slots fire that much later.
            let jitter = entry.jitter();
            let now = clock - jitter;
            let mut next = self.next_fire(entry, now).map(|at| at + jitter);
            if let Some(takeover) = self.owners_turn(entry, now).await? {
                // Another node owns it: look again when its oldest slot passes the grace.
                next = Some(next.map_or(takeover, |n| n.min(takeover)) + jitter);
            } else {
                for slot in self.plan_one(entry, now, &mut pass).await? {
                    due.push(slot_fire(entry, slot, now));
                }
            }
            pass.next = match (pass.next, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        self.fire(due, &mut pass).await?;
        Ok(pass)
    }

    /// The schedule's next fire after `now`, worked out again only once `now` reaches the one
    /// known (or goes back before the instant it was worked out for).
    fn next_fire(&mut self, e: &Entry, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Some(&(since, next)) = self.next.get(&e.key)
            && since <= now
            && next.is_none_or(|n| now < n)
        {
            return next;
        }
        let next = e.schedule.next_after(now);
        self.next.insert(e.key.clone(), (now, next));
        next
    }

    /// Counts and marks the schedule's missed slots; returns the slots due now.
    async fn plan_one(
        &mut self,
        e: &Entry,
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> StoreResult<Vec<Slot>> {
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
        Ok(plan.due)
    }

    /// Reads which nodes are live, when this scheduler shares its schedules with other nodes.
    async fn refresh_owner(&mut self) -> StoreResult<()> {
        let Some((owner, leases)) = &mut self.owner else {
            return Ok(());
        };
        let now = leases.clock().await?;
        let nodes = leases.nodes(now).await?;
        owner.set_live(
            nodes
                .into_iter()
                .filter(|n| n.live)
                .map(|n| n.node)
                .collect(),
        );
        Ok(())
    }

    /// For a schedule another node owns, with a slot this node last saw unhandled: the instant
    /// that slot passes [`TAKEOVER_GRACE`], while it is still ahead. `None` when this node
    /// plans the schedule now: it owns it, nothing is pending, or the owner let the grace pass
    /// (then the schedule's last slot is read again first, so what the owner did counts).
    async fn owners_turn(
        &mut self,
        e: &Entry,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        if self.owner.as_ref().is_none_or(|(o, _)| o.owns(&e.key)) {
            return Ok(None);
        }
        let last = self.last_handled(&e.key).await?;
        let window = Duration::from_secs(u64::from(e.trigger.catch_up_window_s));
        let plan = e.schedule.plan(last, now, e.trigger.catch_up, window);
        let pending = plan.due.first().map(|slot| slot.at);
        let Some(pending) = pending.or_else(|| latest_slot(&e.schedule, last, now)) else {
            return Ok(None);
        };
        if pending + TAKEOVER_GRACE > now {
            return Ok(Some(pending + TAKEOVER_GRACE));
        }
        self.last.remove(&e.key);
        Ok(None)
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

    /// Fires `due` in store transactions of at most [`MAX_FIRES`] slots, and notes each outcome.
    async fn fire(&mut self, due: Vec<SlotFire>, pass: &mut Pass) -> StoreResult<()> {
        let mut due = due.into_iter();
        loop {
            let batch: Vec<SlotFire> = due.by_ref().take(MAX_FIRES).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let marks: Vec<(String, DateTime<Utc>, bool)> = batch
                .iter()
                .map(|f| (f.schedule_key.clone(), f.slot, f.catch_up))
                .collect();
            let fired = self.store.fire_slots(batch).await?;
            for ((key, slot, catch_up), outcome) in marks.into_iter().zip(fired) {
                self.advance(&key, slot);
                match outcome {
                    SlotFired::Fired(_) => pass.fired.push((key, slot, catch_up)),
                    SlotFired::Skipped => pass.skipped += 1,
                    SlotFired::Taken => {}
                }
            }
        }
    }

    /// Runs until shutdown, over the schedules of the current plugin set.
    pub async fn run(mut self, plugins: SharedPlugins, mut shutdown: watch::Receiver<bool>) {
        // The schedules of the set they were read from, read again only when a reload swaps it:
        // a pass that a storm of slots is waiting for does not first rebuild them all.
        let mut read: Option<(Arc<PluginSet>, Vec<Entry>)> = None;
        loop {
            let set = plugins.current();
            let entries = match read.take() {
                Some((from, entries)) if Arc::ptr_eq(&from, &set) => entries,
                _ => {
                    self.next.clear();
                    set.iter().flat_map(|p| entries_of(&p.manifest)).collect()
                }
            };
            let ticked = self.tick(&entries).await;
            read = Some((set, entries));
            let wait = match ticked {
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
