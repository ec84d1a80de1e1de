//! Call-time scope checks: connection ids, message types and the per-plugin send rate.
//! Each refusal names the manifest key to change.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use switchboard_manifest::{ConnectionId, MessageType};

/// Refuses `connection` unless `granted` lists it; `key` is e.g. `capabilities.messages`.
pub(crate) fn check_connection(
    key: &str,
    granted: &BTreeSet<ConnectionId>,
    connection: i64,
) -> Result<(), String> {
    if granted.iter().any(|c| c.get() == connection) {
        return Ok(());
    }
    Err(format!(
        "connection {connection} is not in `{key}.connections`; add it to the manifest"
    ))
}

/// Refuses `wanted` unless `granted` lists it.
pub(crate) fn check_message_type(
    granted: &BTreeSet<MessageType>,
    wanted: MessageType,
) -> Result<(), String> {
    if granted.contains(&wanted) {
        return Ok(());
    }
    Err(format!(
        "message type `{wanted}` is not in `capabilities.messages.types`; add it to the manifest"
    ))
}

/// A token bucket: `per_minute` sends, refilled continuously, bursts up to `per_minute`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn per_minute(per_minute: u32, now: Instant) -> Self {
        let capacity = f64::from(per_minute.max(1));
        TokenBucket {
            capacity,
            tokens: capacity,
            per_second: capacity / 60.0,
            last: now,
        }
    }

    /// Takes one token, or says how long until one is available.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - self.tokens) / self.per_second;
        Err(Duration::from_secs_f64(wait).max(Duration::from_millis(1)))
    }

    /// Returns a token taken for a send that did not happen.
    pub(crate) fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(ids: &[i64]) -> BTreeSet<ConnectionId> {
        ids.iter().filter_map(|&id| ConnectionId::new(id)).collect()
    }

    #[test]
    fn connections_outside_the_grant_are_refused_with_the_key() {
        let granted = conns(&[70001]);
        assert!(check_connection("capabilities.messages", &granted, 70001).is_ok());
        let err = check_connection("capabilities.messages", &granted, 70002).expect_err("denied");
        assert_eq!(
            err,
            "connection 70002 is not in `capabilities.messages.connections`; add it to the manifest"
        );
    }

    #[test]
    fn message_types_outside_the_grant_are_refused() {
        let granted: BTreeSet<_> = [MessageType::Text].into_iter().collect();
        assert!(check_message_type(&granted, MessageType::Text).is_ok());
        let err = check_message_type(&granted, MessageType::WabaTemplate).expect_err("denied");
        assert!(err.contains("`waba_template`"), "{err}");
    }

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::per_minute(2, start);
        assert!(bucket.try_take(start).is_ok());
        assert!(bucket.try_take(start).is_ok());
        let wait = bucket.try_take(start).expect_err("empty");
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(30));
        assert!(bucket.try_take(start + Duration::from_secs(30)).is_ok());
        assert!(bucket.try_take(start + Duration::from_secs(30)).is_err());
    }

    #[test]
    fn a_token_given_back_is_taken_again_but_never_beyond_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::per_minute(1, start);
        assert!(bucket.try_take(start).is_ok());
        assert!(bucket.try_take(start).is_err());
        bucket.give_back();
        assert!(bucket.try_take(start).is_ok());
        bucket.give_back();
        bucket.give_back();
        assert!(bucket.try_take(start).is_ok());
        assert!(bucket.try_take(start).is_err(), "capacity is one");
    }
}
