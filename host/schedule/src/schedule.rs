//! A schedule: an expression read in one time zone, optionally bounded by start and end
//! instants, and the instants it fires at.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::expr::CronExpr;
use crate::{ScheduleError, zone};

/// A cron expression in a time zone, firing at instants in `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    expr: CronExpr,
    timezone: Tz,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

/// The fire times of a schedule after an instant, in order; see [`Schedule::fires_after`].
#[derive(Clone, Debug)]
pub struct Fires<'a> {
    schedule: &'a Schedule,
    after: DateTime<Utc>,
}

impl Schedule {
    /// Parses `expr` (see [`CronExpr::parse`]) and reads it in `timezone`; fires no earlier
    /// than `start` (inclusive) and before `end` (exclusive).
    ///
    /// # Errors
    ///
    /// An invalid expression, or an `end` not after `start`.
    pub fn parse(
        expr: &str,
        timezone: Tz,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        Self::new(CronExpr::parse(expr)?, timezone, start, end)
    }

    /// A schedule from an expression already parsed, e.g. the one a manifest holds.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::EndsBeforeStart`] when `end` is not after `start`.
    pub fn new(
        expr: CronExpr,
        timezone: Tz,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        if let (Some(start), Some(end)) = (start, end)
            && end <= start
        {
            let (start, end) = (start.to_rfc3339(), end.to_rfc3339());
            return Err(ScheduleError::EndsBeforeStart { start, end });
        }
        Ok(Self {
            expr,
            timezone,
            start,
            end,
        })
    }

    /// A schedule with no start or end, e.g. from a manifest's expression and zone.
    pub fn unbounded(expr: CronExpr, timezone: Tz) -> Self {
        Self {
            expr,
            timezone,
            start: None,
            end: None,
        }
    }

    pub fn expr(&self) -> &CronExpr {
        &self.expr
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.start
    }

    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.end
    }

    /// The first fire time strictly after `instant`; `None` when the schedule has ended (or
    /// the next fire lies past the year 5000).
    pub fn next_after(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = match self.start {
            Some(start) if start > instant => just_before(start),
            _ => instant,
        };
        let after = zone::floor_second(zone::clamp(after)?);
        let wall = zone::last_wall_at_or_before(self.timezone, after)?;
        let slot = self.expr.next_wall_after(wall)?;
        let at = zone::fire_instant(self.timezone, slot)?;
        self.end.is_none_or(|end| at < end).then_some(at)
    }

    /// Every fire time strictly after `instant`, in increasing order.
    pub fn fires_after(&self, instant: DateTime<Utc>) -> Fires<'_> {
        Fires {
            schedule: self,
            after: instant,
        }
    }

    /// The last fire time in `[floor, up_to]`, by bisection over `next_after` (fires are whole
    /// seconds), so it costs a few dozen searches however dense the schedule is.
    pub(crate) fn last_in(
        &self,
        floor: DateTime<Utc>,
        up_to: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let first = self.next_after(just_before(floor))?;
        if first > up_to {
            return None;
        }
        // `next_after(at(low)) <= up_to` holds and `next_after(at(high)) <= up_to` does not.
        let (mut low, mut high) = (first.timestamp() - 1, zone::floor_second(up_to).timestamp());
        let at = |seconds: i64| DateTime::from_timestamp(seconds, 0);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            let fires_by = at(middle).and_then(|m| self.next_after(m));
            if fires_by.is_some_and(|next| next <= up_to) {
                low = middle;
            } else {
                high = middle;
            }
        }
        self.next_after(at(low)?)
    }
}

/// The instant one nanosecond before `instant`, so "after it" includes `instant` itself.
pub(crate) fn just_before(instant: DateTime<Utc>) -> DateTime<Utc> {
    let before = instant.checked_sub_signed(TimeDelta::nanoseconds(1));
    before.unwrap_or(instant)
}

impl Iterator for Fires<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        let next = self.schedule.next_after(self.after)?;
        self.after = next;
        Some(next)
    }
}
