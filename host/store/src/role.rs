//! The store's roles: one trait per thing a consumer does with the store (intake, dispatch,
//! nodes, the action ledger, kv, upload links, history, schedules, operations). A consumer names
//! the roles it uses (`Arc<dyn role::Dispatch>`, `&dyn role::Schedules`), or the one combination
//! of roles defined here for it ([`Leasing`], [`Console`]); the backends implement every role,
//! and [`Store`](crate::Store) is all of them and of the combinations (share it as
//! `Arc<dyn Store>`, which coerces to any of them). Bring the methods into scope with
//! `use switchboard_store::prelude::*`.

use crate::error::StoreResult;
use crate::ids::{EventId, QuarantineId, RunId};
use crate::indexer::WordIndexPass;
use crate::model::dispatch::{ClaimedRun, FinishedAttempt, Next, QueueDepth};
use crate::model::history::{
    EventDetail, EventFilter, EventSummary, RecentCounts, RunDetail, RunFilter, RunSummary,
    StatusCount,
};
use crate::model::intake::{
    Ingested, NewEvent, NewQuarantine, NewRun, QuarantineEntry, QuarantineSummary,
};
use crate::model::ledger::{LedgerBegin, LedgerEntry, LedgerIntent, LedgerRecord, LedgerResult};
use crate::model::nodes::{LeaseTaken, NodeInfo, Renewal};
use crate::model::ops::{DbStats, RetentionPolicy, ScheduleState, SlotFire, SlotFired};
use crate::model::views::{ChatTimeline, ConnectionActivity, ConnectionFailures};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Intake: storing webhook events with their runs, and the quarantine of requests intake could not decode.
#[async_trait]
pub trait Intake: Send + Sync {
    /// Stores the event and queues its runs in one transaction. A known `dedupe_key` creates
    /// nothing and answers the first event's id with `duplicate = true`.
    async fn ingest(&self, event: NewEvent, runs: Vec<NewRun>) -> StoreResult<Ingested>;
    /// Keeps a request intake could not decode.
    async fn quarantine(&self, entry: NewQuarantine) -> StoreResult<QuarantineId>;
    /// Quarantined requests, newest first, older than `before` when given.
    async fn quarantine_list(
        &self,
        limit: usize,
        before: Option<QuarantineId>,
    ) -> StoreResult<Vec<QuarantineSummary>>;
    async fn quarantine_get(&self, id: QuarantineId) -> StoreResult<Option<QuarantineEntry>>;
    /// True when it existed.
    async fn quarantine_delete(&self, id: QuarantineId) -> StoreResult<bool>;
}

