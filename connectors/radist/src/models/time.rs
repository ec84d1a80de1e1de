//! Timestamp serde for Radist date-times (`#[serde(with = "time")]`, `time::opt` for `Option`).
//!
//! Reads `…Z` with or without fractional seconds, any UTC offset, and the naive
//! no-offset form (taken as UTC). Writes RFC 3339 with `Z`, with microseconds only when
//! they are non-zero — the two forms the real API returns.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Parses a Radist timestamp in any of the accepted forms.
pub fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(dt) => Ok(dt.with_timezone(&Utc)),
        Err(rfc_err) => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|naive| naive.and_utc())
            .map_err(|_| rfc_err),
    }
}

/// Formats a timestamp the way the API does: `2026-02-19T13:07:03Z` or `…T13:06:44.288549Z`.
pub fn format(dt: &DateTime<Utc>) -> String {
    let precision = if dt.timestamp_subsec_micros() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    dt.to_rfc3339_opts(precision, true)
}

/// Serializes a required timestamp.
pub fn serialize<S: Serializer>(dt: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(dt))
}

/// Deserializes a required timestamp.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(|err| serde::de::Error::custom(format_args!("timestamp `{text}`: {err}")))
}

/// The same for `Option<DateTime<Utc>>` fields (use with `#[serde(default)]`).
pub mod opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes an optional timestamp (`None` as `null`).
    pub fn serialize<S: Serializer>(
        dt: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match dt {
            Some(dt) => super::serialize(dt, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes an optional timestamp (`null` as `None`).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        super::parse(&text)
            .map(Some)
            .map_err(|err| serde::de::Error::custom(format_args!("timestamp `{text}`: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn check(input: &str, expected_output: &str) {
        let dt = parse(input).unwrap_or_else(|err| panic!("{input}: {err}"));
        assert_eq!(format(&dt), expected_output, "input {input}");
    }

    #[test]
    fn accepts_every_real_form() {
        check("2026-02-19T13:07:03Z", "2026-02-19T13:07:03Z");
        check("2026-02-19T13:06:44.288549Z", "2026-02-19T13:06:44.288549Z");
        check("2026-02-19T16:07:03+03:00", "2026-02-19T13:07:03Z");
        check("2026-02-19T13:06:44.288549", "2026-02-19T13:06:44.288549Z");
        check("2026-02-19T13:07:03", "2026-02-19T13:07:03Z");
        check("2026-02-19T13:07:03.000000Z", "2026-02-19T13:07:03Z");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("yesterday").is_err());
        assert!(parse("2026-02-19").is_err());
    }

    #[test]
    fn serde_helpers_round_trip() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct T {
            #[serde(with = "super")]
            at: DateTime<Utc>,
            #[serde(default, with = "super::opt")]
            maybe: Option<DateTime<Utc>>,
        }
        let t: T = serde_json::from_str(r#"{"at":"2026-02-19T13:07:03Z"}"#).unwrap();
        assert_eq!(t.at, Utc.with_ymd_and_hms(2026, 2, 19, 13, 7, 3).unwrap());
        assert_eq!(t.maybe, None);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"at":"2026-02-19T13:07:03Z","maybe":null}"#
        );
        let bad = serde_json::from_str::<T>(r#"{"at":"nope"}"#).unwrap_err();
        assert!(bad.to_string().contains("timestamp `nope`"), "{bad}");
    }
}
