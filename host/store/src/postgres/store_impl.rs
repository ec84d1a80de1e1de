//! [`Store`] for [`PostgresStore`]: every method is one transaction on a pooled connection
//! (`in_tx!`, run again on a deadlock or serialization failure), except the per-run writes
//! (`ingest`, `finish`, the ledger's intent, result and decision), which concurrent runs commit
//! together (`group`). Methods that may have made work claimable wake this process's
//! dispatchers after the commit; their transactions also `NOTIFY`, which wakes the other nodes
//! through their listeners.

use super::fail::{Fail, Res};
use super::group::{Done, Write};
use super::{
    PostgresStore, RETRIES, counts, dispatch, history, in_snapshot_indexed, in_tx, intake, kv,
    ledger, nodes, ops, schedule, views, words,
};
use crate::error::StoreError;
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
use tokio_postgres::IsolationLevel;

impl PostgresStore {
    /// Wakes local dispatchers when `woke` says the committed call may have added work.
    fn woke<T>(&self, result: StoreResult<T>, woke: impl Fn(&T) -> bool) -> StoreResult<T> {
        if let Ok(value) = &result
            && woke(value)
        {
            self.wake_local();
        }
        result
    }
}

#[async_trait]
impl role::Intake for PostgresStore {
    async fn ingest(&self, event: NewEvent, runs: Vec<NewRun>) -> StoreResult<Ingested> {
        let done = match self.group.write(Write::Ingest { event, runs }).await {
            Ok(Done::Ingested(ingested)) => Ok(ingested),
            Ok(_) => Err(StoreError::Database {
                message: "the event was stored but not answered".into(),
            }),
            Err(e) => Err(e),
        };
        if let Ok(ingested) = &done {
            self.statistics.stored(&self.pool, ingested.event_id.0);
        }
        self.words_wake.notify_one();
        self.woke(done, |i| !i.run_ids.is_empty())
    }

    async fn quarantine(&self, entry: NewQuarantine) -> StoreResult<QuarantineId> {
        in_tx!(self, |tx| intake::quarantine(&tx, &entry))
    }

    async fn quarantine_list(
        &self,
        limit: usize,
        before: Option<QuarantineId>,
    ) -> StoreResult<Vec<QuarantineSummary>> {
        in_tx!(self, |tx| intake::quarantine_list(&tx, limit, before))
    }

    async fn quarantine_get(&self, id: QuarantineId) -> StoreResult<Option<QuarantineEntry>> {
        in_tx!(self, |tx| intake::quarantine_get(&tx, id))
    }

    async fn quarantine_delete(&self, id: QuarantineId) -> StoreResult<bool> {
        in_tx!(self, |tx| intake::quarantine_delete(&tx, id))
    }
}

#[async_trait]
impl role::Dispatch for PostgresStore {
    async fn claim(
        &self,
        node: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ClaimedRun>> {
        let fence_now = self.on_database_clock(now);
        in_tx!(self, |tx| dispatch::claim(
            &tx,
            node,
            &self.holder,
            limit,
            now,
            fence_now
        ))
    }

    async fn finish_recorded(
        &self,
        run_id: RunId,
        attempt: FinishedAttempt,
        next: Next,
        ledger: Vec<LedgerRecord>,
    ) -> StoreResult<()> {
        let results = LedgerRecord::results_only(&ledger);
        let write = Write::Finish {
            run: run_id,
            attempt,
            next,
            ledger,
        };
        let done = self.group.write(write).await.map(|_| ());
        role::record_if_refused(self, &done, results).await?;
        self.woke(done, |()| true)
    }

    async fn recover(&self, node: &str) -> StoreResult<usize> {
        let done = in_tx!(self, |tx| dispatch::recover(&tx, node));
        self.woke(done, |n| *n > 0)
    }

    async fn requeue(&self, run_id: RunId, replay: bool) -> StoreResult<()> {
        let done = in_tx!(self, |tx| dispatch::requeue(&tx, run_id, replay));
        self.woke(done, |()| true)
    }

    async fn requeue_where(&self, filter: RunFilter, replay: bool) -> StoreResult<Vec<RunId>> {
        let catch_up = crate::indexer::CatchUp::start();
        let done = loop {
            let done = in_tx!(self, |tx| dispatch::requeue_where(&tx, &filter, replay));
            match done {
                Ok(None) => {
                    catch_up.check()?;
                    self.index_pass().await?;
                }
                other => break other.map(|d| d.unwrap_or_default()),
            }
        };
        self.woke(done, |ids| !ids.is_empty())
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        in_tx!(self, |tx| dispatch::queue_depth(&tx))
    }

    async fn next_retry_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        in_tx!(self, |tx| dispatch::next_retry_at(&tx))
    }

