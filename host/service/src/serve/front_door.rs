//! The HTTP front door: accepting connections under a cap, with timeouts on every socket, and
//! a shutdown that has a deadline.
//!
//! axum's own `serve` sets no timeouts and no cap: a client that opens a socket and sends
//! nothing holds a file descriptor forever, and a few hundred of them exhaust the open-file
//! limit so that every webhook and `/healthz` fails. Here:
//! - the open-file soft limit is raised to the hard limit at start ([`raise_open_file_limit`]);
//! - at most [`connection_cap`] connections are open at once, sized under that limit with room
//!   for the database, the compiled-module cache and outbound HTTP; past it the listener stops
//!   accepting (clients wait in the kernel's backlog) instead of failing on `EMFILE`;
//! - a client must send a request's headers within `server.header_timeout_ms`, which also closes
//!   an idle keep-alive connection (hyper starts that timer whenever it waits for a request
//!   head);
//! - a request, its body included, must be read and answered within
//!   `server.request_timeout_ms` (408 otherwise);
//! - on shutdown, connections finish their request in flight within [`SHUTDOWN_GRACE`], then
//!   are closed: a half-sent request cannot keep the process alive.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower_http::timeout::TimeoutLayer;

/// How long connections get after shutdown begins to finish their request in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// File descriptors kept free of HTTP connections: the database and its WAL, the
/// compiled-module cache, the manifests watcher, outbound HTTP to Radist and plugin origins,
/// PostgreSQL connections.
const RESERVED_FDS: u64 = 128;

/// The limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
}

/// Raises the open-file soft limit to the hard limit; returns the soft limit in force after.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read or raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The connection cap: the configured `server.max_connections`, lowered to fit under the
/// open-file limit after [`RESERVED_FDS`] (shared by every listener of the process).
pub fn connection_cap(configured: u32, open_file_limit: u64, listeners: u64) -> usize {
    let room = open_file_limit.saturating_sub(RESERVED_FDS) / listeners.max(1);
    let cap = u64::from(configured).min(room).max(8);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Serves `app` on `listener` until `stop` turns true, then gives connections
/// [`SHUTDOWN_GRACE`] to finish and closes the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = stopped(&mut stop) => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "connection closed with an error");
            }
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connection(s) still open {SHUTDOWN_GRACE:?} after shutdown began; closing them",
            connections.len()
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// `accept` failed: out of file descriptors or a transient network error. Waits a little so a
/// persistent failure does not spin.
async fn accept_failed(err: &std::io::Error) {
    tracing::warn!(error = %err, "cannot accept a connection; retrying shortly");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A listener bound to `addr`, or an error naming the flag or key to change.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} ({what}); free the port or choose another")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_open_file_limit() {
        assert_eq!(connection_cap(1024, 1_048_576, 1), 1024);
        assert_eq!(connection_cap(1024, 256, 1), 128);
        assert_eq!(connection_cap(1024, 256, 2), 64);
        assert_eq!(connection_cap(1024, 100, 1), 8);
    }
}
