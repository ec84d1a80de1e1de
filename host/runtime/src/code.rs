//! Compiled code shared by every plugin built from the same component.
//!
//! Many manifests may name one component (a fleet of per-company auto-replies, a thousand cron
//! schedules): each gets its own grants, limits and state, but the compiled code, its list of
//! imports and its linked instance-pre depend only on the component's bytes and on the runtime's
//! one linker. [`CodeShelf`] keeps them per content digest for as long as a loaded plugin holds
//! them, so loading the same component again costs a hash instead of a deserialization, and the
//! machine code is mapped once. Entries whose plugins are all gone are swept on the next load.
//!
//! A component the compiled-component cache vouches for is loaded unlinked ([`Code::lazy`]) and
//! linked by its first run; concurrent first runs wait for one link and share it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OnceCell;

use crate::bindings::PluginPre;
use crate::state::HostState;

/// What every plugin built from one component shares.
pub(crate) struct Code {
    /// The interfaces the component imports (checked against each manifest at load).
    pub(crate) imports: Vec<String>,
    /// The component's sha256, which names it in the compiled-component cache.
    pub(crate) digest: String,
    /// The component linked against the host API, ready to instantiate once per run: set at
    /// load (eager), or by the first run (lazy), which concurrent first runs wait for and
    /// share. A failure is kept too, so later runs end at once instead of retrying the work.
    linked: OnceCell<Result<PluginPre<HostState>, String>>,
    /// How many times this code was linked or tried to be (at load, or by a first run).
    links: AtomicUsize,
}

impl Code {
    /// Code linked at load.
    pub(crate) fn linked(digest: &str, imports: Vec<String>, pre: PluginPre<HostState>) -> Self {
        Code {
            imports,
            digest: digest.to_owned(),
            linked: OnceCell::new_with(Some(Ok(pre))),
            links: AtomicUsize::new(1),
        }
    }

    /// Code known (from the cache) to link, to be linked by its first run.
    pub(crate) fn lazy(digest: &str, imports: Vec<String>) -> Self {
        Code {
            imports,
            digest: digest.to_owned(),
            linked: OnceCell::new(),
            links: AtomicUsize::new(0),
        }
    }

    /// The linked component, linking it with `link` if no run has yet; `Err` says why it
    /// cannot be linked (then and for every later run of this loaded code).
    pub(crate) async fn pre(
        &self,
        link: impl FnOnce() -> Result<PluginPre<HostState>, String>,
    ) -> Result<&PluginPre<HostState>, &str> {
        let linked = self
            .linked
            .get_or_init(|| async {
                self.links.fetch_add(1, Ordering::Relaxed);
                link()
            })
            .await;
        linked.as_ref().map_err(String::as_str)
    }

    /// Whether the component is linked (false until a lazily loaded plugin's first run).
    pub(crate) fn is_linked(&self) -> bool {
        matches!(self.linked.get(), Some(Ok(_)))
    }
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
        self.count(|_| true)
    }

    /// Components with a live plugin whose code is linked (for tests and the loading figures).
    pub(crate) fn linked(&self) -> usize {
        self.count(Code::is_linked)
    }

    /// Link attempts of the components with a live plugin (for tests and the figures).
    pub(crate) fn links(&self) -> usize {
        self.sum(|code| code.links.load(Ordering::Relaxed))
    }

    fn count(&self, which: impl Fn(&Code) -> bool) -> usize {
        self.sum(|code| usize::from(which(code)))
    }

    fn sum(&self, of: impl Fn(&Code) -> usize) -> usize {
        let shelf = self.lock();
        shelf
            .values()
            .filter_map(Weak::upgrade)
            .map(|code| of(&code))
            .sum()
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
