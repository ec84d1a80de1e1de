//! [`Admission`]: at most `max_concurrent_runs` runs execute at once, and no plugin holds more
//! than half of those slots while a run of another plugin waits.
//!
//! Waiting runs are served first come, first served, except that a freed slot skips the runs of
//! a plugin already holding its share ([`Admission::share`]) when a run of a plugin below its
//! share waits. The rule is work-conserving: a plugin alone may use every slot, and a slot never
//! stays free while anyone waits. So a burst of one plugin (or a plugin whose runs spin until
//! their timeout) cannot keep the other plugins' runs queued behind it.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

/// The execution slots of one runtime.
#[derive(Clone)]
pub(crate) struct Admission {
    slots: Arc<Mutex<Slots>>,
}

/// One admitted run; dropping it frees the slot (handing it to the next waiter).
pub(crate) struct Admitted {
    slots: Arc<Mutex<Slots>>,
    plugin: Arc<str>,
}

struct Slots {
    free: usize,
    share: usize,
    /// Slots held, by plugin name (no entry at zero).
    held: HashMap<Arc<str>, usize>,
    waiting: VecDeque<Waiter>,
    running: usize,
    peak: usize,
}

struct Waiter {
    plugin: Arc<str>,
    grant: oneshot::Sender<()>,
}

impl Admission {
    pub(crate) fn new(max_concurrent_runs: u32) -> Self {
        let max = max_concurrent_runs.max(1) as usize;
        let slots = Slots {
            free: max,
            share: (max / 2).max(1),
            held: HashMap::new(),
            waiting: VecDeque::new(),
            running: 0,
            peak: 0,
        };
        Admission {
            slots: Arc::new(Mutex::new(slots)),
        }
    }

    /// Waits for a slot for a run of `plugin`. Cancel-safe: dropping the future while it waits
    /// gives up its place, and a slot granted to it in the meantime is passed on.
    pub(crate) fn admit(&self, plugin: &str) -> impl Future<Output = Admitted> + Send + 'static {
        let plugin: Arc<str> = Arc::from(plugin);
        let pending = {
            let mut slots = lock(&self.slots);
            if slots.free > 0 {
                slots.free -= 1;
                slots.take(&plugin);
                None
            } else {
                let (grant, granted) = oneshot::channel();
                let waiter = Waiter {
                    plugin: Arc::clone(&plugin),
                    grant,
                };
                slots.waiting.push_back(waiter);
                Some(granted)
            }
        };
        Pending {
            slots: Arc::clone(&self.slots),
            plugin: Some(plugin),
            granted: pending,
        }
    }

    /// Runs executing now.
    pub(crate) fn running(&self) -> usize {
        lock(&self.slots).running
    }

    /// The most runs that ever executed at once.
    pub(crate) fn peak(&self) -> usize {
        lock(&self.slots).peak
    }

    /// Runs waiting for a slot.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.slots).waiting.len()
    }

    /// The most slots one plugin holds while another plugin's run waits: half, at least one.
    #[cfg(test)]
    pub(crate) fn share(&self) -> usize {
        lock(&self.slots).share
    }
}

/// The slot state stays consistent under every operation (no panics while it is held), so a
/// poisoned lock is taken as is.
fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Slots {
    fn take(&mut self, plugin: &Arc<str>) {
        *self.held.entry(Arc::clone(plugin)).or_default() += 1;
        self.running += 1;
        self.peak = self.peak.max(self.running);
    }

    fn release(&mut self, plugin: &str) {
        if let Some(n) = self.held.get_mut(plugin) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(plugin);
            }
        }
        self.running = self.running.saturating_sub(1);
        self.hand_on();
    }

    /// Gives the freed slot to the first waiter below its share, else to the first waiter; a
    /// waiter that gave up is skipped.
    fn hand_on(&mut self) {
        while let Some(at) = self.next_waiter() {
            let Some(waiter) = self.waiting.remove(at) else {
                break;
            };
            if waiter.grant.send(()).is_ok() {
                self.take(&waiter.plugin);
                return;
            }
        }
        self.free += 1;
    }

    fn next_waiter(&self) -> Option<usize> {
        let below = |w: &Waiter| self.held.get(&w.plugin).copied().unwrap_or(0) < self.share;
        let first = (!self.waiting.is_empty()).then_some(0);
        self.waiting.iter().position(below).or(first)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.slots).release(&self.plugin);
    }
}

/// A run waiting for its slot.
struct Pending {
    slots: Arc<Mutex<Slots>>,
    /// Taken when the slot is handed over as [`Admitted`].
    plugin: Option<Arc<str>>,
    /// `None` when the slot was free at once.
    granted: Option<oneshot::Receiver<()>>,
}

impl Future for Pending {
    type Output = Admitted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Admitted> {
        if let Some(granted) = self.granted.as_mut() {
            // The sender is only dropped after `send` succeeded or by `hand_on` skipping a
            // waiter that gave up, which this one has not; so `Err` cannot happen here.
            if Pin::new(granted).poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.granted = None;
        match self.plugin.take() {
            Some(plugin) => Poll::Ready(Admitted {
                slots: Arc::clone(&self.slots),
                plugin,
            }),
            None => Poll::Pending,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(plugin) = self.plugin.take() else {
            return;
        };
        let mut slots = lock(&self.slots);
        match self.granted.take() {
            // Dropped before its first poll with a free slot already taken.
            None => slots.release(&plugin),
            Some(mut granted) => {
                if granted.try_recv().is_ok() {
                    slots.release(&plugin);
                }
                // Otherwise the receiver drops under the lock, so `hand_on` skips this waiter.
            }
        }
    }
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
