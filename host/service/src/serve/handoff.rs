//! The [`Handoff`]: intake's decoded event, carried in memory to the dispatcher of the same
//! process, so a webhook's run does not parse and convert its stored payload again.
//!
//! Intake [`reserve`](Handoff::reserve)s the plugin event it built, keyed by the exact payload
//! text it is about to store, before the event is stored (a claim in the same store batch as the
//! ingest finds it already), then [`settle`](Reservation::settle)s the reservation with the
//! ingest's answer: the runs it queued, or none (a dedupe hit, a store error), which removes it;
//! a reservation dropped unsettled (the request was cancelled mid-ingest) is removed too. The
//! dispatcher [`take`](Handoff::take)s the event by the payload its claim read back. Keying on
//! the payload text makes a hit correct by construction: the event kept is what that very text
//! decodes to (`StoredEvent::from_payload` then `plugin_event`), whichever run, event or node
//! claimed it. A miss (another process stored it, a restart, an evicted entry) falls back to
//! the payload.
//!
//! Bounded by entries and by bytes ([`HandoffLimits`]); past either bound the oldest entry is
//! evicted, so memory never grows with the backlog. An entry goes once the runs it was kept
//! for have taken it, or when evicted.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use switchboard_runtime::event::PluginEvent;

use crate::telemetry;

/// What an entry costs beyond its payload text: the map slots, the order index, the `Arc`s.
const ENTRY_OVERHEAD: usize = 256;

/// The handoff's bounds (`[webhook] handoff_max_events`, `handoff_max_mib`); either at 0
/// turns the handoff off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffLimits {
    pub max_events: usize,
    pub max_bytes: usize,
}

/// Decoded events on their way from intake to the dispatcher.
#[derive(Debug)]
pub struct Handoff {
    limits: HandoffLimits,
    held: Mutex<Held>,
}

/// A kept event that intake has not settled yet; dropped unsettled, it is removed.
#[derive(Debug)]
#[must_use = "settle the reservation with the ingest's answer"]
pub struct Reservation {
    handoff: Arc<Handoff>,
    key: Arc<str>,
    seq: u64,
    /// The runs it is kept for, once settled.
    runs: Option<usize>,
}

#[derive(Debug, Default)]
struct Held {
    entries: HashMap<Arc<str>, Entry>,
    /// Keys by reservation order: the first is the oldest, evicted first.
    order: BTreeMap<u64, Arc<str>>,
    bytes: usize,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    event: Arc<PluginEvent>,
    seq: u64,
    bytes: usize,
    /// Runs that took it so far.
    taken: usize,
    /// Runs it is kept for; `None` until intake settles it.
    runs: Option<usize>,
}

impl HandoffLimits {
    /// Off: nothing is kept.
    pub const OFF: HandoffLimits = HandoffLimits {
        max_events: 0,
        max_bytes: 0,
    };
}

impl Handoff {
    pub fn new(limits: HandoffLimits) -> Self {
        Handoff {
            limits,
            held: Mutex::new(Held::default()),
        }
    }

    /// Keeps `event`, the plugin event `payload` decodes to, until the reservation is settled.
    /// `None` when it is not kept: the handoff is off, the event alone is over the byte bound,
    /// or the same payload is kept already (a redelivery while the first is in flight).
    pub fn reserve(self: &Arc<Self>, payload: &str, event: PluginEvent) -> Option<Reservation> {
        let bytes = cost(payload);
        if self.limits.max_events == 0 || bytes > self.limits.max_bytes {
            return None;
        }
        let mut held = self.lock();
        if held.entries.contains_key(payload) {
            return None;
        }
        held.make_room(bytes, self.limits);
        let key: Arc<str> = Arc::from(payload);
        let seq = held.insert(Arc::clone(&key), Arc::new(event), bytes);
        Some(Reservation {
            handoff: Arc::clone(self),
            key,
            seq,
            runs: None,
        })
    }

    /// Keeps the reserved entry for `runs` runs, or removes it when there are none.
    fn settle_entry(&self, key: &str, seq: u64, runs: usize) {
        let mut held = self.lock();
        let Some(entry) = held.entries.get_mut(key) else {
            return;
        };
        if entry.seq != seq {
            return;
        }
        entry.runs = Some(runs);
        if entry.taken >= runs {
            held.remove(key);
        }
    }

    /// The event `payload` decodes to when intake kept it (a hit), else `None` (a miss); both
    /// counted. The entry goes once every run it was kept for took it.
    pub fn take(&self, payload: &str) -> Option<Arc<PluginEvent>> {
        let event = self.lock().take(payload);
        telemetry::handoff_looked_up(event.is_some());
        event
    }

    /// Entries and bytes held now.
    pub fn held(&self) -> (usize, usize) {
        let held = self.lock();
        (held.entries.len(), held.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // Every update leaves `Held` consistent before it can panic, so a poisoned lock is usable.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reservation {
    /// Settles the reservation with the ingest's answer: kept for the `runs` new runs, or
    /// removed when there are none (a dedupe hit, no subscriber, the store refused it).
    pub fn settle(mut self, runs: usize) {
        self.runs = Some(runs);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let runs = self.runs.unwrap_or(0);
        self.handoff.settle_entry(&self.key, self.seq, runs);
    }
}

impl Held {
    /// Evicts the oldest entries until one of `bytes` fits both bounds.
    fn make_room(&mut self, bytes: usize, limits: HandoffLimits) {
        let mut evicted = 0_u64;
        while self.entries.len() >= limits.max_events
            || self.bytes.saturating_add(bytes) > limits.max_bytes
        {
            let Some((_, key)) = self.order.pop_first() else {
                break;
            };
            self.remove(&key);
            evicted += 1;
        }
        if evicted > 0 {
            telemetry::handoff_evicted(evicted);
        }
    }

    /// Adds an entry; its reservation number.
    fn insert(&mut self, key: Arc<str>, event: Arc<PluginEvent>, bytes: usize) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            event,
            seq,
            bytes,
            taken: 0,
            runs: None,
        };
        self.entries.insert(Arc::clone(&key), entry);
        self.order.insert(seq, key);
        self.bytes += bytes;
        seq
    }

    fn take(&mut self, payload: &str) -> Option<Arc<PluginEvent>> {
        let entry = self.entries.get_mut(payload)?;
        entry.taken += 1;
        let event = Arc::clone(&entry.event);
        if entry.runs.is_some_and(|runs| entry.taken >= runs) {
            self.remove(payload);
        }
        Some(event)
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.order.remove(&entry.seq);
            self.bytes -= entry.bytes;
        }
    }
}

/// What keeping the event of `payload` costs: the key text, about as much again for the decoded
/// event, and [`ENTRY_OVERHEAD`].
fn cost(payload: &str) -> usize {
    payload
        .len()
        .saturating_mul(2)
        .saturating_add(ENTRY_OVERHEAD)
}

#[cfg(test)]
#[path = "handoff_tests.rs"]
mod tests;
