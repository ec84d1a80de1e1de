//! Node leases: several `serve` processes share one store, and each proves it is alive by
//! heartbeating its lease (`[server] lease_s`) every third of the lease. On every tick (and once
//! at start, before the dispatcher claims) a node also recovers the runs of nodes whose lease
//! expired: they go back to the head of their lanes and any live node claims them.
//!
//! Self-fencing: a node whose own heartbeats have failed for a whole lease may already have been
//! declared dead, so it stops claiming new runs (the store refuses claims of a node whose lease
//! expired) until a heartbeat succeeds again; the log says so both ways. A run it still finishes
//! after being recovered elsewhere is refused by the store (attempt numbers), so nothing is
//! recorded twice. On clean shutdown, after runs in flight finished, the node leaves: its lease
//! ends at once.
//!
//! Also the `switchboard nodes` table.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use switchboard_store::{NodeInfo, Store};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::output::{self, escape};

/// This node's lease keeper.
#[derive(Clone)]
pub struct Leases {
    pub store: Arc<dyn Store>,
    pub node: String,
    pub lease: Duration,
}

impl Leases {
    /// A keeper of `node`'s lease of `lease_s` seconds.
    pub fn new(store: Arc<dyn Store>, node: String, lease_s: u32) -> Self {
        let lease = Duration::from_secs(u64::from(lease_s));
        Leases { store, node, lease }
    }

    /// Takes this node's lease and recovers the runs of dead nodes; call before claiming.
    pub async fn begin(&self) -> anyhow::Result<()> {
        self.store
            .heartbeat(&self.node, self.lease, Utc::now())
            .await
            .with_context(|| format!("cannot take the lease of node `{}`", self.node))?;
        self.take_over().await;
        Ok(())
    }

    /// Heartbeats and recovers every third of the lease until `stop` turns true (send it once
    /// runs in flight have finished, so the lease covers them).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval_at(Instant::now() + self.period(), self.period());
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut health = Health::new(Instant::now(), self.lease);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            self.beat(&mut health).await;
            self.take_over().await;
        }
    }

    /// Ends the lease now (clean shutdown).
    pub async fn leave(&self) {
        match self.store.leave(&self.node).await {
            Ok(()) => tracing::info!(node = %self.node, "node left; its lease ended"),
            Err(err) => {
                tracing::warn!(node = %self.node, error = %err, "cannot end this node's lease; it expires by itself")
            }
        }
    }

    fn period(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }

    async fn beat(&self, health: &mut Health) {
        let result = self
            .store
            .heartbeat(&self.node, self.lease, Utc::now())
            .await;
        let change = match &result {
            Ok(()) => health.succeeded(Instant::now()),
            Err(_) => health.failed(Instant::now()),
        };
        match (change, result) {
            (Some(Fence::Lifted), _) => {
                tracing::info!(node = %self.node, "heartbeat succeeded again; lease renewed, claiming runs again");
                let notify = self.store.work_notify();
                notify.notify_waiters();
                notify.notify_one();
            }
            (Some(Fence::Raised), Err(err)) => tracing::error!(
                node = %self.node, error = %err, lease_s = self.lease.as_secs(),
                "self-fencing: heartbeats have failed for longer than the lease; this node may be declared dead, so it claims no new runs until a heartbeat succeeds"
            ),
            (None, Err(err)) => {
                tracing::warn!(node = %self.node, error = %err, "heartbeat failed; retrying at the next tick");
            }
            _ => {}
        }
    }

    async fn take_over(&self) {
        match self.store.recover_expired(Utc::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(node = %self.node, runs = n, "took over {n} run(s) left by nodes whose lease expired")
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot recover the runs of dead nodes; retrying at the next tick")
            }
        }
    }
}

/// A change of this node's fencing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fence {
    Raised,
    Lifted,
}

/// When this node's heartbeat last succeeded, and whether it has fenced itself.
#[derive(Debug)]
struct Health {
    last_ok: Instant,
    lease: Duration,
    fenced: bool,
}

impl Health {
    fn new(now: Instant, lease: Duration) -> Self {
        Health {
            last_ok: now,
            lease,
            fenced: false,
        }
    }

    fn succeeded(&mut self, now: Instant) -> Option<Fence> {
        self.last_ok = now;
        std::mem::take(&mut self.fenced).then_some(Fence::Lifted)
    }

    fn failed(&mut self, now: Instant) -> Option<Fence> {
        if self.fenced || now.saturating_duration_since(self.last_ok) < self.lease {
            return None;
        }
        self.fenced = true;
        Some(Fence::Raised)
    }
}

/// `switchboard nodes`: one line per node.
pub fn print_table(nodes: &[NodeInfo]) {
    if nodes.is_empty() {
        output::line("no node has taken a lease yet (each `switchboard serve` heartbeats one)");
        return;
    }
    output::line(&format!(
        "{:<24} {:<5} {:<20} {:<20} {:<20} {:>7}",
        "NODE", "LIVE", "STARTED", "LAST HEARTBEAT", "LEASE UNTIL", "RUNNING"
    ));
    for n in nodes {
        let live = match (n.live, n.left_at) {
            (true, _) => "yes",
            (false, Some(_)) => "left",
            (false, None) => "dead",
        };
        output::line(&format!(
            "{:<24} {:<5} {:<20} {:<20} {:<20} {:>7}",
            escape(&n.node),
            live,
            time(n.started_at),
            time(n.heartbeat_at),
            time(n.lease_until),
            n.running
        ));
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(10);

    #[test]
    fn fences_after_a_whole_lease_of_failures_and_lifts_on_success() {
        let t0 = Instant::now();
        let mut health = Health::new(t0, LEASE);
        assert_eq!(health.failed(t0 + Duration::from_secs(3)), None);
        assert_eq!(health.failed(t0 + Duration::from_secs(9)), None);
        assert_eq!(
            health.failed(t0 + Duration::from_secs(10)),
            Some(Fence::Raised)
        );
        assert_eq!(
            health.failed(t0 + Duration::from_secs(13)),
            None,
            "raised once"
        );
        assert_eq!(
            health.succeeded(t0 + Duration::from_secs(14)),
            Some(Fence::Lifted)
        );
        assert_eq!(health.succeeded(t0 + Duration::from_secs(17)), None);
        assert_eq!(
            health.failed(t0 + Duration::from_secs(20)),
            None,
            "measured from the last success"
        );
        assert_eq!(
            health.failed(t0 + Duration::from_secs(27)),
            Some(Fence::Raised)
        );
    }
}