    fn work_notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }
}

#[async_trait]
impl role::Nodes for PostgresStore {
    async fn clock(&self) -> StoreResult<DateTime<Utc>> {
        let asked = Utc::now();
        let clock = in_tx!(self, |tx| nodes::clock(&tx))?;
        self.measured_clock(asked, clock);
        Ok(clock)
    }

    async fn take_lease(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseTaken> {
        in_tx!(self, |tx| nodes::take(&tx, node, &self.holder, lease, now))
    }

    async fn heartbeat(
        &self,
        node: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Renewal> {
        in_tx!(self, |tx| nodes::heartbeat(
            &tx,
            node,
            &self.holder,
            lease,
            now
        ))
    }

    async fn recover_expired(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let done = in_tx!(self, |tx| nodes::recover_expired(&tx, now));
        self.woke(done, |n| *n > 0)
    }

    async fn nodes(&self, now: DateTime<Utc>) -> StoreResult<Vec<NodeInfo>> {
        in_tx!(self, |tx| nodes::list(&tx, now))
    }

    async fn leave(&self, node: &str) -> StoreResult<()> {
        in_tx!(self, |tx| nodes::leave(&tx, node, &self.holder))
    }
}

#[async_trait]
impl role::Ledger for PostgresStore {
    async fn ledger_begin_after(
        &self,
        earlier: Vec<LedgerRecord>,
        intent: LedgerIntent,
    ) -> StoreResult<LedgerBegin> {
        match self.group.write(Write::Begin { earlier, intent }).await? {
            Done::Begin(begun) => Ok(begun),
            _ => Err(StoreError::Database {
                message: "the ledger intent was written but not answered".into(),
            }),
        }
    }

    async fn ledger_lookup(&self, intent: LedgerIntent) -> StoreResult<LedgerBegin> {
        in_tx!(self, |tx| ledger::lookup(&tx, &intent))
    }

    async fn ledger_record(&self, records: Vec<LedgerRecord>) -> StoreResult<()> {
        self.group.write(Write::Record(records)).await.map(|_| ())
    }

    async fn ledger_decide(&self, run_id: RunId, seq: u32, decision: String) -> StoreResult<()> {
        let write = Write::Decide {
            run: run_id,
            seq,
            decision,
        };
        self.group.write(write).await.map(|_| ())
    }

    async fn ledger_for_run(&self, run_id: RunId) -> StoreResult<Vec<LedgerEntry>> {
        in_tx!(self, |tx| ledger::for_run(&tx, run_id))
    }

    async fn is_own_effect(&self, effect_id: &str) -> StoreResult<bool> {
        in_tx!(self, |tx| ledger::is_own_effect(&tx, effect_id))
    }

    async fn pending_intent_for_chat(
        &self,
        connection_id: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        in_tx!(self, |tx| ledger::pending_for_chat(
            &tx,
            connection_id,
            chat_id,
            since
        ))
    }
}

#[async_trait]
impl role::Kv for PostgresStore {
    async fn kv_get(&self, namespace: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        in_tx!(self, |tx| kv::get_value(&tx, namespace, key))
    }

    async fn kv_set(
        &self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: Option<u64>,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| kv::set(&tx, namespace, key, &value, max_keys))
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> StoreResult<bool> {
        in_tx!(self, |tx| kv::delete(&tx, namespace, key))
    }

    async fn kv_list(
        &self,
        namespace: &str,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        in_tx!(self, |tx| kv::list(&tx, namespace, prefix, limit))
    }

    async fn kv_count(&self, namespace: &str) -> StoreResult<u64> {
        in_tx!(self, |tx| kv::count(&tx, namespace))
    }
}

#[async_trait]
impl role::Uploads for PostgresStore {
    async fn upload_get(&self, company_id: i64, sha256: &str) -> StoreResult<Option<String>> {
        in_tx!(self, |tx| kv::upload_get(&tx, company_id, sha256))
    }

    async fn upload_put(&self, company_id: i64, sha256: &str, url: &str) -> StoreResult<()> {
        in_tx!(self, |tx| kv::upload_put(&tx, company_id, sha256, url))
    }
}

#[async_trait]
impl role::History for PostgresStore {
    async fn list_runs(&self, filter: RunFilter) -> StoreResult<Vec<RunSummary>> {
        in_snapshot_indexed!(self, |tx| history::list_runs(&tx, &filter))
    }

    async fn count_runs(&self, filter: RunFilter) -> StoreResult<Vec<StatusCount>> {
        in_snapshot_indexed!(self, |tx| counts::count_runs(&tx, &filter))
    }

    async fn count_recent_runs(&self, filter: RunFilter, window: u64) -> StoreResult<RecentCounts> {
        in_snapshot_indexed!(self, |tx| counts::count_recent_runs(&tx, &filter, window))
    }

    async fn get_run(&self, run_id: RunId) -> StoreResult<Option<RunDetail>> {
        in_tx!(self, |tx| history::get_run(&tx, run_id))
    }

    async fn list_events(&self, filter: EventFilter) -> StoreResult<Vec<EventSummary>> {
        in_tx!(self, |tx| history::list_events(&tx, &filter))
    }

    async fn get_event(&self, event_id: EventId) -> StoreResult<Option<EventDetail>> {
        in_tx!(self, |tx| history::get_event(&tx, event_id))
    }

    async fn oldest_run(&self) -> StoreResult<Option<RunSummary>> {
        in_tx!(self, |tx| views::oldest_run(&tx))
    }

    async fn connections(&self, limit: usize) -> StoreResult<Vec<ConnectionActivity>> {
        in_tx!(self, |tx| views::connections(&tx, limit))
    }

    async fn failures_by_connection(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionFailures>> {
        in_tx!(self, |tx| views::failures_by_connection(
            &tx,
            crate::convert::to_us(since),
            limit
        ))
    }

    async fn index_words(&self, limit: usize) -> StoreResult<WordIndexPass> {
        words::run_pass(&self.pool, &self.words, limit).await
    }

    async fn chat_timeline(
        &self,
        connection_id: i64,
        chat_id: i64,
        limit: usize,
    ) -> StoreResult<ChatTimeline> {
        in_tx!(self, |tx| views::chat_timeline(
            &tx,
            connection_id,
            chat_id,
            limit
        ))
    }
}

#[async_trait]
impl role::Schedules for PostgresStore {
    async fn fire_slots(&self, fires: Vec<SlotFire>) -> StoreResult<Vec<SlotFired>> {
        let done = in_tx!(self, |tx| schedule::fire_all(&tx, &fires));
        if let Ok(fired) = &done {
            let newest = fired.iter().filter_map(|f| match f {
                SlotFired::Fired(run) => Some(run.0),
                _ => None,
            });
            if let Some(newest) = newest.max() {
                self.statistics.stored(&self.pool, newest);
            }
        }
        self.woke(done, |fired| {
            fired.iter().any(|f| matches!(f, SlotFired::Fired(_)))
        })
    }

    async fn skip_slot(&self, schedule_key: &str, slot: DateTime<Utc>) -> StoreResult<()> {
        in_tx!(self, |tx| schedule::skip(&tx, schedule_key, slot))
    }

    async fn last_slot(&self, schedule_key: &str) -> StoreResult<Option<DateTime<Utc>>> {
        in_tx!(self, |tx| schedule::last_slot(&tx, schedule_key))
    }

    async fn schedule_unfinished_runs(&self, schedule_key: &str, lane: &str) -> StoreResult<u64> {
        in_tx!(self, |tx| schedule::unfinished_runs(
            &tx,
            schedule_key,
            lane
        ))
    }

    async fn schedule_count(
        &self,
        schedule_key: &str,
        skipped: u64,
        missed: u64,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| schedule::count(
            &tx,
            schedule_key,
            skipped,
            missed
        ))
    }

    async fn schedule_states(&self) -> StoreResult<Vec<ScheduleState>> {
        in_tx!(self, |tx| schedule::states(&tx))
    }
}

#[async_trait]
impl role::Operations for PostgresStore {
    async fn purge(
        &self,
        policy: &RetentionPolicy,
        batch: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let batch = batch.clamp(1, crate::MAX_PAGE);
        let mut total = 0;
        loop {
            let deleted = in_tx!(self, |tx| ops::purge_batch(&tx, policy, batch, now))?;
            total += deleted;
            if deleted < batch {
                break;
            }
        }
        for (what, cutoff) in policy.aged_out(now) {
            while in_tx!(self, |tx| ops::purge_aged(&tx, what, cutoff, batch))? == batch {}
        }
        if let Some(before) = policy.forget_nodes_before(now) {
            in_tx!(self, |tx| nodes::prune(&tx, before))?;
        }
        Ok(total)
    }

    async fn checkpoint(&self) -> StoreResult<()> {
        let client = self.client().await?;
        Ok(ops::vacuum(&client).await?)
    }

    async fn stats(&self) -> StoreResult<DbStats> {
        in_tx!(self, |tx| ops::stats(&tx))
    }

    async fn backup(&self, path: &Path) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(Fail::from)?;
        let written: Res<()> = ops::backup(&tx, path).await;
        written?;
        tx.commit().await.map_err(Fail::from)?;
        Ok(())
    }
}
