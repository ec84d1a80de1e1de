//! Compiled code shared by every plugin built from the same component.
//!
//! Many manifests may name one component (a fleet of per-company auto-replies, a thousand cron
//! schedules): each gets its own grants, limits and state, but the compiled code, its list of
//! imports and its linked instance-pre depend only on the component's bytes and on the runtime's
//! one linker. [`CodeShelf`] keeps them per content digest for as long as a loaded plugin holds
//! them, so loading the same component again costs a hash instead of a deserialization, and the
//! machine code is mapped once. Entries whose plugins are all gone are swept on the next load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::bindings::PluginPre;
use crate::state::HostState;

/// What every plugin built from one component shares.
pub(crate) struct Code {
    /// The component linked against the host API, ready to instantiate once per run.
    pub(crate) pre: PluginPre<HostState>,
    /// The interfaces the component imports.
    pub(crate) imports: Vec<String>,
}

/// The loaded code by content digest; an entry lives while a plugin holds its [`Code`].
#[derive(Default)]
pub(crate) struct CodeShelf {
    by_digest: Mutex<HashMap<String, Weak<Code>>>,
}

impl CodeShelf {
    /// The code for `digest`, loaded by `load` when no live plugin holds it yet.
    ///
    /// The lock is not held while `load` compiles, so two different components load side by
    /// side; two loads of the same new component race harmlessly and the first one kept wins.
    pub(crate) fn get_or_load<E>(
        &self,
        digest: &str,
        load: impl FnOnce() -> Result<Code, E>,
    ) -> Result<Arc<Code>, E> {
        if let Some(code) = self.live(digest) {
            return Ok(code);
        }
        let fresh = Arc::new(load()?);
        let mut shelf = self.lock();
        shelf.retain(|_, code| code.strong_count() > 0);
        if let Some(kept) = shelf.get(digest).and_then(Weak::upgrade) {
            return Ok(kept);
        }
        shelf.insert(digest.to_owned(), Arc::downgrade(&fresh));
        Ok(fresh)
    }

    /// Components with a live plugin (for tests and the loading figures).
    pub(crate) fn len(&self) -> usize {
        let shelf = self.lock();
        shelf
            .values()
            .filter(|code| code.strong_count() > 0)
            .count()
    }

    fn live(&self, digest: &str) -> Option<Arc<Code>> {
        self.lock().get(digest).and_then(Weak::upgrade)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<Code>>> {
        // A panic while holding this lock leaves the map whole (every operation on it is a
        // single insert, lookup or retain), so a poisoned lock is safe to keep using.
        self.by_digest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