/// Dispatch: claiming runs lane by lane, finishing attempts, requeueing, recovering a dead process's runs.
#[async_trait]
pub trait Dispatch: Send + Sync {
    /// Claims up to `limit` runs, at most one per lane: a run is claimable when it is `queued`
    /// (or `retrying` with `not_before <= now`), it is the oldest unfinished run of its lane and
    /// no run of its lane is `running`. Claimed runs become `running` on `node`, attempt + 1.
    /// A node whose lease has expired at `now`, or that left, claims nothing until it heartbeats
    /// again (self-fencing); a node that never heartbeat is not fenced.
    async fn claim(
        &self,
        node: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ClaimedRun>>;
    /// Records the attempt (with its actions and logs) and moves the run on as `next` says.
    /// Refused with `Conflict` unless the run is `running` with this attempt number.
    async fn finish(&self, run_id: RunId, attempt: FinishedAttempt, next: Next) -> StoreResult<()> {
        self.finish_recorded(run_id, attempt, next, Vec::new())
            .await
    }
    /// `finish`, writing the attempt's deferred ledger records in the same transaction (before
    /// the attempt, so its detail can refer to them). A finish refused with `Conflict` still
    /// writes the records that complete recorded intents, in a transaction of their own
    /// ([`LedgerRecord::results_only`]), and none of the whole ones.
    async fn finish_recorded(
        &self,
        run_id: RunId,
        attempt: FinishedAttempt,
        next: Next,
        ledger: Vec<LedgerRecord>,
    ) -> StoreResult<()>;
    /// Puts runs left `running` by a dead process back to `queued` (attempt count kept, the
    /// interrupted attempt recorded as `interrupted`). Single-node backends recover every
    /// running run; `node` names the dead node. Returns how many.
    async fn recover(&self, node: &str) -> StoreResult<usize>;
    /// Puts a finished run back at the end of its lane as `queued` (`is_replay` set when
    /// `replay`). `Conflict` if it is unfinished, `NotFound` if it does not exist.
    async fn requeue(&self, run_id: RunId, replay: bool) -> StoreResult<()>;
    /// `requeue` for every finished run matching the filter (up to its limit); returns their ids.
    async fn requeue_where(&self, filter: RunFilter, replay: bool) -> StoreResult<Vec<RunId>>;
    async fn queue_depth(&self) -> StoreResult<QueueDepth>;
    /// The earliest `not_before` of a waiting `retrying` lane head: when to claim again if
    /// nothing else wakes the dispatcher.
    async fn next_retry_at(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Notified (`notify_waiters` and `notify_one`) after every commit that may have made work
    /// claimable: new runs, finished runs, requeues, recovery. Enable a `notified()` future
    /// before calling `claim`, then await it when `claim` returned nothing.
    fn work_notify(&self) -> Arc<Notify>;
}

/// Nodes: the shared clock, leases, heartbeats and the recovery of expired nodes' runs.
#[async_trait]
pub trait Nodes: Send + Sync {
    /// The clock leases are measured in: the database server's for PostgreSQL (`now()`), so
    /// nodes whose clocks disagree still agree on whose lease is live; the local clock for
    /// SQLite (one process, one machine). Pass it as `now` to `take_lease`, `heartbeat` and
    /// `recover_expired`.
    async fn clock(&self) -> StoreResult<DateTime<Utc>>;
    /// Takes `node`'s lease for a new process: `Granted` (a new lease from `now`) when the node
    /// has none, left, or let it expire at `now`; `Held` with the live lease otherwise, changing
    /// nothing. The SQLite backend always grants: its file lock already proved no other process
    /// serves the database.
    async fn take_lease(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseTaken>;

    /// Renews `node`'s lease until `now + lease` (a new lease, with `started_at = now`, when the
    /// node had none, had left or had let it expire). `Lost` when another process took the
    /// node's lease since this one took or renewed it (PostgreSQL: each store instance is one
    /// holder; SQLite: one process serves the file, so never).
    async fn heartbeat(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Renewal>;
    /// Recovers the runs left `running` by nodes whose lease expired (`lease_until <= now`) or
    /// that left: each goes back to `queued` at its lane's head (attempt recorded `interrupted`),
    /// exactly once even when several nodes call this at once. Returns how many.
    async fn recover_expired(&self, now: DateTime<Utc>) -> StoreResult<usize>;
    /// Every node that ever heartbeat (at most [`MAX_NODES`](crate::MAX_NODES), by name), live
    /// or not at `now`, with the runs it holds.
    async fn nodes(&self, now: DateTime<Utc>) -> StoreResult<Vec<NodeInfo>>;
    /// Ends `node`'s lease now (clean shutdown, after its in-flight runs finished); runs it still
    /// holds become recoverable at once. A later heartbeat starts a new lease.
    async fn leave(&self, node: &str) -> StoreResult<()>;
}

/// After a `finish_recorded` (`done`): when it was refused with `Conflict`, writes `results` (the
/// [`LedgerRecord::results_only`] of its records), as that method promises.
pub(crate) async fn record_if_refused<L: Ledger + ?Sized>(
    ledger: &L,
    done: &StoreResult<()>,
    results: Vec<LedgerRecord>,
) -> StoreResult<()> {
    if matches!(done, Err(crate::StoreError::Conflict { .. })) && !results.is_empty() {
        ledger.ledger_record(results).await?;
    }
    Ok(())
}

/// The action ledger: intents and results of effectful host calls, for exactly-once effects.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Records the intent unless (run, seq) is already known; see [`LedgerBegin`].
    async fn ledger_begin(&self, intent: LedgerIntent) -> StoreResult<LedgerBegin> {
        self.ledger_begin_after(Vec::new(), intent).await
    }
    /// Writes the run's deferred `earlier` records, then `ledger_begin`s the intent, in one
    /// transaction: what the run learned before this effect is durable with its intent.
    async fn ledger_begin_after(
        &self,
        earlier: Vec<LedgerRecord>,
        intent: LedgerIntent,
    ) -> StoreResult<LedgerBegin>;
    /// What `ledger_begin` would answer for the intent, recording nothing ([`LedgerBegin::Fresh`]
    /// when (run, seq) is unknown). A read: for actions whose intent is deferred.
    async fn ledger_lookup(&self, intent: LedgerIntent) -> StoreResult<LedgerBegin>;
    /// Records the result of an intent. `NotFound` without an intent.
    async fn ledger_complete(&self, done: LedgerResult) -> StoreResult<()> {
        let record = LedgerRecord { intent: None, done };
        self.ledger_record(vec![record]).await
    }
    /// Writes deferred records now, in one transaction (see [`LedgerRecord`] for each one's rule).
    async fn ledger_record(&self, records: Vec<LedgerRecord>) -> StoreResult<()>;
    /// Records a reconciliation decision. `NotFound` without an intent.
    async fn ledger_decide(&self, run_id: RunId, seq: u32, decision: String) -> StoreResult<()>;
    /// The run's ledger entries by seq.
    async fn ledger_for_run(&self, run_id: RunId) -> StoreResult<Vec<LedgerEntry>>;
    /// True when an effect id (e.g. a Radist message id) was produced by our own call.
    async fn is_own_effect(&self, effect_id: &str) -> StoreResult<bool>;
    /// True when a `messages.send` intent on that chat, recorded at or after `since`, has no
    /// result yet. `since` bounds how long an intent whose result never came (a crash mid-send
    /// that reconciliation has not settled yet) marks the chat's messages as our own echoes.
    async fn pending_intent_for_chat(
        &self,
        connection_id: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Plugins' key-value storage, by namespace.
#[async_trait]
pub trait Kv: Send + Sync {
    async fn kv_get(&self, namespace: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Sets a key. With `max_keys`, a new key past the quota is refused with `KvQuota` (checked
    /// in the same transaction as the write); overwriting an existing key is always allowed.
    async fn kv_set(
        &self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: Option<u64>,
    ) -> StoreResult<()>;
    /// True when the key existed.
    async fn kv_delete(&self, namespace: &str, key: &str) -> StoreResult<bool>;
    /// Keys starting with `prefix`, in byte order, at most `limit`.
    async fn kv_list(
        &self,
        namespace: &str,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<String>>;
    async fn kv_count(&self, namespace: &str) -> StoreResult<u64>;
}

/// The cache of links of files uploaded before.
#[async_trait]
pub trait Uploads: Send + Sync {
    async fn upload_get(&self, company_id: i64, sha256: &str) -> StoreResult<Option<String>>;
    async fn upload_put(&self, company_id: i64, sha256: &str, url: &str) -> StoreResult<()>;
}

/// History: runs and events as listed and shown by the CLI, the admin API and the dashboard.
#[async_trait]
pub trait History: Send + Sync {
    /// Runs, newest first, at most [`MAX_PAGE`](crate::MAX_PAGE) of them.
    async fn list_runs(&self, filter: RunFilter) -> StoreResult<Vec<RunSummary>>;
    /// How many runs match the filter (its `limit` and `before` ignored) per status; statuses
    /// without runs are left out.
    async fn count_runs(&self, filter: RunFilter) -> StoreResult<Vec<StatusCount>>;
    /// Like [`count_runs`](Self::count_runs), among the newest `window` runs only (by id), so
    /// the work is bounded whatever the store holds; `complete` when no older run exists.
    async fn count_recent_runs(&self, filter: RunFilter, window: u64) -> StoreResult<RecentCounts>;
    async fn get_run(&self, run_id: RunId) -> StoreResult<Option<RunDetail>>;
    /// Events without their payloads, newest first, at most [`MAX_PAGE`](crate::MAX_PAGE).
    async fn list_events(&self, filter: EventFilter) -> StoreResult<Vec<EventSummary>>;
    async fn get_event(&self, event_id: EventId) -> StoreResult<Option<EventDetail>>;
    /// The oldest run kept (the lowest id), if any.
    async fn oldest_run(&self) -> StoreResult<Option<RunSummary>>;
    /// Every connection that has events, by id, at most `limit` (cut to
    /// [`MAX_PAGE`](crate::MAX_PAGE)), each with its newest event and newest status event;
    /// index lookups per connection, never a scan of the events.
    async fn connections(&self, limit: usize) -> StoreResult<Vec<ConnectionActivity>>;
    /// Failed runs (every failed ending) that ended at or after `since`, counted per connection
    /// and error, most runs first, at most `limit` groups (cut to [`MAX_PAGE`](crate::MAX_PAGE)
    /// times 10); read by the `runs_status` index, never a scan of older runs.
    async fn failures_by_connection(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionFailures>>;
    /// A chat's newest `limit` events (with payloads) and newest `limit` runs with their ledger
    /// entries (`limit` cut to [`MAX_PAGE`](crate::MAX_PAGE)), read in one transaction.
    async fn chat_timeline(
        &self,
        connection_id: i64,
        chat_id: i64,
        limit: usize,
    ) -> StoreResult<ChatTimeline>;
    /// One pass of the payload word indexer (the background indexer runs these, see
    /// [`indexer`](crate::indexer)): indexes up to `limit` events the index has not seen.
    async fn index_words(&self, limit: usize) -> StoreResult<WordIndexPass>;
}

/// Schedules: fired and skipped slots, and their counters.
#[async_trait]
pub trait Schedules: Send + Sync {
    /// Fires due slots, in order, in one transaction. Each records (schedule_key, slot) under a
    /// unique key together with its event and run — or, past its `max_unfinished` bound, marks
    /// the slot handled and counts it skipped — so a slot is handled once, ever, whichever node
    /// or restart tries it again. The answer has one entry per slot, in order.
    async fn fire_slots(&self, fires: Vec<SlotFire>) -> StoreResult<Vec<SlotFired>>;
    /// Fires one slot with no overlap bound: `None` when that slot was already handled.
    async fn fire_slot(
        &self,
        schedule_key: &str,
        slot: DateTime<Utc>,
        catch_up: bool,
        event: NewEvent,
        run: NewRun,
    ) -> StoreResult<Option<RunId>> {
        let fire = SlotFire {
            schedule_key: schedule_key.to_owned(),
            slot,
            catch_up,
            max_unfinished: None,
            event,
            run,
        };
        let fired = self.fire_slots(vec![fire]).await?;
        Ok(match fired.first() {
            Some(SlotFired::Fired(run_id)) => Some(*run_id),
            _ => None,
        })
    }
    /// Marks a slot handled without a run (skipped by the overlap policy, or the newest of the
    /// slots missed while down), so `last_slot` moves past it and it is never caught up later.
    async fn skip_slot(&self, schedule_key: &str, slot: DateTime<Utc>) -> StoreResult<()>;
    /// The newest slot handled: fired, or marked by `skip_slot`.
    async fn last_slot(&self, schedule_key: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// Unfinished runs of this schedule in `lane` (what an overlap policy's bound counts, see
    /// [`SlotFire::max_unfinished`]).
    async fn schedule_unfinished_runs(&self, schedule_key: &str, lane: &str) -> StoreResult<u64>;
    /// Adds to the schedule's skipped and missed counters.
    async fn schedule_count(
        &self,
        schedule_key: &str,
        skipped: u64,
        missed: u64,
    ) -> StoreResult<()>;
    async fn schedule_states(&self) -> StoreResult<Vec<ScheduleState>>;
}

/// Operations: retention, checkpoints, statistics and backups.
#[async_trait]
pub trait Operations: Send + Sync {
    /// Deletes finished runs older than the policy allows (by their last update), with their
    /// attempts and ledger rows, and events left without runs, in batches of `batch` runs that
    /// each hold the writer briefly. Also forgets nodes that left, or whose lease ran out, longer
    /// ago than the policy's longest age and that hold no running run. Returns how many runs were
    /// deleted.
    async fn purge(
        &self,
        policy: &RetentionPolicy,
        batch: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<usize>;
    /// Returns free space to the file system (WAL checkpoint, incremental vacuum).
    async fn checkpoint(&self) -> StoreResult<()>;
    async fn stats(&self) -> StoreResult<DbStats>;
    /// Writes a consistent copy of the database to `path` while the store keeps running.
    async fn backup(&self, path: &Path) -> StoreResult<()>;
}

/// What a node's lease keeper (`serve/nodes.rs`) uses: its lease, heartbeats and the recovery
/// of dead nodes' runs ([`Nodes`]), and the resumption of the runs it left itself and the
/// dispatcher's wake-up when it may claim again ([`Dispatch`]).
pub trait Leasing: Nodes + Dispatch {}

impl<T: Nodes + Dispatch> Leasing for T {}

/// What the admin API and the dashboard use: runs and events to list and show ([`History`]),
/// quarantined requests to list, retry and drop ([`Intake`]), replays and the queue's depth
/// ([`Dispatch`]), nodes, schedules and the database's size ([`Nodes`], [`Schedules`],
/// [`Operations`]), and the readiness probe's write ([`Kv`]). Never the ledger nor uploads.
pub trait Console: History + Intake + Dispatch + Nodes + Schedules + Operations + Kv {}

impl<T: History + Intake + Dispatch + Nodes + Schedules + Operations + Kv> Console for T {}
