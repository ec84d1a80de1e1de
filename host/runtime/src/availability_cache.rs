//! WABA availability answers cached per chat for a short TTL, shared by every run of a runtime,
//! so a burst of replies to one chat asks Radist once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether a free-form message can go to a WABA chat, as last seen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub(crate) is_available: bool,
    pub(crate) expires_at: (i64, u32),
    pub(crate) dialogs_available: bool,
    pub(crate) auto_templates_enabled: bool,
}

/// (connection, chat) → (window, when fetched).
pub(crate) struct AvailabilityCache {
    ttl: Duration,
    entries: Mutex<HashMap<(i64, i64), (Window, Instant)>>,
}

impl AvailabilityCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        AvailabilityCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, key: (i64, i64), now: Instant) -> Option<Window> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (window, at) = entries.get(&key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| window.clone())
    }

    pub(crate) fn put(&self, key: (i64, i64), window: Window, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 100_000 {
            entries.retain(|_, (_, at)| now.saturating_duration_since(*at) < self.ttl);
        }
        entries.insert(key, (window, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = AvailabilityCache::new(Duration::from_secs(30));
        let start = Instant::now();
        let window = Window {
            is_available: false,
            expires_at: (1, 0),
            dialogs_available: true,
            auto_templates_enabled: false,
        };
        cache.put((1, 2), window.clone(), start);
        assert_eq!(
            cache.get((1, 2), start + Duration::from_secs(29)),
            Some(window)
        );
        assert_eq!(cache.get((1, 2), start + Duration::from_secs(30)), None);
        assert_eq!(cache.get((1, 3), start), None);
    }
}
