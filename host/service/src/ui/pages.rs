//! What every page shares: the navigation, the error page and the small formatting helpers
//! the views use (times, durations, chats, shortened JSON).

use askama::Template;
use chrono::{DateTime, Utc};
use switchboard_store::RunSummary;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Runs,
    Events,
    Quarantine,
    Plugins,
    Connections,
    Schedules,
    Nodes,
    Overview,
}

impl Nav {
    /// `here` for the current page's entry (its CSS class), else nothing.
    pub fn class(&self, entry: &str) -> &'static str {
        let name = match self {
            Nav::None => "",
            Nav::Runs => "runs",
            Nav::Events => "events",
            Nav::Quarantine => "quarantine",
            Nav::Plugins => "plugins",
            Nav::Connections => "connections",
            Nav::Schedules => "schedules",
            Nav::Nodes => "nodes",
            Nav::Overview => "overview",
        };
        if name == entry { "here" } else { "" }
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
pub struct ErrorPage<'a> {
    pub nav: Nav,
    pub message: &'a str,
}

/// A time as the pages show it (UTC, to the second).
pub fn at(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Microseconds as milliseconds with one decimal.
pub fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1e3)
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// JSON text pretty-printed when it parses, else as it is.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// One row of a runs table.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub plugin: String,
    pub status: &'static str,
    pub attempts: String,
    pub kind: String,
    /// `(connection, chat)` for the timeline link.
    pub chat: Option<(i64, i64)>,
    pub created: String,
    pub error: String,
    pub replay: bool,
}

impl RunRow {
    pub fn of(r: &RunSummary) -> RunRow {
        RunRow {
            id: r.run_id.0,
            plugin: r.plugin.clone(),
            status: r.status.as_str(),
            attempts: format!("{}/{}", r.attempt, r.max_attempts),
            kind: r.event_kind.clone(),
            chat: r.connection_id.zip(r.chat_id),
            created: at(&r.created_at),
            error: clip(r.error.as_deref().unwrap_or(""), 120),
            replay: r.is_replay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("привет мир", 6), "привет…");
        assert_eq!(clip("hi", 6), "hi");
    }
}
