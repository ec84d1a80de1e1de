//! Property tests over random six-field expressions and random IANA zones, starting just
//! before a clock change of the zone: fires strictly increase, each matches the expression on
//! the local wall clock or is the first instant after a skipped slot, no two share a wall-clock
//! time, no slot is lost, `next_after` agrees with the iterator, plans are consistent, and no
//! input panics.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::sample::select;
use switchboard_schedule::{CatchUp, CronExpr, MAX_DUE, ON_TIME_GRACE, Schedule};

/// A field of values in `min..=max`: `*`, `*/k`, `a`, `a-b`, `a-b/k` or a list.
fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    let range = (min..=max, min..=max).prop_map(|(a, b)| (a.min(b), a.max(b)));
    prop_oneof![
        Just("*".to_owned()),
        (1..=max.div_ceil(2)).prop_map(|k| format!("*/{k}")),
        (min..=max).prop_map(|v| v.to_string()),
        range.clone().prop_map(|(a, b)| format!("{a}-{b}")),
        (range, 1..=5_u32).prop_map(|((a, b), k)| format!("{a}-{b}/{k}")),
        prop::collection::btree_set(min..=max, 1..=3).prop_map(|set| {
            let values: Vec<String> = set.iter().map(u32::to_string).collect();
            values.join(",")
        }),
    ]
}

/// A valid expression; mostly on whole minutes so a few hundred fires span a clock change.
fn expression() -> impl Strategy<Value = String> {
    let second = prop_oneof![4 => Just("0".to_owned()), 1 => field(0, 59)];
    let day = prop_oneof![3 => Just("*".to_owned()), 1 => field(1, 28)];
    let month = prop_oneof![3 => Just("*".to_owned()), 1 => field(1, 12)];
    let weekday = prop_oneof![
        3 => Just("*".to_owned()),
        1 => Just("Mon-Fri".to_owned()),
        1 => field(0, 6),
    ];
    (second, field(0, 59), field(0, 23), day, month, weekday)
        .prop_map(|(s, m, h, d, mo, w)| format!("{s} {m} {h} {d} {mo} {w}"))
}

fn zone() -> impl Strategy<Value = Tz> {
    let zones: &'static [Tz] = &chrono_tz::TZ_VARIANTS;
    select(zones)
}

fn offset(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

fn wall(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// The first change of `tz`'s offset within 400 days after `from`, to the second.
fn next_transition(tz: Tz, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let day = TimeDelta::days(1);
    let changed = (1..=400)
        .map(|n| from + day * n)
        .find(|at| offset(tz, *at) != offset(tz, from))?;
    let (mut low, mut high) = ((changed - day).timestamp(), changed.timestamp());
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let at = DateTime::from_timestamp(middle, 0)?;
        if offset(tz, at) == offset(tz, from) {
            low = middle;
        } else {
            high = middle;
        }
    }
    DateTime::from_timestamp(high, 0)
}

/// A start instant up to two hours before a clock change of `tz` after `year`+`day`, or that
/// day itself when the zone keeps one offset.
fn start_near_change(tz: Tz, year: i32, day: i64, lead_s: i64) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
        + TimeDelta::days(day);
    next_transition(tz, base).map_or(base, |change| change - TimeDelta::seconds(lead_s))
}

/// How far past the start fires are checked: a day past the clock change.
fn horizon(start: DateTime<Utc>) -> DateTime<Utc> {
    start + TimeDelta::hours(27)
}

/// The fires from `start` up to the horizon, at most 300.
fn fires(schedule: &Schedule, start: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let fires = schedule
        .fires_after(start)
        .take_while(|at| *at <= horizon(start));
    fires.take(300).collect()
}

/// Whether `at` is the first instant after a clock jump that skipped a matching wall time.
fn lands_after_skipped_slot(expr: &CronExpr, tz: Tz, at: DateTime<Utc>) -> bool {
    let before = at - TimeDelta::seconds(1);
    if offset(tz, before) == offset(tz, at) {
        return false;
    }
    let (from, to) = (wall(tz, before), wall(tz, at));
    let skipped = (1..(to - from).num_seconds()).map(|s| from + TimeDelta::seconds(s));
    skipped.take(200_000).any(|w| expr.matches(w))
}

