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
use switchboard_store::{LeaseTaken, NodeInfo, Renewal, role};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::output::{self, escape};

/// This node's lease keeper.
#[derive(Clone)]
pub struct Leases {
    pub store: Arc<dyn role::Leasing>,
    pub node: String,
    pub lease: Duration,
    /// Turns true (once, for good) when a heartbeat found another process holding the lease.
    lost: Arc<watch::Sender<bool>>,
}

impl Leases {
    /// A keeper of `node`'s lease of `lease_s` seconds.
    pub fn new(store: Arc<dyn role::Leasing>, node: String, lease_s: u32) -> Self {
        let lease = Duration::from_secs(u64::from(lease_s));
        let lost = Arc::new(watch::Sender::new(false));
        Leases {
            store,
            node,
            lease,
            lost,
        }
    }

    /// Resolves when another process took this node's lease: this process must stop (the
    /// store already refuses its claims); never resolves otherwise.
    pub async fn lost(&self) {
        let mut lost = self.lost.subscribe();
        if lost.wait_for(|l| *l).await.is_err() {
            // The sender lives in `self`, so it is never dropped while we wait.
            std::future::pending::<()>().await;
        }
    }

    fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    fn lose(&self) {
        if self.lost.send_replace(true) {
            return;
        }
        tracing::error!(
            node = %self.node,
            "another switchboard process took node `{}`'s lease while this one could not renew it \
             (cut off from the database for longer than `server.lease_s`); this process claims \
             nothing more and stops; the new holder has resumed this node's runs",
            self.node
        );
    }

    /// Takes this node's lease for this process (waiting for a crashed predecessor's lease to
    /// expire, refusing when another live process holds it), then resumes the runs this node
    /// left unfinished and recovers those of dead nodes; call before claiming. Returns how many
    /// of this node's own runs were resumed.
    pub async fn begin(&self) -> anyhow::Result<usize> {
        self.acquire().await?;
        let resumed = self.store.recover(&self.node).await?;
        self.take_over().await;
        Ok(resumed)
    }

    /// Takes the lease as a new holder. While a previous process's lease is live this waits
    /// (saying so) until it expires; if that process heartbeats meanwhile it is alive, and this
    /// one refuses to start rather than run its runs beside it. Lease times are the store's clock
    /// (the database server's), never this machine's.
    async fn acquire(&self) -> anyhow::Result<()> {
        let mut first_seen: Option<DateTime<Utc>> = None;
        loop {
            let now = self
                .store
                .clock()
                .await
                .context("cannot read the store's clock")?;
            let taken = self
                .store
                .take_lease(&self.node, self.lease, now)
                .await
                .with_context(|| format!("cannot take the lease of node `{}`", self.node))?;
            let LeaseTaken::Held {
                heartbeat_at,
                lease_until,
            } = taken
            else {
                return Ok(());
            };
            match first_seen {
                Some(first) if heartbeat_at > first => {
                    anyhow::bail!(self.held_by_live_process(heartbeat_at))
                }
                Some(_) => {}
                None => {
                    first_seen = Some(heartbeat_at);
                    output::note(&self.waiting(now, heartbeat_at, lease_until));
                }
            }
            let left = (lease_until - now).to_std().unwrap_or_default();
            tokio::time::sleep(left.min(self.period()) + Duration::from_millis(20)).await;
        }
    }

