//! Unit tests of expression parsing: accepted forms, and errors that name the field.

use chrono::NaiveDateTime;

use super::*;

fn check_error(text: &str, expected: &str) {
    let error = CronExpr::parse(text).expect_err("an invalid expression");
    assert_eq!(error.to_string(), expected);
}

fn wall(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a test wall time")
}

#[test]
fn six_fields_with_names_lists_ranges_and_steps_parse() {
    for text in [
        "0 0 9 * * Mon-Fri",
        "*/15 0,30 8-18/2 1-15 Jan-Jun,Dec sun",
        "0 0 0 L * *",
        "0 0 12 * * 5#L",
        "0 0 0 1 * +Mon",
        " 0  0 9 * * *\t",
    ] {
        let expr = CronExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(expr.as_str(), text);
    }
}

#[test]
fn slots_are_matched_on_the_wall_clock() {
    let expr = CronExpr::parse("0 0 9 * * Mon-Fri").expect("valid");
    assert!(expr.matches(wall("2026-12-01 09:00:00")), "a Tuesday");
    assert!(!expr.matches(wall("2026-12-05 09:00:00")), "a Saturday");
    assert!(!expr.matches(wall("2026-12-01 09:00:01")));
    let next = expr.next_wall_after(wall("2026-12-04 09:00:00"));
    assert_eq!(next, Some(wall("2026-12-07 09:00:00")));
}

#[test]
fn both_restricted_day_fields_match_either_unless_plus() {
    let either = CronExpr::parse("0 0 0 1 * Mon").expect("valid");
    assert!(
        either.matches(wall("2026-12-07 00:00:00")),
        "a Monday, not the 1st"
    );
    let both = CronExpr::parse("0 0 0 1 * +Mon").expect("valid");
    assert!(!both.matches(wall("2026-12-07 00:00:00")));
    assert!(both.matches(wall("2027-02-01 00:00:00")), "Monday the 1st");
}

#[test]
fn the_field_count_is_six() {
    check_error(
        "0 9 * * *",
        "`0 9 * * *` has 5 fields, but here cron starts with a seconds field; write `0 0 9 * * *`",
    );
    check_error(
        "0 0 0 1 1 * 2030",
        "`0 0 0 1 1 * 2030` has 7 fields; write six: sec min hour day-of-month month day-of-week, e.g. `0 0 9 * * Mon-Fri`",
    );
    check_error(
        "@daily",
        "`@daily` has 1 fields; write six: sec min hour day-of-month month day-of-week, e.g. `0 0 9 * * Mon-Fri`",
    );
}

#[test]
fn errors_name_the_field_and_what_it_accepts() {
    check_error(
        "0 0 25 * * *",
        "`0 0 25 * * *`: the hour field `25` is not valid (number out of bounds); use 0-23, `*`, ranges `a-b`, steps `*/n` and lists",
    );
    check_error(
        "0 0 9 * * Mon-Fry",
        "`0 0 9 * * Mon-Fry`: the day-of-week field `Mon-Fry` is not valid (unknown name or character); use 0-7 or Sun-Sat (0 and 7 are Sunday), `5#2`, `5#L`, `*`, ranges, steps and lists",
    );
    check_error(
        "*/0 * * * * *",
        "`*/0 * * * * *`: the second field `*/0` is not valid (step cannot be zero); use 0-59, `*`, ranges `a-b`, steps `*/n` and lists",
    );
    check_error(
        "0 0 0 * 13 *",
        "`0 0 0 * 13 *`: the month field `13` is not valid (number out of bounds); use 1-12 or Jan-Dec, `*`, ranges, steps and lists",
    );
}

#[test]
fn an_expression_no_date_matches_is_refused() {
    check_error(
        "0 0 0 30 2 *",
        "`0 0 0 30 2 *` never fires: no date matches its day-of-month, month and day-of-week fields; check those fields",
    );
    CronExpr::parse("0 0 0 29 2 +Mon").expect("Feb 29 on a Monday happens every few decades");
}

#[test]
fn long_text_is_refused_before_it_is_split() {
    let text = "0 ".repeat(MAX_EXPRESSION_LEN);
    check_error(
        &text,
        &format!(
            "the cron expression is {} bytes long; keep it under {MAX_EXPRESSION_LEN} bytes",
            text.len()
        ),
    );
}
