//! Telling the other nodes that work arrived, outside the work's own transaction.
//!
//! A `NOTIFY` inside a transaction makes PostgreSQL hold its one database-wide notification-queue
//! lock from that transaction's commit until the commit is flushed to disk, so every transaction
//! that notifies is serialized behind the others' disk flushes — across all nodes. Measured in the
//! benchmark: with two and three nodes most backends waited in `COMMIT` on that lock, and end to
//! end got slower as nodes were added. The work transactions therefore do not notify. After one
//! commits, the store signals the [`Announcer`]: a task with a connection of its own (outside the
//! pool) that sends one `pg_notify` per burst of signals, with `synchronous_commit = off` so the
//! lock is held for microseconds, not a flush. A notification is only a wake-up hint (a lost one
//! costs the other nodes at most their idle poll), so it does not need to be durable.

use super::CHANNEL;
use super::fail::pg_error;
use crate::error::StoreError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running announcer; dropping it stops the task (and closes its connection).
pub(crate) struct Announcer {
    signal: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Announcer {
    /// Starts the task; it connects on its own and keeps reconnecting when the connection drops.
    pub(crate) fn start(pg: super::tls::Endpoint) -> Announcer {
        let signal = Arc::new(Notify::new());
        let task = tokio::spawn(run(pg, Arc::clone(&signal)));
        Announcer { signal, task }
    }

    /// Asks for one notification to the other nodes. Signals that arrive while one is being sent
    /// collapse into the next one.
    pub(crate) fn announce(&self) {
        self.signal.notify_one();
    }
}

async fn run(pg: super::tls::Endpoint, signal: Arc<Notify>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match serve(&pg, &signal, &mut backoff).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the work announcer lost its connection; reconnecting")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: connect, then one `pg_notify` per signal until the connection fails.
async fn serve(
    pg: &super::tls::Endpoint,
    signal: &Notify,
    backoff: &mut Duration,
) -> Result<(), StoreError> {
    let (client, connection) = pg
        .config
        .connect(pg.tls.clone())
        .await
        .map_err(|e| pg_error(&e))?;
    let driver = tokio::spawn(connection);
    let served = announce_each(&client, signal, backoff).await;
    driver.abort();
    served
}

async fn announce_each(
    client: &Client,
    signal: &Notify,
    backoff: &mut Duration,
) -> Result<(), StoreError> {
    client
        .batch_execute("SET synchronous_commit = off")
        .await
        .map_err(|e| pg_error(&e))?;
    let notify = client
        .prepare("SELECT pg_notify($1, '')")
        .await
        .map_err(|e| pg_error(&e))?;
    *backoff = Duration::from_millis(100);
    loop {
        signal.notified().await;
        client
            .execute(&notify, &[&CHANNEL])
            .await
            .map_err(|e| pg_error(&e))?;
    }
}