/// Every matching wall time near `start` whose fire instant lies in `(start, last]` fired.
fn check_nothing_lost(schedule: &Schedule, start: DateTime<Utc>, fires: &[DateTime<Utc>]) {
    let (tz, expr) = (schedule.timezone(), schedule.expr());
    let Some(&last) = fires.last() else { return };
    let set: BTreeSet<DateTime<Utc>> = fires.iter().copied().collect();
    let whole = DateTime::from_timestamp(start.timestamp(), 0).expect("in range");
    let first_wall = wall(tz, whole) - TimeDelta::hours(1);
    let last_wall = wall(tz, last).min(wall(tz, start) + TimeDelta::hours(3));
    let walls = (0..).map(|s| first_wall + TimeDelta::seconds(s));
    for w in walls
        .take_while(|w| *w <= last_wall)
        .filter(|w| expr.matches(*w))
    {
        match tz.from_local_datetime(&w).earliest() {
            Some(at) if at.to_utc() > start && at.to_utc() <= last => {
                assert!(set.contains(&at.to_utc()), "slot {w} ({at}) did not fire");
            }
            Some(_) => {}
            None if w > wall(tz, start) && w < wall(tz, last) => {
                let landed = fires
                    .iter()
                    .any(|f| wall(tz, *f - TimeDelta::seconds(1)) < w && w < wall(tz, *f));
                assert!(landed, "skipped slot {w} did not fire after the jump");
            }
            None => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn fires_are_ordered_matching_distinct_and_complete(
        text in expression(),
        tz in zone(),
        year in 1970..2040_i32,
        day in 0..365_i64,
        lead_s in 0..7200_i64,
        fraction_ns in prop_oneof![Just(0_i64), 0..1_000_000_000_i64],
    ) {
        let schedule = Schedule::parse(&text, tz, None, None).expect("generated expressions are valid");
        let start = start_near_change(tz, year, day, lead_s) + TimeDelta::nanoseconds(fraction_ns);
        let fires = fires(&schedule, start);
        let first = schedule.next_after(start).filter(|at| *at <= horizon(start));
        prop_assert_eq!(fires.first().copied(), first);
        let mut walls = BTreeSet::new();
        let mut previous = start;
        for &at in &fires {
            prop_assert!(at > previous, "{} then {}", previous, at);
            let local = wall(tz, at);
            prop_assert!(
                schedule.expr().matches(local) || lands_after_skipped_slot(schedule.expr(), tz, at),
                "{} ({}) is no slot of `{}`", at, local, text
            );
            prop_assert!(walls.insert(local), "two fires at wall time {}", local);
            let between = previous + (at - previous) / 2;
            prop_assert_eq!(schedule.next_after(between), Some(at));
            prop_assert_eq!(schedule.next_after(at - TimeDelta::nanoseconds(1)), Some(at));
            previous = at;
        }
        check_nothing_lost(&schedule, start, &fires);
    }

    #[test]
    fn plans_run_real_slots_in_order_and_account_for_the_rest(
        text in expression(),
        tz in zone(),
        year in 1970..2040_i32,
        day in 0..365_i64,
        lead_s in 0..7200_i64,
        down_s in 0..200_000_i64,
        window_s in 1..100_000_u64,
        policy in select(CatchUp::ALL),
    ) {
        let schedule = Schedule::parse(&text, tz, None, None).expect("valid");
        let now = start_near_change(tz, year, day, lead_s) + TimeDelta::hours(1);
        let last = now - TimeDelta::seconds(down_s);
        let plan = schedule.plan(Some(last), now, policy, Duration::from_secs(window_s));
        let limit = if policy == CatchUp::All { MAX_DUE } else { 1 };
        prop_assert!(plan.due.len() <= limit);
        let on_time_from = now - TimeDelta::from_std(ON_TIME_GRACE).expect("small");
        let mut previous = last;
        for slot in &plan.due {
            prop_assert!(slot.at > previous && slot.at <= now);
            prop_assert_eq!(schedule.next_after(slot.at - TimeDelta::nanoseconds(1)), Some(slot.at));
            prop_assert_eq!(slot.catch_up, slot.at < on_time_from);
            previous = slot.at;
        }
        if policy == CatchUp::None {
            prop_assert!(plan.due.iter().all(|slot| !slot.catch_up));
        }
        let all: Vec<_> = schedule.fires_after(last).take_while(|at| *at <= now).take(5_000).collect();
        if all.len() < 5_000 {
            prop_assert_eq!(plan.missed + plan.due.len() as u64, all.len() as u64);
            let tail = &all[all.len() - plan.due.len()..];
            prop_assert!(plan.due.iter().map(|slot| slot.at).eq(tail.iter().copied()));
        }
    }

    #[test]
    fn no_text_panics_the_parser(
        text in prop_oneof!["[0-9a-zA-Z*/,#?LW+ -]{0,40}", "[0-9*ßİıſK /#-]{0,30}", "\\PC{0,40}"],
    ) {
        let _ = CronExpr::parse(&text);
    }

    #[test]
    fn no_instant_panics_the_search(
        text in expression(),
        tz in zone(),
        seconds in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
    ) {
        let schedule = Schedule::parse(&text, tz, None, None).expect("valid");
        let at = DateTime::from_timestamp(seconds, 0).expect("in range");
        if let Some(next) = schedule.next_after(at) {
            prop_assert!(next > at);
        }
        let plan = schedule.plan(Some(at), at + TimeDelta::days(1), CatchUp::All, Duration::MAX);
        prop_assert!(plan.due.len() <= MAX_DUE);
    }
}
