//! [`Plugin`]: a loaded plugin (pre-instantiated at load, or by its first run when loaded lazily
//! from the compiled cache), and one run of it in a fresh store.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tracing::Instrument;
use wasmtime::{CallHook, Store, StoreContextMut, UpdateDeadline};

use crate::bindings::PluginPre;
use crate::code::Code;
use crate::engine::deadline_ticks;
use crate::limits::hostcall_fuel;
use crate::link::link_first_run;
use crate::logs::LogBuffer;
use crate::outcome::{Trap, TrapCause};
use crate::run::{CallEnd, RunInput, RunOutcome, status};
use crate::runtime_inner::RuntimeInner;
use crate::state::{HostState, PluginShared, RunContext};

/// The status of a run the host panicked in; the panic itself goes to the host's log.
pub(crate) const HOST_ERROR: &str =
    "host error: the host failed during this run (see the host log); the run was stopped";

/// A loaded plugin. Cheap to clone; runs may execute concurrently, each in its own store.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

pub(crate) struct PluginInner {
    pub(crate) runtime: Arc<RuntimeInner>,
    pub(crate) shared: Arc<PluginShared>,
    /// Compiled and linked code, shared with every plugin built from the same component.
    pub(crate) code: Arc<Code>,
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
        &self.inner.code.imports
    }

    /// Runs `handle` once in a fresh store, within the manifest's memory, time and host-call
    /// limits, on the runtime's guest threads (never the caller's). Waits first while the
    /// runtime's `max_concurrent_runs` runs execute, or while this plugin holds half of them and
    /// another plugin's run waits. Never panics: every ending, a host panic included, is a
    /// [`RunStatus`](crate::RunStatus). Dropping the future stops the run.
    pub async fn run(&self, input: RunInput) -> RunOutcome {
        let runtime = &self.inner.runtime;
        let admitted = runtime.admission.admit(self.name()).await;
        let this = self.clone();
        // The caller's span (the service's `run` span) follows the run to the guest threads.
        let span = tracing::Span::current();
        let run = runtime.guests.run(
            async move {
                let outcome = this.run_admitted(input).await;
                drop(admitted);
                outcome
            }
            .instrument(span),
        );
        match run.await {
            Ok(outcome) => outcome,
            Err(err) => self.host_panicked(&err.to_string(), None, Instant::now()),
        }
    }

    async fn run_admitted(&self, input: RunInput) -> RunOutcome {
        let started = Instant::now();
        let ctx = self.run_context(&input);
        let logs = ctx.logs.clone();
        match CatchUnwind(Box::pin(self.run_in_store(ctx, input, started))).await {
            Ok(outcome) => outcome,
            Err(panic) => self.host_panicked(&panic, Some(&logs), started),
        }
    }

    async fn run_in_store(&self, ctx: RunContext, input: RunInput, started: Instant) -> RunOutcome {
        let shared = &self.inner.shared;
        let limits = &shared.manifest.limits;
        let logs = ctx.logs.clone();
        let pre = match self.pre().await {
            Ok(pre) => pre,
            Err(message) => return self.unlinked(message, &logs, started),
        };
        let mut store = self.store(ctx);
        let mut instantiate = Duration::ZERO;
        let call = async {
            let bindings = pre.instantiate_async(&mut store).await?;
            instantiate = started.elapsed();
            bindings
                .call_handle(&mut store, &input.event, &input.run)
                .await
        };
        let timeout = Duration::from_millis(u64::from(limits.timeout_ms));
        let end = match tokio::time::timeout(timeout, call).await {
            Err(_) => CallEnd::WallClockTimeout,
            Ok(Err(err)) => CallEnd::Error(err),
            Ok(Ok(returned)) => CallEnd::Returned(returned),
        };
        let data = store.into_data();
        let peak_memory_bytes = data.limiter.peak_bytes();
        let ctx = data.ctx;
        let (logs, logs_truncated) = logs.finish();
        let status = redact_status(status(end, ctx.denied, &shared.redactor), shared);
        RunOutcome {
            status,
            ledger: ctx.recorder.take_completions(),
            actions: ctx.recorder.into_records(),
            logs,
            logs_truncated,
            duration: started.elapsed(),
            instantiate,
            peak_memory_bytes,
        }
    }

    /// The linked component, linked now if this is the first run of lazily loaded code.
    async fn pre(&self) -> Result<&PluginPre<HostState>, &str> {
        let runtime = &self.inner.runtime;
        let code = &self.inner.code;
        code.pre(|| link_first_run(runtime, self.name(), code))
            .await
    }

    /// The outcome of a run whose code could not be linked: trapped, retrying cannot help.
    fn unlinked(&self, message: &str, logs: &LogBuffer, started: Instant) -> RunOutcome {
        let plugin = self.name();
        tracing::error!(
            plugin,
            error = message,
            "cannot link the plugin's code; the run is trapped"
        );
        let trap = Trap::new(TrapCause::CodeUnavailable, message);
        ended_early(trap, Some(logs), started)
    }

    /// A fresh store with the run's limits: memory (limiter), host calls (call hook), bytes
    /// lifted per host call (hostcall fuel), and time (epoch deadline, yielding on every tick).
    fn store(&self, ctx: RunContext) -> Store<HostState> {
        let shared = &self.inner.shared;
        let limits = &shared.manifest.limits;
        let mut store = Store::new(
            &self.inner.runtime.engine,
            HostState::new(ctx, limits.memory_mib),
        );
        store.limiter(|state| &mut state.limiter);
        store.call_hook(|mut store, hook| match hook {
            CallHook::CallingHost => store.data_mut().host_calls.count(),
            _ => Ok(()),
        });
        store.set_hostcall_fuel(hostcall_fuel(&shared.manifest));
        let timeout = Duration::from_millis(u64::from(limits.timeout_ms));
        let ticks = deadline_ticks(timeout, self.inner.runtime.config.tick_period());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(yield_until(ticks));
        store
    }

    /// The outcome of a run the host panicked in: `trapped`, the panic in the host's log.
    /// (`logs` is `None` when the run's task itself was lost, e.g. at shutdown.)
    fn host_panicked(&self, panic: &str, logs: Option<&LogBuffer>, started: Instant) -> RunOutcome {
        let plugin = self.name();
        tracing::error!(
            plugin,
            panic,
            "the host panicked during a run; the run is trapped"
        );
        let trap = Trap::new(TrapCause::HostPanic, HOST_ERROR);
        ended_early(trap, logs, started)
    }

    fn run_context(&self, input: &RunInput) -> RunContext {
        let caches = self.inner.runtime.caches.clone();
        RunContext::new(Arc::clone(&self.inner.shared), input, caches)
    }
}

