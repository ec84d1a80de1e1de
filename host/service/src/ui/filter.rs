//! The runs filter as it lives in the dashboard's URLs: plugin, status, trigger kind, chat, time
//! range, payload text and page.
//! Parsed with the admin API's own parsers, so a link reproduces exactly the view the API would
//! list, and written back as a query string for links, the live stream and bulk replay.

use serde::Deserialize;
use switchboard_store::{RunFilter, RunId};

use crate::views::RunQuery;

/// Rows on one page of the runs list.
pub const PAGE: usize = 50;

/// How many of the newest runs the status tabs count: a page costs the same on any store size
/// (counts beyond it are shown as "N+").
pub const COUNT_WINDOW: u64 = 100_000;

/// The query string of `/ui/runs` (empty fields are absent from the filter).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunsQuery {
    #[serde(default)]
    pub plugin: String,
    #[serde(default)]
    pub status: String,
    /// `<connection>:<chat>`.
    #[serde(default)]
    pub chat: String,
    /// RFC 3339.
    #[serde(default)]
    pub since: String,
    /// RFC 3339; runs created before it.
    #[serde(default)]
    pub until: String,
    /// The event kind (trigger).
    #[serde(default)]
    pub kind: String,
    /// Words of the event payload (all of them, whole words, any case).
    #[serde(default)]
    pub text: String,
    /// Keyset page: runs older than this id.
    pub before: Option<i64>,
}

fn given(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

impl RunsQuery {
    /// The store filter, or what is wrong with the query (the admin API's words).
    pub fn filter(&self, limit: usize) -> Result<RunFilter, String> {
        let query = RunQuery {
            plugin: given(&self.plugin),
            status: given(&self.status),
            since: given(&self.since),
            chat: given(&self.chat),
            kind: given(&self.kind),
            until: given(&self.until),
            text: given(&self.text),
            limit: Some(limit),
            before: self.before,
        };
        query.filter()
    }

    /// The same filter without a status (the status tabs' counts) and without a page.
    pub fn without_status(&self) -> RunsQuery {
        RunsQuery {
            status: String::new(),
            before: None,
            ..self.clone()
        }
    }

    /// The filter fields (no page) as `k=v&…`, URL-encoded; empty when nothing is filtered.
    pub fn query_string(&self) -> String {
        self.fields()
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// `(name, value)` of each filter field, in URL order.
    pub fn fields(&self) -> [(&'static str, &str); 7] {
        [
            ("plugin", self.plugin.as_str()),
            ("status", self.status.as_str()),
            ("kind", self.kind.as_str()),
            ("chat", self.chat.as_str()),
            ("since", self.since.as_str()),
            ("until", self.until.as_str()),
            ("text", self.text.as_str()),
        ]
    }

    /// This filter with another status (`""` for all).
    pub fn with_status(&self, status: &str) -> String {
        let other = RunsQuery {
            status: status.to_owned(),
            ..self.without_status()
        };
        other.query_string()
    }

    /// The page after the one ending at `last`.
    pub fn older_than(&self, last: RunId) -> String {
        let q = self.query_string();
        let sep = if q.is_empty() { "" } else { "&" };
        format!("{q}{sep}before={}", last.0)
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_round_trips_through_the_filter() {
        let q = RunsQuery {
            plugin: "auto-reply".into(),
            status: "failed".into(),
            chat: "70001:5".into(),
            since: "2026-12-01T09:00:00+03:00".into(),
            until: "2026-12-02T00:00:00Z".into(),
            kind: "message.received".into(),
            text: "доставка".into(),
            ..RunsQuery::default()
        };
        let rest = "chat=70001%3A5&since=2026-12-01T09%3A00%3A00%2B03%3A00&until=2026-12-02T00%3A00%3A00Z&text=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0";
        assert_eq!(
            q.query_string(),
            format!("plugin=auto-reply&status=failed&kind=message.received&{rest}")
        );
        let f = q.filter(PAGE).expect("valid");
        assert_eq!(f.chat, Some((70001, 5)));
        assert_eq!(f.kind.as_deref(), Some("message.received"));
        assert_eq!(f.text.as_deref(), Some("доставка"));
        assert!(f.until.is_some());
        assert_eq!(
            q.with_status(""),
            format!("plugin=auto-reply&kind=message.received&{rest}")
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let q = RunsQuery {
            status: "finished".into(),
            ..RunsQuery::default()
        };
        assert!(q.filter(PAGE).is_err());
        let q = RunsQuery {
            text: "?!".into(),
            ..RunsQuery::default()
        };
        assert!(q.filter(PAGE).is_err(), "a text without a word");
    }
}
