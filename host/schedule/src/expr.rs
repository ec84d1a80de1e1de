//! Six-field cron expressions, checked field by field so errors name the field, and matched
//! against local wall-clock times (no time zone here; see `zone`).

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds};

use crate::ScheduleError;

/// The longest expression accepted, in bytes; longer text is refused before it is split.
pub const MAX_EXPRESSION_LEN: usize = 256;

/// A parsed, valid cron expression: six fields, seconds first, that some date matches.
#[derive(Clone)]
pub struct CronExpr {
    text: String,
    /// Boxed: croner's parsed pattern is a few hundred bytes of bit sets.
    cron: Box<Cron>,
}

/// One of the six fields, in the order they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    /// Every field, in the order they are written.
    pub const ALL: [Field; 6] = [
        Field::Second,
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    /// The field's name in messages, e.g. `day-of-week`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// What the field accepts, for error messages.
    pub(crate) fn allowed(self) -> &'static str {
        match self {
            Field::Second | Field::Minute => "0-59, `*`, ranges `a-b`, steps `*/n` and lists",
            Field::Hour => "0-23, `*`, ranges `a-b`, steps `*/n` and lists",
            Field::DayOfMonth => "1-31, `L` (last day) or `15W`, `*`, ranges, steps and lists",
            Field::Month => "1-12 or Jan-Dec, `*`, ranges, steps and lists",
            Field::DayOfWeek => {
                "0-7 or Sun-Sat (0 and 7 are Sunday), `5#2`, `5#L`, `*`, ranges, steps and lists"
            }
        }
    }

    /// The field's value in the expression used to check one field on its own.
    fn neutral(self) -> &'static str {
        match self {
            Field::Second | Field::Minute | Field::Hour => "0",
            Field::DayOfMonth | Field::Month | Field::DayOfWeek => "*",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CronExpr {
    /// Parses `text`: six fields, each valid, with at least one date they all match.
    ///
    /// # Errors
    ///
    /// [`ScheduleError`] naming the field at fault and what it accepts, or saying the
    /// expression never fires.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let fields = split_fields(text)?;
        for (field, part) in Field::ALL.into_iter().zip(&fields) {
            check_field(text, field, part)?;
        }
        let cron = parser().parse(&fields.join(" "));
        let cron = cron.map_err(|error| ScheduleError::Invalid {
            expr: text.into(),
            reason: reason(&error),
        })?;
        let expr = Self {
            text: text.into(),
            cron: Box::new(cron),
        };
        expr.ensure_it_fires()?;
        Ok(expr)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the local wall-clock time `wall` is one of the expression's slots.
    pub fn matches(&self, wall: NaiveDateTime) -> bool {
        self.cron.is_time_matching(&wall).unwrap_or(false)
    }

    /// The first slot strictly after `wall`, on the wall clock; `None` past croner's year 5000.
    pub(crate) fn next_wall_after(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        self.cron.find_next_occurrence(&wall, false).ok()
    }

    /// Refuses an expression no date matches (`0 0 0 30 2 *`). Any expression that matches at
    /// all does so within one 400-year Gregorian cycle, well inside croner's search.
    fn ensure_it_fires(&self) -> Result<(), ScheduleError> {
        let origin = NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        match origin.and_then(|origin| self.next_wall_after(origin)) {
            Some(_) => Ok(()),
            None => Err(ScheduleError::NeverFires {
                expr: self.text.clone(),
            }),
        }
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CronExpr {}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronExpr").field(&self.text).finish()
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The six fields of `text`, which must be short.
fn split_fields(text: &str) -> Result<Vec<&str>, ScheduleError> {
    if text.len() > MAX_EXPRESSION_LEN {
        return Err(ScheduleError::TooLong { len: text.len() });
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.len() {
        6 => Ok(fields),
        5 => Err(ScheduleError::FiveFields { expr: text.into() }),
        count => Err(ScheduleError::FieldCount {
            expr: text.into(),
            count,
        }),
    }
}

/// The one parser configuration: seconds required, POSIX weekdays, strict steps.
fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Required).build()
}

/// Checks one field on its own, inside an expression whose other fields are neutral, so a
/// problem is pinned to the field that has it.
fn check_field(text: &str, field: Field, part: &str) -> Result<(), ScheduleError> {
    let probe: Vec<&str> = Field::ALL
        .iter()
        .map(|f| if *f == field { part } else { f.neutral() })
        .collect();
    match parser().parse(&probe.join(" ")) {
        Ok(_) => Ok(()),
        Err(error) => Err(ScheduleError::Field {
            expr: text.into(),
            field,
            part: part.into(),
            reason: reason(&error),
        }),
    }
}

/// croner's error, reworded as a lowercase clause without its type prefix.
fn reason(error: &CronError) -> String {
    let text = match error {
        CronError::ComponentError(text) | CronError::InvalidPattern(text) => text.clone(),
        CronError::IllegalCharacters(_) => "unknown name or character".into(),
        other => other.to_string(),
    };
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "it is empty".into(),
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
