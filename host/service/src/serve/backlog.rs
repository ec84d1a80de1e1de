//! Backpressure at intake: past `[webhook] max_queued_runs` queued runs, or while the run that
//! has waited longest for a worker has waited `max_queue_age_s`, webhooks are answered 503 with
//! `Retry-After` (Radist redelivers them later) instead of growing a backlog whose replies would
//! come too late. The queue is sampled from the store a few times a second by one task, so the
//! check on each webhook is a few atomic loads; the sample also feeds the queue gauges and
//! `GET /api/queue`.
//!
//! The age is that of a claimable lane head, so one slow chat (its later messages wait behind
//! its running run) never stops intake for everyone; and it must be over the bound in two
//! samples running, so a head that just became claimable after a long wait in its lane (and is
//! claimed a moment later) does not trip it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use switchboard_manifest::WebhookConfig;
use switchboard_store::{QueueDepth, role};
use tokio::sync::watch;

use crate::telemetry;

/// How often the queue is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The queue as last sampled, and the bounds intake holds it to.
#[derive(Debug)]
pub struct Backlog {
    max_queued: u64,
    max_age_ms: u64,
    retry_after_s: u32,
    queued: AtomicU64,
    oldest_age_ms: AtomicU64,
    /// Samples in a row whose oldest age was over the bound.
    over_age: AtomicU64,
}

/// Why intake refuses a webhook for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full {
    /// Seconds for the `Retry-After` header.
    pub retry_after_s: u32,
    /// What is over which bound, and the key that sets it.
    pub reason: String,
}

impl Backlog {
    /// Bounds from `[webhook]`; the queue counts as empty until the first sample.
    pub fn new(config: &WebhookConfig) -> Self {
        Backlog {
            max_queued: config.max_queued_runs,
            max_age_ms: u64::from(config.max_queue_age_s) * 1000,
            retry_after_s: config.backlog_retry_after_s,
            queued: AtomicU64::new(0),
            oldest_age_ms: AtomicU64::new(0),
            over_age: AtomicU64::new(0),
        }
    }

    /// Records a sample of the queue (and exports it).
    pub fn observe(&self, depth: &QueueDepth) {
        let age = depth.oldest_ready_at.map_or(0, |at| {
            let waited = Utc::now().signed_duration_since(at).num_milliseconds();
            u64::try_from(waited).unwrap_or(0)
        });
        self.queued.store(depth.queued, Ordering::Relaxed);
        self.oldest_age_ms.store(age, Ordering::Relaxed);
        if age >= self.max_age_ms {
            self.over_age.fetch_add(1, Ordering::Relaxed);
        } else {
            self.over_age.store(0, Ordering::Relaxed);
        }
        telemetry::queue_measured(*depth, Duration::from_millis(age));
    }

    /// `Err` when the last sample is over a bound.
    pub fn admit(&self) -> Result<(), Full> {
        let queued = self.queued.load(Ordering::Relaxed);
        let age_ms = self.oldest_age_ms.load(Ordering::Relaxed);
        let reason = if queued > self.max_queued {
            format!(
                "{queued} runs are queued, more than `webhook.max_queued_runs` ({})",
                self.max_queued
            )
        } else if self.over_age.load(Ordering::Relaxed) >= 2 {
            format!(
                "the run waiting longest for a worker has waited {:.1} s, `webhook.max_queue_age_s` is {} s",
                age_ms as f64 / 1000.0,
                self.max_age_ms / 1000
            )
        } else {
            return Ok(());
        };
        Err(Full {
            retry_after_s: self.retry_after_s,
            reason,
        })
    }

    /// Queued runs and the oldest one's wait, as last sampled (for the status line).
    pub fn last(&self) -> (u64, Duration) {
        let age = self.oldest_age_ms.load(Ordering::Relaxed);
        (
            self.queued.load(Ordering::Relaxed),
            Duration::from_millis(age),
        )
    }

    /// Samples the queue every [`SAMPLE_EVERY`] until `stop` turns true.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn role::Dispatch>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            match store.queue_depth().await {
                Ok(depth) => self.observe(&depth),
                Err(err) => tracing::debug!(error = %err, "cannot sample the queue"),
            }
            tokio::select! {
                () = tokio::time::sleep(SAMPLE_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn backlog() -> Backlog {
        let config = WebhookConfig {
            max_queued_runs: 100,
            max_queue_age_s: 10,
            backlog_retry_after_s: 3,
            ..WebhookConfig::default()
        };
        Backlog::new(&config)
    }

    fn depth(queued: u64, waited_s: i64) -> QueueDepth {
        QueueDepth {
            queued,
            oldest_ready_at: Some(Utc::now() - TimeDelta::seconds(waited_s)),
            ..QueueDepth::default()
        }
    }

    #[test]
    fn admits_within_both_bounds_and_refuses_past_either_naming_the_key() {
        let b = backlog();
        assert_eq!(b.admit(), Ok(()), "empty until sampled");
        b.observe(&depth(100, 9));
        assert_eq!(b.admit(), Ok(()));
        b.observe(&depth(101, 0));
        let full = b.admit().expect_err("too many");
        assert_eq!(full.retry_after_s, 3);
        assert!(
            full.reason.contains("webhook.max_queued_runs"),
            "{}",
            full.reason
        );
        b.observe(&depth(5, 11));
        assert_eq!(
            b.admit(),
            Ok(()),
            "one old sample may be a head claimed a moment later"
        );
        b.observe(&depth(5, 11));
        let old = b.admit().expect_err("too old twice running");
        assert!(
            old.reason.contains("webhook.max_queue_age_s"),
            "{}",
            old.reason
        );
        b.observe(&QueueDepth::default());
        assert_eq!(b.admit(), Ok(()), "drained");
    }
}
