//! The work-notification listener: one dedicated connection (outside the pool) that runs
//! `LISTEN switchboard_work` and turns every notification into a wake-up of the store's tokio
//! `Notify`. When the connection drops it reconnects with a capped backoff, and wakes the
//! dispatchers once it is back (work may have arrived while it was away).

use super::CHANNEL;
use super::fail::pg_error;
use crate::error::StoreError;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client};

/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running listener; dropping it stops the task (and closes its connection).
pub(crate) struct Listener {
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Starts listening; returns once the first `LISTEN` is in force (or failed).
    pub(crate) async fn start(
        pg: super::tls::Endpoint,
        notify: Arc<Notify>,
        target: &str,
    ) -> Result<Listener, StoreError> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(run(pg, notify, ready_tx));
        let listener = Listener { task };
        match ready_rx.await {
            Ok(Ok(())) => Ok(listener),
            Ok(Err(e)) => Err(StoreError::Open {
                path: target.to_owned(),
                reason: format!("cannot listen for work notifications: {e}"),
            }),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

async fn run(
    pg: super::tls::Endpoint,
    notify: Arc<Notify>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&pg, &notify, &mut ready).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                if let Some(first) = ready.take() {
                    drop(first.send(Err(e)));
                    return;
                }
                tracing::warn!(error = %e, "work notification listener lost its connection");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: connect, LISTEN, forward notifications until it ends.
async fn listen_once(
    pg: &super::tls::Endpoint,
    notify: &Notify,
    ready: &mut Option<oneshot::Sender<Result<(), StoreError>>>,
) -> Result<(), StoreError> {
    let (client, mut connection) = pg
        .config
        .connect(pg.tls.clone())
        .await
        .map_err(|e| pg_error(&e))?;
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let pump = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(_) = message {
                // A full channel already holds a pending wake-up: this one can be dropped.
                tx.try_send(()).ok();
            }
        }
    });
    let listening = start_listening(&client).await;
    if let Err(e) = listening {
        pump.abort();
        return Err(e);
    }
    match ready.take() {
        Some(first) => drop(first.send(Ok(()))),
        None => wake(notify),
    }
    while rx.recv().await.is_some() {
        wake(notify);
    }
    drop(client);
    Ok(())
}

async fn start_listening(client: &Client) -> Result<(), StoreError> {
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| pg_error(&e))
}

fn wake(notify: &Notify) {
    notify.notify_waiters();
    notify.notify_one();
}
