//! [`Ring`]: a list that keeps its newest `limit` entries and counts the ones it dropped, for
//! the logs that grow with use (the sent list, the webhook delivery log).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A bounded list: pushing past `limit` drops the oldest entry and counts it.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    limit: usize,
    dropped: u64,
}

/// The size of a bounded list as the control endpoints report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingStats {
    /// Entries kept now.
    pub kept: usize,
    /// Entries dropped (oldest first) to stay within `limit` since the last reset.
    pub dropped: u64,
    /// The most entries kept.
    pub limit: usize,
}

impl<T> Ring<T> {
    /// An empty list keeping at most `limit` entries (at least one).
    pub fn new(limit: usize) -> Self {
        Self {
            items: VecDeque::new(),
            limit: limit.max(1),
            dropped: 0,
        }
    }

    /// Appends `item`, dropping the oldest entries past the limit.
    pub fn push(&mut self, item: T) {
        while self.items.len() >= self.limit {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }

    /// Entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.iter()
    }

    /// The entry at `index` (0 = oldest kept), to change it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.items.get_mut(index)
    }

    /// The oldest kept entry.
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }

    /// Forgets every entry and the dropped count.
    pub fn clear(&mut self) {
        self.items.clear();
        self.dropped = 0;
    }

    /// Kept, dropped and limit.
    pub fn stats(&self) -> RingStats {
        RingStats {
            kept: self.items.len(),
            dropped: self.dropped,
            limit: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_counts_the_dropped() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        let stats = RingStats {
            kept: 3,
            dropped: 2,
            limit: 3,
        };
        assert_eq!(ring.stats(), stats);
        ring.clear();
        assert_eq!(ring.stats().dropped, 0);
        assert_eq!(Ring::<u8>::new(0).stats().limit, 1);
    }
}
