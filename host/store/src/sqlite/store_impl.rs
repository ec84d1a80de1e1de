//! [`Store`] for [`SqliteStore`]: each method sends one job to the writer (writes, group
//! committed) or to a reader (reads) and awaits its answer.

use super::dedupe::StoredKey;
use super::fail::Res;
use super::ledger::PackedRecord;
use super::worker::Writer;
use super::{
    SqliteStore, counts, dispatch, history, intake, kv, ledger, nodes, ops, packing, schedule,
    views, words,
};
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
use crate::model::ledger::{LedgerBegin, LedgerEntry, LedgerIntent, LedgerRecord};
use crate::model::nodes::{LeaseTaken, NodeInfo, Renewal};
use crate::model::ops::{DbStats, RetentionPolicy, ScheduleState, SlotFire, SlotFired};
use crate::model::views::{ChatTimeline, ConnectionActivity, ConnectionFailures};
use crate::role;
use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[async_trait]
impl role::Intake for SqliteStore {
    async fn ingest(&self, event: NewEvent, runs: Vec<NewRun>) -> StoreResult<Ingested> {
        let mut event = event;
        let key = StoredKey::new(&event.dedupe_key, &event.payload);
        let payload = packing::pack(std::mem::take(&mut event.payload));
        let done = self
            .workers
            .write(move |w| intake::ingest(w, &event, (&payload, &key), &runs))
            .await;
        self.words_wake.notify_one();
        done
    }

    async fn quarantine(&self, entry: NewQuarantine) -> StoreResult<QuarantineId> {
        self.workers
            .write(move |w| intake::quarantine(&w.conn, &entry))
            .await
    }

    async fn quarantine_list(
        &self,
        limit: usize,
        before: Option<QuarantineId>,
    ) -> StoreResult<Vec<QuarantineSummary>> {
        self.workers
            .read(move |c| intake::quarantine_list(c, limit, before))
            .await
    }

    async fn quarantine_get(&self, id: QuarantineId) -> StoreResult<Option<QuarantineEntry>> {
        self.workers
            .read(move |c| intake::quarantine_get(c, id))
            .await
    }

    async fn quarantine_delete(&self, id: QuarantineId) -> StoreResult<bool> {
        self.workers
            .write(move |w| intake::quarantine_delete(&w.conn, id))
            .await
    }
}

#[async_trait]
impl role::Dispatch for SqliteStore {
    async fn claim(
        &self,
        node: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ClaimedRun>> {
        let node = node.to_owned();
        self.workers
            .write(move |w| dispatch::claim(w, &node, limit, now))
            .await
    }

    async fn finish_recorded(
        &self,
        run_id: RunId,
        attempt: FinishedAttempt,
        next: Next,
        ledger: Vec<LedgerRecord>,
    ) -> StoreResult<()> {
        let results = LedgerRecord::results_only(&ledger);
        let ledger = PackedRecord::pack_all(ledger);
        let done = self
            .workers
            .write(move |w| dispatch::finish(w, run_id, &attempt, &next, &ledger))
            .await;
        role::record_if_refused(self, &done, results).await?;
        done
    }

    async fn recover(&self, _node: &str) -> StoreResult<usize> {
        // One node owns a SQLite file, so every running run belongs to the dead process.
        self.workers.write(dispatch::recover).await
    }

    async fn requeue(&self, run_id: RunId, replay: bool) -> StoreResult<()> {
        self.workers
            .write(move |w| dispatch::requeue(w, run_id, replay))
            .await
    }

    async fn requeue_where(&self, filter: RunFilter, replay: bool) -> StoreResult<Vec<RunId>> {
        // The index file is not attached to the writer (its write transactions would lock it):
        // the runs are listed by a read first, then requeued unless one is unfinished by then.
        let filter = Arc::new(filter);
        let listed = self
            .read_indexed(move |c| history::list_runs(c, &filter))
            .await?;
        let finished: Vec<RunId> = listed
            .into_iter()
            .filter(|r| !r.status.is_unfinished())
            .map(|r| r.run_id)
            .collect();
        self.workers
            .write(move |w| dispatch::requeue_finished(w, &finished, replay))
            .await
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        self.workers.read(dispatch::queue_depth).await
    }

    async fn next_retry_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.workers
            .read(|c| Ok(super::fail::opt_from_us(super::lanes::next_wake(c)?)?))
            .await
    }

    fn work_notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }
}

#[async_trait]
impl role::Nodes for SqliteStore {
    async fn clock(&self) -> StoreResult<DateTime<Utc>> {
        Ok(Utc::now())
    }

