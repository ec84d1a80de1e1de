//! Retry timing: exponential backoff with full jitter, and `Retry-After` parsing
//! (delay-seconds or HTTP-date), capped by the [`RetryPolicy`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::config::RetryPolicy;

/// How long to wait before retry number `retry` (0 = the first retry).
///
/// A server-given `Retry-After` wins (capped at `honor_retry_after_max`); otherwise a random
/// delay in `0..=backoff_ceiling` ("full jitter").
pub(crate) fn delay_for(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
) -> Duration {
    match retry_after {
        Some(wait) => wait.min(policy.honor_retry_after_max),
        None => full_jitter(backoff_ceiling(policy, retry)),
    }
}

/// `min(max_delay, base_delay * 2^retry)`, without overflow.
pub(crate) fn backoff_ceiling(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay)
}

/// A uniformly random duration in `0..=ceiling`, at microsecond resolution.
pub(crate) fn full_jitter(ceiling: Duration) -> Duration {
    let max = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::rng().random_range(0..=max))
}

/// Parses a `Retry-After` value: whole (or fractional) seconds, or an HTTP-date relative to
/// `now` (a date in the past means "now"). `None` for anything else.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy(base_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(max_ms),
            honor_retry_after_max: Duration::from_secs(60),
        }
    }

    fn check_ceiling(retry: u32, expected_ms: u64) {
        let got = backoff_ceiling(&policy(200, 10_000), retry);
        assert_eq!(got, Duration::from_millis(expected_ms), "retry {retry}");
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        check_ceiling(0, 200);
        check_ceiling(1, 400);
        check_ceiling(2, 800);
        check_ceiling(5, 6_400);
        check_ceiling(6, 10_000);
        check_ceiling(40, 10_000);
        check_ceiling(u32::MAX, 10_000);
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_varies() {
        let ceiling = Duration::from_millis(100);
        let samples: Vec<Duration> = (0..200).map(|_| full_jitter(ceiling)).collect();
        assert!(samples.iter().all(|d| *d <= ceiling));
        assert!(samples.iter().any(|d| *d != samples[0]), "no jitter at all");
        assert_eq!(full_jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let mut p = policy(200, 10_000);
        p.honor_retry_after_max = Duration::from_secs(30);
        let given = Some(Duration::from_secs(3));
        assert_eq!(delay_for(&p, 0, given), Duration::from_secs(3));
        let huge = Some(Duration::from_secs(3600));
        assert_eq!(delay_for(&p, 0, huge), Duration::from_secs(30));
        assert!(delay_for(&p, 2, None) <= Duration::from_millis(800));
    }

    fn check_retry_after(value: &str, expected: Option<Duration>) {
        let now = Utc.with_ymd_and_hms(2026, 2, 19, 13, 7, 3).unwrap();
        assert_eq!(parse_retry_after(value, now), expected, "value {value:?}");
    }

    #[test]
    fn retry_after_forms() {
        check_retry_after("1", Some(Duration::from_secs(1)));
        check_retry_after(" 120 ", Some(Duration::from_secs(120)));
        check_retry_after("0.5", Some(Duration::from_millis(500)));
        check_retry_after(
            "Thu, 19 Feb 2026 13:07:13 GMT",
            Some(Duration::from_secs(10)),
        );
        check_retry_after("Thu, 19 Feb 2026 13:00:00 GMT", Some(Duration::ZERO));
        check_retry_after("-3", None);
        check_retry_after("NaN", None);
        check_retry_after("soon", None);
        check_retry_after("", None);
    }
}
