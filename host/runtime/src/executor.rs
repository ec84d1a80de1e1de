//! [`GuestExecutor`]: the threads guests execute on, apart from the caller's.
//!
//! Every run (instantiation, the guest's code, its host calls) executes on a tokio runtime of
//! the plugin runtime's own (`switchboard-guest-*` threads). The caller (the service's
//! dispatcher) only awaits the result, so a guest spinning until its timeout, or faulting in a
//! memory bomb, occupies a guest thread and never a thread that accepts webhooks or answers the
//! admin API: the operating system's scheduler shares the cores between the two pools.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};

use crate::RuntimeError;

/// A multi-threaded tokio runtime for guests; shut down (without waiting) when dropped.
pub(crate) struct GuestExecutor {
    runtime: Option<tokio::runtime::Runtime>,
    handle: Handle,
}

impl GuestExecutor {
    /// Starts `threads` guest threads (at least one).
    pub(crate) fn start(threads: usize) -> Result<Self, RuntimeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("switchboard-guest")
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::Engine(format!("cannot start the guest threads: {e}")))?;
        let handle = runtime.handle().clone();
        Ok(GuestExecutor {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Runs `future` on the guest threads. Dropping the returned future stops it there too.
    pub(crate) fn run<F>(&self, future: F) -> Guest<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Guest(self.handle.spawn(future))
    }
}

impl Drop for GuestExecutor {
    fn drop(&mut self) {
        // The runtime may be dropped on an async thread, where a blocking shutdown panics.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A future executing on the guest threads; aborted when dropped.
pub(crate) struct Guest<T>(JoinHandle<T>);

impl<T> Future for Guest<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Guest<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Guest threads by default: one per core the process may use.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}
