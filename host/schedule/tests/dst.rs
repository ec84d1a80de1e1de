//! Named daylight-saving cases in Europe/Moscow, Europe/London and America/New_York: a skipped
//! slot fires once when the clock lands, a repeated slot fires once (first pass), and interval
//! jobs stay monotonic without duplicates across both transitions.

use chrono::{DateTime, Utc};
use chrono_tz::{America::New_York, Europe::London, Europe::Moscow, Tz};
use switchboard_schedule::Schedule;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a test instant")
        .to_utc()
}

/// Checks the first fires after `after` as "UTC instant, local wall time and zone".
fn check_fires(expr: &str, tz: Tz, after: &str, expected: &[&str]) {
    let schedule = Schedule::parse(expr, tz, None, None).expect("a valid schedule");
    let fires: Vec<String> = schedule
        .fires_after(utc(after))
        .take(expected.len())
        .map(|at| {
            let local = at.with_timezone(&tz);
            format!("{} {}", at.format("%m-%dT%H:%MZ"), local.format("%H:%M %Z"))
        })
        .collect();
    assert_eq!(fires, expected, "{expr} in {tz} after {after}");
}

#[test]
fn new_york_spring_forward_fires_a_skipped_slot_once_at_three() {
    check_fires(
        "0 30 2 * * *",
        New_York,
        "2025-03-08T12:00:00Z",
        &["03-09T07:00Z 03:00 EDT", "03-10T06:30Z 02:30 EDT"],
    );
}

#[test]
fn new_york_fall_back_fires_a_repeated_slot_once() {
    check_fires(
        "0 30 1 * * *",
        New_York,
        "2025-11-01T12:00:00Z",
        &["11-02T05:30Z 01:30 EDT", "11-03T06:30Z 01:30 EST"],
    );
}

#[test]
fn new_york_every_thirty_minutes_is_monotonic_across_both_transitions() {
    check_fires(
        "0 */30 * * * *",
        New_York,
        "2025-03-09T05:00:00Z",
        &[
            "03-09T05:30Z 00:30 EST",
            "03-09T06:00Z 01:00 EST",
            "03-09T06:30Z 01:30 EST",
            "03-09T07:00Z 03:00 EDT",
            "03-09T07:30Z 03:30 EDT",
        ],
    );
    check_fires(
        "0 */30 * * * *",
        New_York,
        "2025-11-02T04:00:00Z",
        &[
            "11-02T04:30Z 00:30 EDT",
            "11-02T05:00Z 01:00 EDT",
            "11-02T05:30Z 01:30 EDT",
            "11-02T07:00Z 02:00 EST",
            "11-02T07:30Z 02:30 EST",
        ],
    );
}

#[test]
fn new_york_from_inside_the_second_pass_waits_for_the_next_new_slot() {
    let schedule = Schedule::parse("0 */30 * * * *", New_York, None, None).expect("valid");
    let next = schedule.next_after(utc("2025-11-02T06:10:00Z"));
    assert_eq!(next, Some(utc("2025-11-02T07:00:00Z")));
}

/// croner 4 drops these: 02:20 and 02:40 do not exist, and neither is a fixed-time job.
#[test]
fn new_york_several_skipped_slots_fire_once_when_the_clock_lands() {
    check_fires(
        "0 20,40 * * * *",
        New_York,
        "2025-03-09T06:30:00Z",
        &[
            "03-09T06:40Z 01:40 EST",
            "03-09T07:00Z 03:00 EDT",
            "03-09T07:20Z 03:20 EDT",
        ],
    );
}

#[test]
fn london_spring_forward_fires_the_skipped_half_past_one_at_two() {
    check_fires(
        "0 30 1 * * *",
        London,
        "2025-03-29T12:00:00Z",
        &["03-30T01:00Z 02:00 BST", "03-31T00:30Z 01:30 BST"],
    );
}

#[test]
fn london_fall_back_fires_a_repeated_slot_once() {
    check_fires(
        "0 30 1 * * *",
        London,
        "2025-10-25T12:00:00Z",
        &["10-26T00:30Z 01:30 BST", "10-27T01:30Z 01:30 GMT"],
    );
}

#[test]
fn london_every_thirty_minutes_is_monotonic_across_both_transitions() {
    check_fires(
        "0 */30 * * * *",
        London,
        "2025-03-30T00:00:00Z",
        &[
            "03-30T00:30Z 00:30 GMT",
            "03-30T01:00Z 02:00 BST",
            "03-30T01:30Z 02:30 BST",
        ],
    );
    check_fires(
        "0 */30 * * * *",
        London,
        "2025-10-25T23:00:00Z",
        &[
            "10-25T23:30Z 00:30 BST",
            "10-26T00:00Z 01:00 BST",
            "10-26T00:30Z 01:30 BST",
            "10-26T02:00Z 02:00 GMT",
        ],
    );
}

#[test]
fn moscow_2011_spring_forward_fires_the_skipped_slot_once_at_three() {
    check_fires(
        "0 30 2 * * *",
        Moscow,
        "2011-03-26T12:00:00Z",
        &["03-26T23:00Z 03:00 MSK", "03-27T22:30Z 02:30 MSK"],
    );
}

#[test]
fn moscow_2010_fall_back_fires_a_repeated_slot_once() {
    check_fires(
        "0 30 2 * * *",
        Moscow,
        "2010-10-30T12:00:00Z",
        &["10-30T22:30Z 02:30 MSD", "10-31T23:30Z 02:30 MSK"],
    );
}

#[test]
fn moscow_every_thirty_minutes_is_monotonic_across_the_2011_and_2014_changes() {
    check_fires(
        "0 */30 * * * *",
        Moscow,
        "2011-03-26T22:00:00Z",
        &[
            "03-26T22:30Z 01:30 MSK",
            "03-26T23:00Z 03:00 MSK",
            "03-26T23:30Z 03:30 MSK",
        ],
    );
    check_fires(
        "0 */30 * * * *",
        Moscow,
        "2014-10-25T20:45:00Z",
        &[
            "10-25T21:00Z 01:00 MSK",
            "10-25T21:30Z 01:30 MSK",
            "10-25T23:00Z 02:00 MSK",
        ],
    );
}

#[test]
fn moscow_has_no_transition_since_2014() {
    check_fires(
        "0 30 2 * * *",
        Moscow,
        "2025-03-29T12:00:00Z",
        &["03-29T23:30Z 02:30 MSK", "03-30T23:30Z 02:30 MSK"],
    );
    check_fires(
        "0 30 1 * * *",
        Moscow,
        "2025-10-25T12:00:00Z",
        &["10-25T22:30Z 01:30 MSK", "10-26T22:30Z 01:30 MSK"],
    );
}
