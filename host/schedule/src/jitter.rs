//! Deterministic per-schedule hashes: the jitter, a delay for one slot of one schedule, so every
//! node computes the same delay and fires of many schedules spread over the window; and the
//! owner score, by which nodes sharing a database agree which of them fires a schedule.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Separates this use of SHA-256 from any other; bump the version to reshuffle every delay.
const DOMAIN: &[u8] = b"switchboard-schedule/jitter/v1";
/// Separates the owner score from the jitter.
const OWNER_DOMAIN: &[u8] = b"switchboard-schedule/owner/v1";
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The delay in `[0, window)` for `slot` of the schedule named `schedule_key`; zero when
/// `window` is zero. The same inputs give the same delay on every node and in every release.
pub fn jitter(schedule_key: &str, slot: DateTime<Utc>, window: Duration) -> Duration {
    let span = window.as_nanos();
    if span == 0 {
        return Duration::ZERO;
    }
    let offset = hash(schedule_key, slot) % span;
    let seconds = u64::try_from(offset / NANOS_PER_SECOND).unwrap_or(u64::MAX);
    let nanos = u32::try_from(offset % NANOS_PER_SECOND).unwrap_or(0);
    Duration::new(seconds, nanos)
}

/// The rendezvous score of `node` for the schedule named `schedule_key`: of the live nodes, the
/// one with the highest score fires the schedule. The same on every node and in every release.
pub fn owner_score(node: &str, schedule_key: &str) -> u128 {
    first_128(OWNER_DOMAIN, &[node, schedule_key], &[])
}

/// The first 128 bits of SHA-256 over the domain, the length-prefixed key and the slot.
fn hash(schedule_key: &str, slot: DateTime<Utc>) -> u128 {
    let seconds = slot.timestamp().to_le_bytes();
    let nanos = slot.timestamp_subsec_nanos().to_le_bytes();
    first_128(DOMAIN, &[schedule_key], &[&seconds, &nanos])
}

/// The first 128 bits of SHA-256 over `domain`, each of `texts` length-prefixed (so no two
/// inputs run together), then `fixed` as they are.
fn first_128(domain: &[u8], texts: &[&str], fixed: &[&[u8]]) -> u128 {
    let mut hasher = Sha256::new();
    hasher.update(domain);
    for text in texts {
        let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
        hasher.update(len.to_le_bytes());
        hasher.update(text.as_bytes());
    }
    for bytes in fixed {
        hasher.update(bytes);
    }
    let digest = hasher.finalize();
    let mut first = [0_u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a test instant")
    }

    #[test]
    fn the_same_inputs_give_the_same_delay_within_the_window() {
        let window = Duration::from_secs(30);
        let first = jitter("crm-sync#0", slot(1_764_579_600), window);
        assert_eq!(first, jitter("crm-sync#0", slot(1_764_579_600), window));
        assert!(first < window);
    }

    #[test]
    fn the_delay_is_pinned_so_nodes_on_other_releases_agree() {
        let delay = jitter("crm-sync#0", slot(1_764_579_600), Duration::from_secs(30));
        // Computed independently: the SHA-256 input described in `hash`, by Python's hashlib.
        assert_eq!(delay, Duration::new(27, 846_381_141));
    }

    #[test]
    fn keys_and_slots_spread_over_the_window() {
        let window = Duration::from_secs(60);
        let delays: std::collections::BTreeSet<Duration> = (0..50)
            .map(|i| jitter(&format!("plugin-{i}#0"), slot(1_764_579_600 + i), window))
            .collect();
        assert!(delays.len() > 45, "delays collide: {delays:?}");
        let low = delays.iter().filter(|d| **d < window / 2).count();
        assert!(
            (10..=40).contains(&low),
            "{low} of 50 delays in the first half"
        );
    }

    #[test]
    fn a_zero_window_gives_no_delay() {
        assert_eq!(jitter("a", slot(0), Duration::ZERO), Duration::ZERO);
    }
}