    fn waiting(
        &self,
        now: DateTime<Utc>,
        heartbeat_at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> String {
        let left = (until - now).to_std().unwrap_or_default();
        format!(
            "node `{}` still holds a lease from a previous process (last renewed at {}, until {}); \
             waiting {:.1} s for it to expire before resuming that process's runs, so they never \
             run twice (if that process is still alive, this one will refuse to start)",
            self.node,
            time(heartbeat_at),
            time(until),
            left.as_secs_f64()
        )
    }

    fn held_by_live_process(&self, heartbeat_at: DateTime<Utc>) -> String {
        format!(
            "node `{}` is served by another live switchboard process (it renewed its lease at {}); \
             stop that process first, or give this one its own `server.node_id`",
            self.node,
            time(heartbeat_at)
        )
    }

    /// Heartbeats and recovers every third of the lease until `stop` turns true (send it once
    /// runs in flight have finished, so the lease covers them). Recovery runs only after this
    /// node's own heartbeat succeeded: a node whose lease may have expired never recovers runs,
    /// its own included.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval_at(Instant::now() + self.period(), self.period());
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut health = Health::new(Instant::now(), self.lease);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if self.beat(&mut health).await {
                self.take_over().await;
            } else if self.is_lost() {
                return;
            }
        }
    }

    /// Ends the lease now (clean shutdown) when this node runs nothing any more. If runs are
    /// still executing (the drain timed out), the lease is kept alive for as long as this
    /// process lives instead, so no other node recovers them while they run here; it expires a
    /// lease after the process exits.
    pub async fn leave(&self) {
        if self.is_lost() {
            return;
        }
        let running = self.running().await;
        if running > 0 {
            tracing::warn!(node = %self.node, runs = running, "{running} run(s) still executing; keeping this node's lease until the process exits so no other node runs them beside it");
            tokio::spawn(self.clone().keep_alive());
            return;
        }
        match self.store.leave(&self.node).await {
            Ok(()) => tracing::info!(node = %self.node, "node left; its lease ended"),
            Err(err) => {
                tracing::warn!(node = %self.node, error = %err, "cannot end this node's lease; it expires by itself")
            }
        }
    }

    /// Runs this node holds `running` (unknown counts as some: keep the lease).
    async fn running(&self) -> u64 {
        let Ok(now) = self.store.clock().await else {
            return 1;
        };
        match self.store.nodes(now).await {
            Ok(nodes) => nodes
                .iter()
                .find(|n| n.node == self.node)
                .map_or(0, |n| n.running),
            Err(_) => 1,
        }
    }

    /// Heartbeats every third of the lease until the process exits.
    async fn keep_alive(self) {
        let mut health = Health::new(Instant::now(), self.lease);
        while !self.is_lost() {
            tokio::time::sleep(self.period()).await;
            self.beat(&mut health).await;
        }
    }

    fn period(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }

    /// Renews the lease on the store's clock; true when it succeeded.
    async fn beat(&self, health: &mut Health) -> bool {
        let result = match self.store.clock().await {
            Ok(now) => self.store.heartbeat(&self.node, self.lease, now).await,
            Err(err) => Err(err),
        };
        if let Ok(Renewal::Lost) = result {
            self.lose();
            return false;
        }
        let result = result.map(|_| ());
        let ok = result.is_ok();
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
        ok
    }

    async fn take_over(&self) {
        let recovered = match self.store.clock().await {
            Ok(now) => self.store.recover_expired(now).await,
            Err(err) => Err(err),
        };
        match recovered {
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
    use switchboard_store::{SqliteConfig, SqliteStore, Store};
    use switchboard_testing::ingest;

    async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let config = SqliteConfig::new(dir.path().join("s.db"));
        Arc::new(SqliteStore::open(config).await.expect("open"))
    }

    async fn node_state(store: &Arc<dyn Store>) -> (bool, Option<DateTime<Utc>>) {
        let nodes = store.nodes(Utc::now()).await.expect("nodes");
        let node = nodes.iter().find(|n| n.node == "n").expect("listed");
        (node.live, node.left_at)
    }

    /// A node whose drain timed out still runs a run: leaving would let another node recover
    /// it while it executes here, so the lease stays; an idle node leaves at once.
    #[tokio::test]
    async fn a_node_keeps_its_lease_while_a_run_still_executes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = sqlite(&dir).await;
        let leases = Leases::new(store.clone(), "n".into(), 30);
        assert_eq!(leases.begin().await.expect("begin"), 0);
        let event = ingest::manual_event("k".into(), "{}");
        let run = ingest::one_attempt("p", "l".into(), "manual");
        store.ingest(event, vec![run]).await.expect("ingest");
        let claimed = store.claim("n", 1, Utc::now()).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        leases.leave().await;
        assert_eq!(
            node_state(&store).await,
            (true, None),
            "still holds its lease"
        );
        let other = store.recover_expired(Utc::now()).await.expect("recover");
        assert_eq!(other, 0, "no other node takes the executing run");
    }

    #[tokio::test]
    async fn an_idle_node_leaves_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = sqlite(&dir).await;
        let leases = Leases::new(store.clone(), "n".into(), 30);
        leases.begin().await.expect("begin");
        leases.leave().await;
        let (live, left_at) = node_state(&store).await;
        assert!(!live && left_at.is_some(), "left");
    }

    const LEASE: Duration = Duration::from_secs(10);

    #[test]
    fn fences_after_a_whole_lease_of_failures_and_lifts_on_success() {
        let t0 = Instant::now();
        let mut health = Health::new(t0, LEASE);
        // (second, whether that heartbeat succeeded, the fence change, why)
        let beats = [
            (3, false, None, "failing within the lease"),
            (9, false, None, "failing within the lease"),
            (10, false, Some(Fence::Raised), "a whole lease failed"),
            (13, false, None, "raised once"),
            (14, true, Some(Fence::Lifted), "a success lifts it"),
            (17, true, None, "lifted once"),
            (20, false, None, "measured from the last success"),
            (27, false, Some(Fence::Raised), "a lease since then"),
        ];
        for (second, ok, expected, why) in beats {
            let at = t0 + Duration::from_secs(second);
            let change = if ok {
                health.succeeded(at)
            } else {
                health.failed(at)
            };
            assert_eq!(change, expected, "at {second} s: {why}");
        }
    }
}
