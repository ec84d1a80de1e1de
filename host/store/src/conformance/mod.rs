//! The backend conformance suite: one async function per behaviour of the [`Store`] contract,
//! each taking a fresh, empty store, and [`store_conformance!`](crate::store_conformance) to turn
//! them all into `#[tokio::test]`s for one backend:
//!
//! ```text
//! async fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) { /* a new empty database */ }
//! switchboard_store::store_conformance!(fresh);
//! ```
//!
//! The functions panic (assert) on a violation; they use no backend detail and no sleeps.

mod counts;
mod dispatch;
mod history;
mod intake;
mod ledger;
mod nodes;
mod ops;
mod schedule;
mod state;
mod views;
mod words;

pub use counts::*;
pub use dispatch::*;
pub use history::*;
pub use intake::*;
pub use ledger::*;
pub use nodes::*;
pub use ops::*;
pub use schedule::*;
pub use state::*;
pub use views::*;
pub use words::*;

use crate::{
    ActionRow, AttemptStatus, ClaimedRun, EventFilter, EventSummary, FinishedAttempt, Ingested,
    LogRow, NewEvent, NewRun, Next, RunId, Store, StoreError,
};
use chrono::{DateTime, TimeZone, Utc};

/// Expands to one `#[tokio::test]` per conformance behaviour. `$factory` is an async fn (or
/// closure returning a future) giving `(Arc<dyn Store>, guard)`; the guard (e.g. a temporary
/// directory) lives until the test ends. Its `@each` arm (one test per name, each handed what
/// the factory gives) serves [`word_index_conformance!`](crate::word_index_conformance) too.
#[macro_export]
macro_rules! store_conformance {
    ($factory:expr) => {
        $crate::store_conformance!(@each $factory;
            dedupe_returns_first_id,
            ingest_is_atomic,
            concurrent_ingests_keep_lanes_and_dedupe,
            events_without_runs_are_stored,
            queue_depth_reports_the_oldest_ready_run,
            quarantine_round_trip,
            lane_order,
            concurrent_claimers_never_share_a_run,
            retry_respects_not_before_and_lane_order,
            defer_waits_without_spending_an_attempt,
            recover_after_crash,
            finish_final_retry_dead,
            concurrent_finishes_land_each_on_its_run,
            requeue_and_replay,
            bulk_requeue_keeps_its_order_in_each_lane,
            work_notify_fires_on_new_work,
            extreme_values_do_not_break_the_store,
            ledger_two_phases,
            deferred_records_ride_with_the_next_write,
            echo_lookups,
            kv_basics,
            kv_quota_never_overshoots,
            upload_cache,
            history_filters,
            count_runs_per_status,
            recent_counts_look_at_the_newest_runs_only,
            recent_counts_of_a_common_word_look_at_the_newest_runs,
            lists_are_capped_and_carry_no_payloads,
            cron_slot_fires_once_under_concurrency,
            fire_slots_handles_a_batch_in_order,
            overlap_counts_the_open_runs_in_the_lane,
            schedule_counters_and_overlap,
            skipped_slots_move_last_slot,
            retention_purges_exactly_the_eligible_runs,
            retention_purges_old_quarantine_and_runless_events,
            stats_checkpoint_and_backup,
            ids_are_never_reused_after_purge,
            expired_nodes_runs_move_to_a_live_node_in_order,
            live_nodes_runs_are_untouched,
            a_zombies_finish_is_refused_after_recovery,
            concurrent_recover_expired_recovers_each_run_once,
            leave_ends_the_lease,
            nodes_lists_leases_and_held_lanes,
            purge_forgets_nodes_dead_longer_than_the_longest_age,
            history_filters_by_kind_until_and_text,
            oldest_run_and_connections,
            chat_timeline_reads_a_chat_at_once,
            failures_are_counted_per_connection_and_error,
        );
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = ($factory)().await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

/// Expands to one `#[tokio::test]` per word index behaviour. `$factory` is an async fn giving
/// `(Box<dyn Reopen>, guard)`: one fresh database, opened as often as asked with the background
/// word indexer off.
#[macro_export]
macro_rules! word_index_conformance {
    ($factory:expr) => {
        $crate::store_conformance!(@each $factory;
            text_filter_finds_events_the_indexer_has_not_reached,
            word_index_survives_reopen,
            text_filter_far_behind_the_indexer_is_still_exact,
            a_common_word_is_common_before_it_is_indexed,
            events_after_the_newest_were_purged_are_found,
        );
    };
}

/// A fixed instant the suite measures from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// An event on `chat` of connection 70001 (or without a chat).
pub fn event(key: &str, chat: Option<i64>) -> NewEvent {
    NewEvent {
        dedupe_key: key.to_owned(),
        kind: "message.received".to_owned(),
        connection_id: chat.map(|_| 70001),
        chat_id: chat,
        payload: format!(r#"{{"key":"{key}","text":"привет"}}"#),
        received_at: t0(),
    }
}

/// A run of `plugin` in `lane`, 3 attempts, from a webhook.
pub fn run(plugin: &str, lane: &str) -> NewRun {
    NewRun {
        plugin: plugin.to_owned(),
        lane: lane.to_owned(),
        max_attempts: 3,
        origin: "webhook".to_owned(),
    }
}

/// The attempt a claimed run ends with, carrying two actions and two log lines.
pub fn attempt(claimed: &ClaimedRun, status: AttemptStatus) -> FinishedAttempt {
    let action = |seq| ActionRow {
        seq,
        kind: "messages.send".to_owned(),
        request: r#"{"chat_id":1,"text":"hi"}"#.to_owned(),
        outcome: r#"{"ok":true,"message_id":"m-1"}"#.to_owned(),
        latency_us: 850,
        replayed: false,
        decision: None,
    };
    let log = |message: &str| LogRow {
        level: "info".to_owned(),
        source: "plugin".to_owned(),
        message: message.to_owned(),
    };
    FinishedAttempt {
        attempt: claimed.attempt,
        status,
        error: (status != AttemptStatus::Succeeded)
            .then(|| format!("attempt {} {status}", claimed.attempt)),
        started_at: Utc::now(),
        duration_us: 1200,
        node: "node-a".to_owned(),
        plugin_digest: Some("sha256:0123456789abcdef".to_owned()),
        actions: vec![action(1), action(2)],
        logs: vec![log("received"), log("replied")],
    }
}

/// Claims up to `limit` runs for `node` at the present moment.
pub async fn claim_now<S: Store + ?Sized>(store: &S, node: &str, limit: usize) -> Vec<ClaimedRun> {
    store.claim(node, limit, Utc::now()).await.expect("claim")
}

/// Ingests `event(key, chat)` with one run of plugin `p` in `lane`; returns the run's id.
pub async fn queue_run(store: &dyn Store, key: &str, chat: Option<i64>, lane: &str) -> RunId {
    let ingested = store
        .ingest(event(key, chat), vec![run("p", lane)])
        .await
        .expect("ingest");
    ingested.run_ids[0]
}

/// Ingests `n` events, the i-th `{key}{i}` on chat i with one run of plugin `p` in its own lane
/// `l{i}`; returns what each ingest did, in order.
pub async fn ingest_lanes(store: &dyn Store, key: &str, n: i64) -> Vec<Ingested> {
    let mut done = Vec::new();
    for i in 0..n {
        let runs = vec![run("p", &format!("l{i}"))];
        let e = event(&format!("{key}{i}"), Some(i));
        done.push(store.ingest(e, runs).await.expect("ingest"));
    }
    done
}

/// The newest `limit` events, unfiltered.
pub async fn newest_events(store: &dyn Store, limit: usize) -> Vec<EventSummary> {
    let filter = EventFilter {
        limit,
        ..EventFilter::default()
    };
    store.list_events(filter).await.expect("events")
}

/// Ends a claimed run's attempt with `status`, for good (`Next::Final`).
pub async fn finish_as(store: &dyn Store, claimed: &ClaimedRun, status: AttemptStatus) {
    store
        .finish(claimed.run_id, attempt(claimed, status), Next::Final)
        .await
        .expect("finish");
}

/// Claims runs on node `n` and finishes each as succeeded until none is claimable; returns
/// them in the order they ran.
pub async fn run_all(store: &dyn Store) -> Vec<RunId> {
    let mut order = Vec::new();
    while let Some(c) = claim_now(store, "n", 10).await.pop() {
        order.push(c.run_id);
        finish_as(store, &c, AttemptStatus::Succeeded).await;
    }
    order
}

/// Asserts that opening a database the tests stamped with schema version 99 was refused as
/// newer than the `supported` version.
pub fn assert_too_new<T: std::fmt::Debug>(opened: Result<T, StoreError>, supported: i64) {
    let err = opened.expect_err("newer schema");
    let expected = StoreError::SchemaTooNew {
        found: 99,
        supported,
    };
    assert_eq!(err, expected);
}

/// The SQLite store on `store.db` in `dir` (created and migrated when new): what the SQLite
/// backend's tests open, once or several times on one file.
pub async fn sqlite_in(dir: &tempfile::TempDir) -> crate::SqliteStore {
    let config = crate::SqliteConfig::new(dir.path().join("store.db"));
    crate::SqliteStore::open(config).await.expect("open")
}
