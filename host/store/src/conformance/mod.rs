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
mod fixtures;
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
pub use fixtures::*;
pub use history::*;
pub use intake::*;
pub use ledger::*;
pub use nodes::*;
pub use ops::*;
pub use schedule::*;
pub use state::*;
pub use views::*;
pub use words::*;

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