    async fn take_lease(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseTaken> {
        self.write_lease(nodes::take_over, node, lease, now).await?;
        Ok(LeaseTaken::Granted)
    }

    /// Always `Renewed`: the file lock proved this is the one process serving the database.
    async fn heartbeat(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Renewal> {
        self.write_lease(nodes::heartbeat, node, lease, now).await?;
        Ok(Renewal::Renewed)
    }

    async fn recover_expired(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        self.workers
            .write(move |w| nodes::recover_expired(w, now))
            .await
    }

    async fn nodes(&self, now: DateTime<Utc>) -> StoreResult<Vec<NodeInfo>> {
        self.workers.read(move |c| nodes::list(c, now)).await
    }

    async fn leave(&self, node: &str) -> StoreResult<()> {
        let node = node.to_owned();
        let now = Utc::now();
        self.workers
            .write(move |w| nodes::leave(w, &node, now))
            .await
    }
}

/// A write of `node`'s lease of `lease` from `now`: `nodes::take_over` or `nodes::heartbeat`.
type LeaseWrite = fn(&mut Writer, &str, Duration, DateTime<Utc>) -> Res<()>;

impl SqliteStore {
    /// Runs `write` for `node`'s lease on the writer.
    async fn write_lease(
        &self,
        write: LeaseWrite,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let node = node.to_owned();
        self.workers
            .write(move |w| write(w, &node, lease, now))
            .await
    }
}

#[async_trait]
impl role::Ledger for SqliteStore {
    async fn ledger_begin_after(
        &self,
        earlier: Vec<LedgerRecord>,
        intent: LedgerIntent,
    ) -> StoreResult<LedgerBegin> {
        let earlier = PackedRecord::pack_all(earlier);
        let request = packing::pack(intent.request.clone());
        self.workers
            .write(move |w| {
                ledger::record(w, &earlier)?;
                ledger::begin(w, &intent, &request)
            })
            .await
    }

    async fn ledger_lookup(&self, intent: LedgerIntent) -> StoreResult<LedgerBegin> {
        self.workers.read(move |c| ledger::lookup(c, &intent)).await
    }

    async fn ledger_record(&self, records: Vec<LedgerRecord>) -> StoreResult<()> {
        let records = PackedRecord::pack_all(records);
        self.workers
            .write(move |w| ledger::record(w, &records))
            .await
    }

    async fn ledger_decide(&self, run_id: RunId, seq: u32, decision: String) -> StoreResult<()> {
        self.workers
            .write(move |w| ledger::decide(&w.conn, run_id, seq, &decision))
            .await
    }

    async fn ledger_for_run(&self, run_id: RunId) -> StoreResult<Vec<LedgerEntry>> {
        self.workers.read(move |c| ledger::for_run(c, run_id)).await
    }

    async fn is_own_effect(&self, effect_id: &str) -> StoreResult<bool> {
        let effect_id = effect_id.to_owned();
        self.workers
            .read(move |c| ledger::is_own_effect(c, &effect_id))
            .await
    }

    async fn pending_intent_for_chat(
        &self,
        connection_id: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.workers
            .read(move |c| ledger::pending_for_chat(c, connection_id, chat_id, since))
            .await
    }
}

#[async_trait]
impl role::Kv for SqliteStore {
    async fn kv_get(&self, namespace: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let (ns, key) = (namespace.to_owned(), key.to_owned());
        self.workers.read(move |c| kv::get(c, &ns, &key)).await
    }

    async fn kv_set(
        &self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: Option<u64>,
    ) -> StoreResult<()> {
        let (ns, key) = (namespace.to_owned(), key.to_owned());
        self.workers
            .write(move |w| kv::set(&w.conn, &ns, &key, &value, max_keys))
            .await
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> StoreResult<bool> {
        let (ns, key) = (namespace.to_owned(), key.to_owned());
        self.workers
            .write(move |w| kv::delete(&w.conn, &ns, &key))
            .await
    }

    async fn kv_list(
        &self,
        namespace: &str,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let (ns, prefix) = (namespace.to_owned(), prefix.to_owned());
        self.workers
            .read(move |c| kv::list(c, &ns, &prefix, limit))
            .await
    }

    async fn kv_count(&self, namespace: &str) -> StoreResult<u64> {
        let ns = namespace.to_owned();
        self.workers.read(move |c| kv::count(c, &ns)).await
    }
}

#[async_trait]
impl role::Uploads for SqliteStore {
    async fn upload_get(&self, company_id: i64, sha256: &str) -> StoreResult<Option<String>> {
        let sha256 = sha256.to_owned();
        self.workers
            .read(move |c| kv::upload_get(c, company_id, &sha256))
            .await
    }

    async fn upload_put(&self, company_id: i64, sha256: &str, url: &str) -> StoreResult<()> {
        let (sha256, url) = (sha256.to_owned(), url.to_owned());
        self.workers
            .write(move |w| kv::upload_put(&w.conn, company_id, &sha256, &url))
            .await
    }
}

#[async_trait]
impl role::History for SqliteStore {
    async fn list_runs(&self, filter: RunFilter) -> StoreResult<Vec<RunSummary>> {
        let filter = Arc::new(filter);
        self.read_indexed(move |c| history::list_runs(c, &filter))
            .await
    }

    async fn count_runs(&self, filter: RunFilter) -> StoreResult<Vec<StatusCount>> {
        let filter = Arc::new(filter);
        self.read_indexed(move |c| counts::count_runs(c, &filter))
            .await
    }

    async fn count_recent_runs(&self, filter: RunFilter, window: u64) -> StoreResult<RecentCounts> {
        let filter = Arc::new(filter);
        self.read_indexed(move |c| counts::count_recent_runs(c, &filter, window))
            .await
    }

    async fn get_run(&self, run_id: RunId) -> StoreResult<Option<RunDetail>> {
        self.workers
            .read(move |c| history::get_run(c, run_id))
            .await
    }

    async fn list_events(&self, filter: EventFilter) -> StoreResult<Vec<EventSummary>> {
        self.workers
            .read(move |c| history::list_events(c, &filter))
            .await
    }

    async fn get_event(&self, event_id: EventId) -> StoreResult<Option<EventDetail>> {
        self.workers
            .read(move |c| history::get_event(c, event_id))
            .await
    }

    async fn oldest_run(&self) -> StoreResult<Option<RunSummary>> {
        self.workers.read(views::oldest_run).await
    }

    async fn connections(&self, limit: usize) -> StoreResult<Vec<ConnectionActivity>> {
        self.workers
            .read(move |c| views::connections(c, limit))
            .await
    }

    async fn failures_by_connection(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionFailures>> {
        self.workers
            .read(move |c| views::failures_by_connection(c, crate::convert::to_us(since), limit))
            .await
    }

    async fn index_words(&self, limit: usize) -> StoreResult<WordIndexPass> {
        words::pass(&self.words, &self.workers, limit).await
    }

    async fn chat_timeline(
        &self,
        connection_id: i64,
        chat_id: i64,
        limit: usize,
    ) -> StoreResult<ChatTimeline> {
        self.workers
            .read(move |c| views::chat_timeline(c, connection_id, chat_id, limit))
            .await
    }
}

#[async_trait]
impl role::Schedules for SqliteStore {
    async fn fire_slots(&self, fires: Vec<SlotFire>) -> StoreResult<Vec<SlotFired>> {
        self.workers
            .write(move |w| schedule::fire_all(w, &fires))
            .await
    }

    async fn skip_slot(&self, schedule_key: &str, slot: DateTime<Utc>) -> StoreResult<()> {
        let key = schedule_key.to_owned();
        self.workers
            .write(move |w| schedule::skip(w, &key, slot))
            .await
    }

    async fn last_slot(&self, schedule_key: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let key = schedule_key.to_owned();
        self.workers
            .read(move |c| schedule::last_slot(c, &key))
            .await
    }

    async fn schedule_unfinished_runs(&self, schedule_key: &str, lane: &str) -> StoreResult<u64> {
        let (key, lane) = (schedule_key.to_owned(), lane.to_owned());
        self.workers
            .read(move |c| schedule::unfinished_runs(c, &key, &lane))
            .await
    }

    async fn schedule_count(
        &self,
        schedule_key: &str,
        skipped: u64,
        missed: u64,
    ) -> StoreResult<()> {
        let key = schedule_key.to_owned();
        self.workers
            .write(move |w| schedule::count(&w.conn, &key, skipped, missed))
            .await
    }

    async fn schedule_states(&self) -> StoreResult<Vec<ScheduleState>> {
        self.workers.read(schedule::states).await
    }
}

#[async_trait]
impl role::Operations for SqliteStore {
    async fn purge(
        &self,
        policy: &RetentionPolicy,
        batch: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let batch = batch.clamp(1, crate::MAX_PAGE);
        let runs = policy.clone();
        let total = self
            .purge_batches(batch, move |w, n| ops::purge_batch(&w.conn, &runs, n, now))
            .await?;
        for (what, cutoff) in policy.aged_out(now) {
            self.purge_batches(batch, move |w, n| ops::purge_aged(&w.conn, what, cutoff, n))
                .await?;
        }
        if let Some(before) = policy.forget_nodes_before(now) {
            self.workers
                .write(move |w| nodes::prune(&w.conn, before))
                .await?;
        }
        Ok(total)
    }

    async fn checkpoint(&self) -> StoreResult<()> {
        self.checkpoints.run().await?;
        self.words.run(|words| ops::checkpoint(words)).await
    }

    async fn stats(&self) -> StoreResult<DbStats> {
        let path = self.path.clone();
        self.workers.read(move |c| ops::stats(c, &path)).await
    }

    async fn backup(&self, path: &Path) -> StoreResult<()> {
        let path = path.to_owned();
        self.workers.read(move |c| ops::backup(c, &path)).await
    }
}
