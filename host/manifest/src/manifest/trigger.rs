//! Triggers: which normalized events or which cron schedule start a run of the plugin.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
/// Which slots missed while the host was down run at start-up (within the window); the
/// scheduler's own type, spelled `none`, `one` (the default) or `all` in manifests.
pub use switchboard_schedule::CatchUp;
use switchboard_schedule::{CronExpr, Schedule};

use super::ConnectionId;
use crate::named::{Named, named_enum};

/// One `[[trigger]]`: either event-based (`on`) or a schedule (`cron`), never both.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    Event(EventTrigger),
    Schedule(ScheduleTrigger),
}

/// A trigger on normalized events, with optional filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTrigger {
    /// The event kinds; never empty.
    pub on: BTreeSet<EventKind>,
    /// Only events on these connections; `None` for every connection.
    pub connections: Option<BTreeSet<ConnectionId>>,
    /// Only events from these messengers; `None` for every messenger.
    pub source_types: Option<BTreeSet<SourceType>>,
    /// Only messages whose text matches (message events only).
    pub text_matches: Option<TextPattern>,
    /// Whether `message.sent` echoes of Switchboard's own sends are delivered (default false).
    pub include_own_echoes: bool,
}

/// A trigger on a cron schedule; fires arrive as `schedule.fired` events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleTrigger {
    pub cron: CronSpec,
    /// The zone the schedule is read in (default UTC).
    pub timezone: Tz,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    /// How far back missed slots are caught up, in seconds (default 3600).
    pub catch_up_window_s: u32,
    /// No slot before this instant fires.
    pub start: Option<DateTime<Utc>>,
    /// No slot at or after this instant fires.
    pub end: Option<DateTime<Utc>>,
    /// Each schedule fires up to this many seconds after its slots (a fixed offset per schedule,
    /// the same on every node), so many schedules on one minute do not all start at once
    /// (default 0).
    pub jitter_s: u32,
}

named_enum! {
    /// A normalized event kind a trigger can subscribe to.
    #[non_exhaustive]
    pub enum EventKind as "event" {
        MessageReceived = "message.received",
        MessageSent = "message.sent",
        MessageDelivered = "message.delivered",
        MessageRead = "message.read",
        MessageFailed = "message.failed",
        ConnectionStatusChanged = "connection.status-changed",
        /// Started from the CLI or the admin API with a JSON payload.
        Manual = "manual",
    }
}

named_enum! {
    /// The messenger behind a connection, as Radist names it.
    #[non_exhaustive]
    pub enum SourceType as "source type" {
        Waba = "waba",
        Whatsapp = "whatsapp",
        Telegram = "telegram",
        TelegramBot = "telegram_bot",
        MaxPersonal = "max_personal",
        MaxBot = "max_bot",
        Odnoklassniki = "odnoklassniki",
    }
}

named_enum! {
    /// What happens when a slot fires while the previous run of the schedule is still going.
    pub enum Overlap as "overlap policy" {
        /// Drop the new slot (the default).
        Skip = "skip",
        /// Keep at most one slot waiting.
        QueueOne = "queue-one",
        /// Run concurrently.
        Allow = "allow",
    }
}

/// A regular expression that message text must match; compiled once, compared by its source.
#[derive(Clone)]
pub struct TextPattern(regex::Regex);

/// A cron expression: six fields, seconds first, read by `switchboard-schedule`; parsed once.
#[derive(Clone, PartialEq, Eq)]
pub struct CronSpec(CronExpr);

impl EventKind {
    /// Whether this is one of the `message.*` events, which carry message text.
    pub fn is_message(self) -> bool {
        self.as_str().starts_with("message.")
    }
}

impl TextPattern {
    pub(crate) fn new(regex: regex::Regex) -> Self {
        Self(regex)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl PartialEq for TextPattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TextPattern {}

impl fmt::Debug for TextPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TextPattern").field(&self.as_str()).finish()
    }
}

impl CronSpec {
    pub(crate) fn new(expr: CronExpr) -> Self {
        Self(expr)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn expr(&self) -> &CronExpr {
        &self.0
    }
}

impl fmt::Debug for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSpec").field(&self.as_str()).finish()
    }
}

impl ScheduleTrigger {
    /// The schedule the scheduler runs: the expression in the trigger's time zone, within
    /// `start` and `end` (validation made sure `end` is after `start`).
    pub fn schedule(&self) -> Schedule {
        Schedule::new(
            self.cron.expr().clone(),
            self.timezone,
            self.start,
            self.end,
        )
        .unwrap_or_else(|_| Schedule::unbounded(self.cron.expr().clone(), self.timezone))
    }
}

impl Named for CatchUp {
    const ALL: &'static [Self] = CatchUp::ALL;
    const WHAT: &'static str = "catch-up policy";
    fn name(self) -> &'static str {
        self.as_str()
    }
}
