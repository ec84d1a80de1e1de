//! Which config keys a run has recorded already: each distinct key is recorded once per run
//! (its answer cannot change within a run). Keys no manifest could hold (longer than
//! [`MAX_RECORDED_KEY`]) and keys beyond [`MAX_DISTINCT_KEYS`] are answered without a record.
//! Its own file so that the run's context holds it without importing the capabilities.

use std::collections::HashSet;

/// The most distinct keys recorded per run.
const MAX_DISTINCT_KEYS: usize = 256;
/// The longest key recorded.
const MAX_RECORDED_KEY: usize = 256;

/// The (function, key) pairs already recorded in this run.
#[derive(Default)]
pub(crate) struct ConfigReads {
    seen: HashSet<(&'static str, String)>,
}

impl ConfigReads {
    /// Whether this read should be recorded: the first of its key, within the bounds.
    pub(crate) fn first(&mut self, kind: &'static str, key: &str) -> bool {
        if key.len() > MAX_RECORDED_KEY || self.seen.len() >= MAX_DISTINCT_KEYS {
            return false;
        }
        self.seen.insert((kind, key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_recorded_once_within_bounds() {
        let mut reads = ConfigReads::default();
        assert!(reads.first("config.get", "a"));
        assert!(!reads.first("config.get", "a"));
        assert!(reads.first("config.secret", "a"));
        assert!(!reads.first("config.get", &"k".repeat(MAX_RECORDED_KEY + 1)));
        for i in 0..MAX_DISTINCT_KEYS {
            reads.first("config.get", &format!("key-{i}"));
        }
        assert!(!reads.first("config.get", "late"));
        assert_eq!(reads.seen.len(), MAX_DISTINCT_KEYS);
    }
}
