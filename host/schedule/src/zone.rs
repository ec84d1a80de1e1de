//! Local wall-clock times of a zone and the instants they fire at, with this crate's DST rules:
//! a repeated wall time fires at its first instant, a skipped one at the first valid instant
//! after it. That map is non-decreasing in wall time, which is what makes the search simple.
//!
//! Everything works in whole seconds, the resolution of cron slots and of zone transitions.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The widest clock change searched across (the largest in the zone database is one day).
const MAX_TRANSITION: TimeDelta = TimeDelta::hours(48);

/// `instant`, raised to the year 2 when earlier; `None` from the year 5000 on, where croner
/// stops searching (and chrono's local times would overflow).
pub(crate) fn clamp(instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let edge = |year| NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    let (first, last) = (edge(2)?.and_utc(), edge(5000)?.and_utc());
    (instant < last).then_some(instant.max(first))
}

/// `instant` without its fraction of a second.
pub(crate) fn floor_second(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(instant.timestamp(), 0).unwrap_or(instant)
}

/// The instant the wall-clock slot `wall` fires at in `tz`.
pub(crate) fn fire_instant(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.to_utc()),
        LocalResult::None => {
            let after_gap = first_wall_where(wall, |w| !is_skipped(tz, w))?;
            let at = tz.from_local_datetime(&after_gap).earliest()?;
            Some(at.to_utc())
        }
    }
}

/// The latest wall-clock second whose slot fires at or before `instant` (a whole second):
/// the wall time of `instant`, or, when `instant` is in the second pass of a repeated hour,
/// the last second of that hour (whose slots fired in the first pass).
pub(crate) fn last_wall_at_or_before(tz: Tz, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    let wall = instant.with_timezone(&tz).naive_local();
    match tz.from_local_datetime(&wall) {
        LocalResult::Ambiguous(first, _) if first.to_utc() != instant => {
            let after_repeat = first_wall_where(wall, |w| !is_repeated(tz, w))?;
            after_repeat.checked_sub_signed(TimeDelta::seconds(1))
        }
        _ => Some(wall),
    }
}

fn is_skipped(tz: Tz, wall: NaiveDateTime) -> bool {
    matches!(tz.from_local_datetime(&wall), LocalResult::None)
}

fn is_repeated(tz: Tz, wall: NaiveDateTime) -> bool {
    matches!(tz.from_local_datetime(&wall), LocalResult::Ambiguous(..))
}

/// The first wall second after `from` where `holds` turns true (it is false at `from`): steps
/// of doubling length find a second where it holds, then bisection finds the edge. `None` when
/// it does not hold within [`MAX_TRANSITION`].
fn first_wall_where(
    from: NaiveDateTime,
    holds: impl Fn(NaiveDateTime) -> bool,
) -> Option<NaiveDateTime> {
    let (mut below, mut above) = (0_i64, 1_i64);
    let at = |seconds: i64| from.checked_add_signed(TimeDelta::seconds(seconds));
    while !holds(at(above)?) {
        below = above;
        above *= 2;
        if above > MAX_TRANSITION.num_seconds() {
            return None;
        }
    }
    while above - below > 1 {
        let middle = below + (above - below) / 2;
        if holds(at(middle)?) {
            above = middle;
        } else {
            below = middle;
        }
    }
    at(above)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a test wall time")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a test instant")
            .to_utc()
    }

    #[test]
    fn skipped_walls_fire_when_the_clock_lands() {
        let tz = chrono_tz::America::New_York;
        let at = fire_instant(tz, wall("2025-03-09 02:30:00"));
        assert_eq!(at, Some(utc("2025-03-09T07:00:00Z")));
        let at = fire_instant(tz, wall("2025-03-09 02:00:00"));
        assert_eq!(at, Some(utc("2025-03-09T07:00:00Z")));
    }

    #[test]
    fn repeated_walls_fire_in_the_first_pass() {
        let tz = chrono_tz::America::New_York;
        let at = fire_instant(tz, wall("2025-11-02 01:30:00"));
        assert_eq!(at, Some(utc("2025-11-02T05:30:00Z")));
    }

    #[test]
    fn the_second_pass_of_a_repeated_hour_is_already_covered() {
        let tz = chrono_tz::America::New_York;
        let second_pass = utc("2025-11-02T06:10:00Z");
        let last = last_wall_at_or_before(tz, second_pass);
        assert_eq!(last, Some(wall("2025-11-02 01:59:59")));
        let first_pass = utc("2025-11-02T05:10:00Z");
        let last = last_wall_at_or_before(tz, first_pass);
        assert_eq!(last, Some(wall("2025-11-02 01:10:00")));
    }

    #[test]
    fn instants_are_clamped_to_the_searchable_years() {
        let now = utc("2026-12-01T00:00:00Z");
        assert_eq!(clamp(now), Some(now));
        assert_eq!(clamp(DateTime::<Utc>::MAX_UTC), None);
        assert_eq!(
            clamp(DateTime::<Utc>::MIN_UTC),
            Some(utc("0002-01-01T00:00:00Z"))
        );
    }
}
