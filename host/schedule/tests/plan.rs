//! Catch-up plans after downtime under each policy, across a DST change, with start and end
//! bounds, and bounded for a dense schedule after long downtime.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::{America::New_York, Tz};
use switchboard_schedule::{
    CatchUp, MAX_DUE, MISSED_COUNT_LIMIT, Plan, Schedule, ScheduleError, Slot,
};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a test instant")
        .to_utc()
}

fn hourly() -> Schedule {
    Schedule::parse("0 0 * * * *", Tz::UTC, None, None).expect("valid")
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Checks a plan's due slots as "HH:MM" (`+` marks a catch-up) and its missed count; `case`
/// names what is checked.
fn check_case(case: &str, plan: &Plan, due: &[&str], missed: u64) {
    let shown: Vec<String> = plan
        .due
        .iter()
        .map(|slot| {
            let mark = if slot.catch_up { "+" } else { "" };
            format!("{mark}{}", slot.at.format("%H:%M"))
        })
        .collect();
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    assert_eq!(
        (shown.as_slice(), plan.missed),
        (due, missed),
        "{case}: {plan:?}"
    );
}

fn check_plan(plan: &Plan, due: &[&str], missed: u64) {
    check_case("the plan", plan, due, missed);
}

/// Plans the hourly schedule last fired at 09:00 on 2026-12-01, at `now` (a UTC time that
/// day), for each case: (policy, catch-up window in minutes, due slots, missed count).
fn check_after_nine(now: &str, cases: &[(CatchUp, u64, &[&str], u64)]) {
    let last = Some(utc("2026-12-01T09:00:00Z"));
    let now = utc(&format!("2026-12-01T{now}Z"));
    for &(policy, window, due, missed) in cases {
        let plan = hourly().plan(last, now, policy, minutes(window));
        check_case(
            &format!("{policy:?} within {window} min"),
            &plan,
            due,
            missed,
        );
    }
}

#[test]
fn a_slot_due_now_runs_on_time_under_every_policy() {
    check_after_nine(
        "12:00:10",
        &[
            (CatchUp::None, 60, &["12:00"], 2),
            (CatchUp::One, 60, &["12:00"], 2),
            (CatchUp::All, 180, &["+10:00", "+11:00", "12:00"], 0),
            (CatchUp::All, 90, &["+11:00", "12:00"], 1),
        ],
    );
}

#[test]
fn missed_slots_are_caught_up_within_the_window() {
    check_after_nine(
        "12:30:00",
        &[
            (CatchUp::None, 60, &[], 3),
            (CatchUp::One, 60, &["+12:00"], 2),
            (CatchUp::One, 10, &[], 3),
            (CatchUp::All, 120, &["+11:00", "+12:00"], 1),
        ],
    );
}

#[test]
fn a_schedule_that_never_fired_has_missed_nothing() {
    let schedule = hourly();
    let plan = schedule.plan(
        None,
        utc("2026-12-01T12:00:10Z"),
        CatchUp::All,
        minutes(600),
    );
    check_plan(&plan, &["12:00"], 0);
    let plan = schedule.plan(
        None,
        utc("2026-12-01T12:30:00Z"),
        CatchUp::All,
        minutes(600),
    );
    check_plan(&plan, &[], 0);
}

#[test]
fn nothing_is_due_again_right_after_a_fire() {
    let now = utc("2026-12-01T12:00:30Z");
    let last = Some(utc("2026-12-01T12:00:00Z"));
    check_plan(
        &hourly().plan(last, now, CatchUp::All, minutes(600)),
        &[],
        0,
    );
}

#[test]
fn a_repeated_slot_is_caught_up_once_after_fall_back() {
    let schedule = Schedule::parse("0 30 1 * * *", New_York, None, None).expect("valid");
    let last = Some(utc("2025-11-01T05:30:00Z"));
    let now = utc("2025-11-02T06:45:00Z"); // 01:45 EST, the second pass
    let plan = schedule.plan(last, now, CatchUp::All, Duration::from_secs(86_400));
    let due = [Slot {
        at: utc("2025-11-02T05:30:00Z"),
        catch_up: true,
    }];
    assert_eq!((plan.due.as_slice(), plan.missed), (due.as_slice(), 0));
}

#[test]
fn a_dense_schedule_after_long_downtime_gives_a_bounded_plan() {
    let schedule = Schedule::parse("* * * * * *", Tz::UTC, None, None).expect("valid");
    let last = Some(utc("2026-11-01T00:00:00Z"));
    let now = utc("2026-12-01T00:00:00Z");
    let plan = schedule.plan(last, now, CatchUp::All, Duration::from_secs(7 * 86_400));
    assert_eq!(plan.due.len(), MAX_DUE);
    assert_eq!(plan.due.last().map(|slot| slot.at), Some(now));
    let on_time = plan.due.iter().filter(|slot| !slot.catch_up).count();
    assert_eq!(on_time, 61, "slots at most a minute old are on time");
    assert!(plan.due.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(plan.missed, MISSED_COUNT_LIMIT);
}

#[test]
fn start_and_end_bound_the_fires() {
    let (start, end) = (utc("2026-12-01T10:00:00Z"), utc("2026-12-01T12:00:00Z"));
    let schedule = Schedule::parse("0 0 * * * *", Tz::UTC, Some(start), Some(end)).expect("valid");
    let fires: Vec<_> = schedule.fires_after(utc("2026-12-01T00:00:00Z")).collect();
    assert_eq!(fires, [start, utc("2026-12-01T11:00:00Z")]);
    assert_eq!(schedule.next_after(end), None);
    let error = Schedule::parse("0 0 * * * *", Tz::UTC, Some(end), Some(start));
    assert!(
        matches!(error, Err(ScheduleError::EndsBeforeStart { .. })),
        "{error:?}"
    );
}
