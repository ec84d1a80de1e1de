//! Cron schedules for Switchboard: which instants a `[[trigger]] cron = "..."` fires at, and
//! which slots to run after downtime. Pure: no I/O, no clock reads; time is always passed in.
//!
//! # Expressions
//!
//! Exactly six fields, seconds first: `sec min hour day-of-month month day-of-week`, e.g.
//! `0 0 9 * * Mon-Fri`. A five-field (Vixie) expression is refused with a hint to prefix `0`
//! rather than read silently, so a six-field expression with a forgotten field is never
//! misread as a five-field one. No year field and no `@daily` nicknames. Fields are read by the
//! [`croner`] crate in its POSIX mode: day-of-week `0`-`7` (0 and 7 are Sunday) or `Sun`-`Sat`,
//! month `1`-`12` or `Jan`-`Dec`, `*`, `a-b`, `*/n`, `a-b/n`, lists, and croner's `L`, `W`, `#`
//! and `?`. When both day fields are restricted a day matching either fires (Vixie cron); a `+`
//! before day-of-week asks for both. An expression no date can match is refused.
//!
//! # Time zones and daylight saving
//!
//! Each schedule reads its expression on the wall clock of one IANA zone ([`chrono_tz::Tz`]).
//! A matching wall-clock slot fires at:
//! - the instant it names, when it names exactly one;
//! - the first of the two, when the clock goes back and repeats it (it fires once);
//! - the first valid instant after it, when the clock jumps over it; several skipped slots
//!   and a real slot at that instant fire once together.
//!
//! So fire times strictly increase, interval jobs (`0 */30 * * * *`) never go back in time, and
//! no two fires share a local wall-clock time. croner 4 alone differs in two cases, which is
//! why it is used only for wall-clock matching here: interval jobs fire in both halves of a
//! repeated hour, and slots skipped by a jump that are not fixed-time are dropped.
//!
//! # Entry points
//!
//! [`Schedule::parse`] (or [`CronExpr::parse`] then [`Schedule::new`]), [`Schedule::next_after`],
//! [`Schedule::fires_after`], [`Schedule::plan`] for catch-up after downtime, and [`jitter`] for
//! a deterministic per-slot delay that every node computes alike.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use switchboard_schedule::Schedule;
//!
//! let new_york = chrono_tz::America::New_York;
//! let daily = Schedule::parse("0 30 2 * * *", new_york, None, None).expect("valid");
//! // 02:30 does not exist on 2025-03-09 in New York: the slot fires as the clock lands on 03:00.
//! let after: DateTime<Utc> = "2025-03-08T12:00:00Z".parse().expect("an instant");
//! let fires: Vec<String> = daily.fires_after(after).take(2).map(|at| at.to_rfc3339()).collect();
//! assert_eq!(fires, ["2025-03-09T07:00:00+00:00", "2025-03-10T06:30:00+00:00"]);
//! ```

mod expr;
mod jitter;
mod plan;
mod schedule;
mod zone;

pub use expr::{CronExpr, Field, MAX_EXPRESSION_LEN};
pub use jitter::{jitter, owner_score};
pub use plan::{CatchUp, MAX_DUE, MISSED_COUNT_LIMIT, ON_TIME_GRACE, Plan, Slot};
pub use schedule::{Fires, Schedule};

/// Why an expression or a schedule was refused. Messages name the field and say what to write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    #[error("the cron expression is {len} bytes long; keep it under {MAX_EXPRESSION_LEN} bytes")]
    TooLong { len: usize },
    #[error("`{expr}` has 5 fields, but here cron starts with a seconds field; write `0 {expr}`")]
    FiveFields { expr: String },
    #[error(
        "`{expr}` has {count} fields; write six: sec min hour day-of-month month day-of-week, e.g. `0 0 9 * * Mon-Fri`"
    )]
    FieldCount { expr: String, count: usize },
    #[error("`{expr}`: the {field} field `{part}` is not valid ({reason}); use {}", field.allowed())]
    Field {
        expr: String,
        field: Field,
        part: String,
        reason: String,
    },
    #[error(
        "`{expr}` is not a valid cron expression ({reason}); use sec min hour day-of-month month day-of-week, e.g. `0 0 9 * * Mon-Fri`"
    )]
    Invalid { expr: String, reason: String },
    #[error(
        "`{expr}` never fires: no date matches its day-of-month, month and day-of-week fields; check those fields"
    )]
    NeverFires { expr: String },
    #[error("the schedule ends ({end}) before it starts ({start}); move the end after the start")]
    EndsBeforeStart { start: String, end: String },
}
