//! [`Plugin`]: a loaded, pre-instantiated plugin, and one run of it in a fresh store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings::PluginPre;
use crate::engine::deadline_ticks;
use crate::run::{CallEnd, RunInput, RunOutcome, status};
use crate::runtime::RuntimeInner;
use crate::state::{HostState, PluginShared, RunContext};

/// A loaded plugin. Cheap to clone; runs may execute concurrently, each in its own store.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

pub(crate) struct PluginInner {
    pub(crate) runtime: Arc<RuntimeInner>,
    pub(crate) shared: Arc<PluginShared>,
    pub(crate) pre: PluginPre<HostState>,
    pub(crate) imports: Vec<String>,
}

impl Plugin {
    pub(crate) fn new(inner: PluginInner) -> Self {
        Plugin {
            inner: Arc::new(inner),
        }
    }

    /// The plugin's name from its manifest.
    pub fn name(&self) -> &str {
        &self.inner.shared.name
    }

    /// The interfaces the component imports (for `switchboard check`).
    pub fn imports(&self) -> &[String] {
        &self.inner.imports
    }

    /// Runs `handle` once in a fresh store, within the manifest's memory and time limits.
    /// Never panics on guest behaviour; every ending is a [`RunStatus`](crate::RunStatus).
    pub async fn run(&self, input: RunInput) -> RunOutcome {
        let started = Instant::now();
        let shared = &self.inner.shared;
        let limits = &shared.manifest.limits;
        let ctx = self.run_context(&input);
        let logs = ctx.logs.clone();
        let mut store = Store::new(
            &self.inner.runtime.engine,
            HostState::new(ctx, limits.memory_mib),
        );
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        let timeout_ms = u64::from(limits.timeout_ms);
        store.set_epoch_deadline(deadline_ticks(
            timeout_ms,
            self.inner.runtime.config.epoch_tick_ms,
        ));
        let mut instantiate = Duration::ZERO;
        let call = async {
            let bindings = self.inner.pre.instantiate_async(&mut store).await?;
            instantiate = started.elapsed();
            bindings
                .call_handle(&mut store, &input.event, &input.run)
                .await
        };
        let end = match tokio::time::timeout(Duration::from_millis(timeout_ms), call).await {
            Err(_) => CallEnd::WallClockTimeout,
            Ok(Err(err)) => CallEnd::Error(err),
            Ok(Ok(returned)) => CallEnd::Returned(returned),
        };
        let ctx = store.into_data().ctx;
        let (logs, logs_truncated) = logs.finish();
        let status = redact_status(status(end, ctx.denied), shared);
        RunOutcome {
            status,
            actions: ctx.recorder.into_records(),
            logs,
            logs_truncated,
            duration: started.elapsed(),
            instantiate,
        }
    }

    fn run_context(&self, input: &RunInput) -> RunContext {
        let caches = self.inner.runtime.caches.clone();
        RunContext::new(Arc::clone(&self.inner.shared), input, caches)
    }
}

/// Secrets never reach run history, not even through a guest's error string.
fn redact_status(status: crate::RunStatus, shared: &PluginShared) -> crate::RunStatus {
    use crate::RunStatus as S;
    let r = |m: String| shared.redactor.redact(&m);
    match status {
        S::Failed(m) => S::Failed(r(m)),
        S::Trapped(m) => S::Trapped(r(m)),
        S::Denied(m) => S::Denied(r(m)),
        other => other,
    }
}