/// The outcome of a run that trapped outside the guest's call (the host panicked, or the code
/// could not be linked): no actions, the logs so far.
fn ended_early(trap: Trap, logs: Option<&LogBuffer>, started: Instant) -> RunOutcome {
    let (logs, logs_truncated) = logs.map(LogBuffer::finish).unwrap_or_default();
    RunOutcome {
        status: crate::RunStatus::Trapped(trap),
        actions: Vec::new(),
        ledger: Vec::new(),
        logs,
        logs_truncated,
        duration: started.elapsed(),
        instantiate: Duration::ZERO,
        peak_memory_bytes: 0,
    }
}

/// The epoch callback: yield to the executor on every tick, so a guest spinning on the CPU holds
/// a tokio worker for one tick at a time, and interrupt the run after `ticks` ticks (the
/// wall-clock timeout around the call is the other bound).
fn yield_until(
    ticks: u64,
) -> impl FnMut(StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> + Send + Sync + 'static
{
    let mut seen = 0;
    move |mut store| {
        // The tick reached the host through the call hook like a host call; it is not one.
        store.data_mut().host_calls.uncount();
        seen += 1;
        if seen >= ticks {
            return Ok(UpdateDeadline::Interrupt);
        }
        // tokio's `yield_now` puts the task at the back of its worker's queue; a plain wake
        // would land in the worker's LIFO slot and be polled again before anything else.
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    }
}

/// Polls a future, turning a panic while polling it into `Err(panic message)`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

/// Secrets never reach run history, not even through a guest's error string.
fn redact_status(status: crate::RunStatus, shared: &PluginShared) -> crate::RunStatus {
    use crate::RunStatus as S;
    let r = |m: String| shared.redactor.redact(&m);
    match status {
        S::Failed(m) => S::Failed(r(m)),
        S::Trapped(t) => S::Trapped(Trap::new(t.cause, r(t.message))),
        S::Denied(m) => S::Denied(r(m)),
        other => other,
    }
}

#[cfg(test)]
#[path = "plugin_tests.rs"]
pub(crate) mod tests;
