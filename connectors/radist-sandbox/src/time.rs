//! Timestamps: RFC 3339 UTC with `Z` and microseconds, truncated to microseconds internally.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// Now, truncated to microseconds so that formatting and parsing round-trip.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `2026-02-19T13:06:44.288549Z`.
pub fn format(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses any RFC 3339 timestamp, or a naive one taken as UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc).trunc_subsecs(6));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc().trunc_subsecs(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_micros_and_parses_back() {
        let dt = parse("2026-02-19T16:07:03+03:00").unwrap();
        assert_eq!(format(&dt), "2026-02-19T13:07:03.000000Z");
        assert_eq!(
            parse("2026-02-19T13:06:44.288549")
                .map(|d| format(&d))
                .unwrap(),
            "2026-02-19T13:06:44.288549Z"
        );
        assert!(parse("yesterday").is_none());
    }
}
