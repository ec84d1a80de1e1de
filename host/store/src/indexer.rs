//! The word index's feeding, off the intake path: a background task per store runs passes that
//! each index one batch of events the index has not seen (read by id above a durable watermark,
//! tokenised by [`crate::search::event_words`], written with the watermark in one transaction).
//! Ingest wakes it; it also wakes on its own every [`IDLE`], so no wait is unbounded.
//!
//! After a wake a backend lets events gather before the pass (`settle`), so that under load a
//! pass takes many events instead of the few that came in during the last one. Most of a pass's
//! cost is per pass, not per event: a transaction and its commit, and the index's own flushes
//! and merges. PostgreSQL settles for [`SETTLE`], because there a pass is a transaction of its
//! own beside intake's, and the wait costs no ack anything. SQLite settles for the shorter
//! [`SETTLE_SQLITE`]: its passes run in the index's own file, on a thread of lower CPU priority
//! (`sqlite/words_file.rs`). BENCHMARKS.md has the measurements.
//!
//! The text filter never depends on the indexer having run: an event above the watermark is
//! matched by tokenising its payload in the query (at most [`TAIL_MAX`] of them); when more are
//! waiting, the query runs passes itself first, for at most [`CATCH_UP`]. So a text filter gives
//! the same runs whether the indexer has run or not.

use crate::error::StoreError;
use crate::search::{event_words, query_words};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Events one pass indexes (in one transaction).
pub const BATCH: usize = 500;
/// The longest the background indexer sleeps without being woken.
pub const IDLE: Duration = Duration::from_secs(1);
/// How long PostgreSQL's indexer lets events gather after a wake. At a thousand events a second
/// that makes a pass of about 200 instead of one per few events. It keeps the unindexed tail
/// under [`TAIL_MAX`] below 10,000 events a second.
pub const SETTLE: Duration = Duration::from_millis(200);
/// How long SQLite's indexer lets events gather after a wake: at 1,000 events a second a pass
/// of about 10 instead of one per event, which takes most of the per-pass cost off; longer
/// passes at 5,000 a second showed in the acks' p99 (BENCHMARKS.md).
pub const SETTLE_SQLITE: Duration = Duration::from_millis(10);
/// Unindexed events a text filter tokenises itself; past this it indexes first.
pub const TAIL_MAX: usize = 2_000;
/// How long a text filter may spend indexing before it answers `Unavailable`.
pub const CATCH_UP: Duration = Duration::from_secs(20);

/// What one pass of the word indexer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordIndexPass {
    /// Events whose words the pass wrote.
    pub indexed: usize,
    /// Every event with an id up to this one is in the index (durable).
    pub watermark: i64,
    /// The pass was full: more events wait.
    pub more: bool,
}

/// The background indexer of one store; stops when dropped.
#[derive(Debug)]
pub(crate) struct Background(AbortHandle);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the background indexer: `pass` runs one batch; `wake` is notified after ingests; after
/// a wake it waits `settle` before the pass (zero: at once).
pub(crate) fn spawn<F, Fut>(pass: F, wake: Arc<Notify>, settle: Duration) -> Background
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<WordIndexPass, StoreError>> + Send + 'static,
{
    let task = tokio::spawn(async move {
        loop {
            match pass().await {
                Ok(done) if done.more => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(_) => {}
                Err(StoreError::Closed) => return,
                Err(e) => tracing::warn!(error = %e, "the word index could not be fed; retrying"),
            }
            let woken = tokio::time::timeout(IDLE, wake.notified()).await.is_ok();
            if woken && !settle.is_zero() {
                tokio::time::sleep(settle).await;
            }
        }
    });
    Background(task.abort_handle())
}

/// The time a text filter has left to index events before it answers.
pub(crate) struct CatchUp(Instant);

impl CatchUp {
    pub(crate) fn start() -> Self {
        CatchUp(Instant::now() + CATCH_UP)
    }

    /// `Unavailable` once the time is up (the index is far behind: a backfill after an upgrade).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if Instant::now() < self.0 {
            return Ok(());
        }
        Err(StoreError::Unavailable {
            reason: "the payload word index is still being built (after an upgrade or a burst); \
                     retry the text filter in a minute, or filter without text"
                .into(),
        })
    }
}

/// The ids among `events` (id, payload) holding every word of `text`, by the index's own
/// rules, so an unindexed event matches exactly as it will once indexed.
pub(crate) fn tail_matches(text: &str, events: &[(i64, String)]) -> Vec<i64> {
    let wanted = query_words(text);
    if wanted.is_empty() {
        return Vec::new();
    }
    events
        .iter()
        .filter(|(_, payload)| {
            let words = event_words(payload);
            wanted.iter().all(|w| words.contains(w))
        })
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A background indexer over a pass that only counts.
    fn counting(wake: &Arc<Notify>, settle: Duration) -> (Background, Arc<AtomicUsize>) {
        let passes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&passes);
        let pass = move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(WordIndexPass {
                    indexed: 1,
                    watermark: i64::try_from(n).unwrap_or(i64::MAX),
                    more: false,
                })
            }
        };
        (spawn(pass, Arc::clone(wake), settle), passes)
    }

    async fn until(passes: &AtomicUsize, at_least: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        while passes.load(Ordering::SeqCst) < at_least && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        passes.load(Ordering::SeqCst)
    }

    /// With a settle time, a burst of wakes makes one pass, not one per wake. No wake is lost:
    /// the pass after it comes.
    #[tokio::test]
    async fn wakes_within_the_settle_time_make_one_pass() {
        let wake = Arc::new(Notify::new());
        let (_indexer, passes) = counting(&wake, Duration::from_secs(1));
        assert_eq!(until(&passes, 1).await, 1, "the first pass runs at start");
        for _ in 0..10 {
            wake.notify_one();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Ten wakes over 20 ms or a little more, inside the second the first one started: no
        // pass has run since.
        assert_eq!(passes.load(Ordering::SeqCst), 1, "no pass per wake");
        assert_eq!(
            until(&passes, 2).await,
            2,
            "the burst is indexed by one pass"
        );
    }

    /// Without one, a wake is served at once.
    #[tokio::test]
    async fn without_a_settle_time_a_wake_is_served_at_once() {
        let wake = Arc::new(Notify::new());
        let (_indexer, passes) = counting(&wake, Duration::ZERO);
        assert_eq!(until(&passes, 1).await, 1);
        let woken = Instant::now();
        wake.notify_one();
        assert_eq!(until(&passes, 2).await, 2);
        assert!(
            woken.elapsed() < IDLE,
            "served by the wake, not by the idle timer: {:?}",
            woken.elapsed()
        );
    }
}
