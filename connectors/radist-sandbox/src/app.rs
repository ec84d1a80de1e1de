//! [`AppState`]: the shared handle every route gets — the state mutex, the seed, the config,
//! fault settings and the webhook engine.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::SandboxConfig;
use crate::faults::Faults;
use crate::state::State;
use crate::webhooks::{Outgoing, Webhooks};

/// Cheaply clonable handle to one sandbox's state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    config: SandboxConfig,
    faults: Mutex<Faults>,
    webhooks: Webhooks,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("listen", &self.inner.config.listen)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppState {
    /// Fresh state from the config's seed.
    pub fn new(config: SandboxConfig) -> Self {
        let state = State::from_config(&config);
        let webhooks = Webhooks::new(config.webhook_retry, config.limits.max_deliveries);
        let shared = Shared {
            state: Mutex::new(state),
            config,
            faults: Mutex::default(),
            webhooks,
        };
        Self {
            inner: Arc::new(shared),
        }
    }

    /// Locks the state. Never hold the guard across an `.await` or I/O.
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Locks the fault settings.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The webhook engine.
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// Queues webhook events with the current webhook faults.
    pub fn emit(&self, events: Vec<Outgoing>) {
        if events.is_empty() {
            return;
        }
        let faults = self.faults().webhook();
        self.inner.webhooks.emit(events, faults);
    }

    /// Restores the seed state, clears faults, subscriptions, sent log and delivery log.
    pub fn reset(&self) {
        let config = &self.inner.config;
        *self.state() = State::from_config(config);
        *self.faults() = Faults::default();
        self.inner.webhooks.reset();
    }
}
