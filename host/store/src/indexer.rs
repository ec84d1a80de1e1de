//! The word index's feeding, off the intake path: a background task per store runs passes that
//! each index one batch of events the index has not seen (read by id above a durable watermark,
//! tokenised by [`crate::search::event_words`], written with the watermark in one transaction).
//! Ingest wakes it; it also wakes on its own every [`IDLE`], so no wait is unbounded.
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

/// Starts the background indexer: `pass` runs one batch; `wake` is notified after ingests.
pub(crate) fn spawn<F, Fut>(pass: F, wake: Arc<Notify>) -> Background
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
            let _ = tokio::time::timeout(IDLE, wake.notified()).await;
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
