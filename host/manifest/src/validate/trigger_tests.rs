//! Unit tests of trigger validation, through small manifests.

use std::collections::BTreeSet;

use crate::manifest::{CatchUp, EventKind, Overlap, SourceType, Trigger};
use crate::test_support::{check_problems, check_valid};

const EVENT: &str = "[[trigger]]\non = [\"message.received\"]\n";
const CRON: &str = "[[trigger]]\ncron = \"0 0 9 * * Mon-Fri\"\n";

#[test]
fn event_triggers_keep_their_filters() {
    let manifest = check_valid(
        "[[trigger]]\non = [\"message.received\", \"message.sent\"]\nconnections = [70001, 70002]\n\
         source_types = [\"waba\", \"telegram_bot\"]\ntext_matches = \"(?i)price|цена\"\ninclude_own_echoes = true\n",
    );
    let [Trigger::Event(trigger)] = manifest.triggers.as_slice() else {
        panic!("expected one event trigger: {:?}", manifest.triggers);
    };
    let on = BTreeSet::from([EventKind::MessageReceived, EventKind::MessageSent]);
    assert_eq!(trigger.on, on);
    let ids: Vec<i64> = trigger
        .connections
        .iter()
        .flatten()
        .map(|id| id.get())
        .collect();
    assert_eq!(ids, [70001, 70002]);
    let sources = BTreeSet::from([SourceType::Waba, SourceType::TelegramBot]);
    assert_eq!(trigger.source_types, Some(sources));
    let pattern = trigger.text_matches.as_ref().expect("a pattern");
    assert!(pattern.is_match("Какая ЦЕНА?"));
    assert!(trigger.include_own_echoes);
}

#[test]
fn cron_triggers_take_defaults() {
    let manifest = check_valid(CRON);
    let [Trigger::Schedule(trigger)] = manifest.triggers.as_slice() else {
        panic!("expected one schedule: {:?}", manifest.triggers);
    };
    assert_eq!(trigger.cron.as_str(), "0 0 9 * * Mon-Fri");
    assert_eq!(trigger.timezone, chrono_tz::Tz::UTC);
    assert_eq!(
        (trigger.overlap, trigger.catch_up),
        (Overlap::Skip, CatchUp::One)
    );
    assert_eq!(trigger.catch_up_window_s, 3600);
}

#[test]
fn a_trigger_is_events_or_a_schedule() {
    check_problems(
        "[[trigger]]\non = [\"manual\"]\ncron = \"0 0 9 * * *\"\n[[trigger]]\ninclude_own_echoes = false\n",
        "t.toml:7:8: trigger[0].cron: a trigger has either `on` or `cron`, not both; split it into two [[trigger]] tables\n\
         t.toml:8:1: trigger[1]: a trigger needs `on = [\"message.received\"]` (events) or `cron = \"0 0 9 * * *\"` (a schedule)",
    );
    check_problems(
        "",
        "t.toml:1:1: trigger: the plugin has no trigger; add a [[trigger]] with `on = [\"message.received\"]` or `cron = \"0 0 9 * * *\"`",
    );
}

#[test]
fn keys_of_the_other_kind_are_refused() {
    check_problems(
        &format!("{EVENT}timezone = \"UTC\"\n{CRON}connections = [1]\n"),
        "t.toml:7:12: trigger[0].timezone: `timezone` only applies to cron triggers; remove it\n\
         t.toml:10:15: trigger[1].connections: `connections` only applies to event triggers (`on`); remove it",
    );
}

#[test]
fn event_lists_are_checked() {
    check_problems(
        "[[trigger]]\non = [\"message.recieved\", \"schedule.fired\", \"manual\", \"manual\"]\n\
         connections = [0, 70001, 70001]\nsource_types = []\n",
        "t.toml:6:7: trigger[0].on[0]: unknown event `message.recieved`; did you mean `message.received`?\n\
         t.toml:6:27: trigger[0].on[1]: `schedule.fired` comes from cron triggers; write `cron = \"0 0 9 * * *\"` instead of `on`\n\
         t.toml:6:55: trigger[0].on[3]: `manual` repeats an earlier entry; remove it\n\
         t.toml:7:16: trigger[0].connections[0]: 0 is not a connection id; use the positive id Radist shows for the connection\n\
         t.toml:7:26: trigger[0].connections[2]: `70001` repeats an earlier entry; remove it\n\
         t.toml:8:16: trigger[0].source_types: the list is empty; remove `source_types` to match every messenger, or list some such as `[\"waba\"]`",
    );
}

#[test]
fn text_patterns_need_message_events_and_must_compile() {
    check_problems(
        "[[trigger]]\non = [\"connection.status-changed\"]\ntext_matches = \"цена(\"\ninclude_own_echoes = true\n",
        "t.toml:7:16: trigger[0].text_matches: `text_matches` only applies to message.* events, not `connection.status-changed`; move `connection.status-changed` to its own [[trigger]]\n\
         t.toml:7:16: trigger[0].text_matches: `цена(` is not a valid regular expression: unclosed group\n\
         t.toml:8:22: trigger[0].include_own_echoes: only `message.sent` has echoes; add it to `on` or remove this key",
    );
}

#[test]
fn schedules_are_checked() {
    check_problems(
        "[[trigger]]\ncron = \"0 9 * * *\"\ntimezone = \"Europe/Moskow\"\noverlap = \"queue\"\n\
         catch_up = \"every\"\ncatch_up_window_s = 0\n[[trigger]]\ncron = \"0 0 25 * * *\"\n",
        "t.toml:6:8: trigger[0].cron: `0 9 * * *` has 5 fields, but here cron starts with a seconds field; write `0 0 9 * * *`\n\
         t.toml:7:12: trigger[0].timezone: unknown time zone `Europe/Moskow`; did you mean `Europe/Moscow`?\n\
         t.toml:8:11: trigger[0].overlap: unknown overlap policy `queue`; did you mean `queue-one`?\n\
         t.toml:9:12: trigger[0].catch_up: unknown catch-up policy `every`; use one of `none`, `one`, `all`\n\
         t.toml:10:21: trigger[0].catch_up_window_s: 0 is out of range; use a value from 1 to 604800\n\
         t.toml:12:8: trigger[1].cron: `0 0 25 * * *`: the hour field `25` is not valid (number out of bounds); use 0-23, `*`, ranges `a-b`, steps `*/n` and lists",
    );
}

#[test]
fn cron_errors_name_the_field_and_keep_the_position() {
    check_problems(
        "[[trigger]]\ncron = \"0 0 9 * * Mon-Fry\"\n[[trigger]]\ncron = \"0 0 0 30 2 *\"\n\
         [[trigger]]\ncron = \"0 0 0 1 1 * 2030\"\n",
        "t.toml:6:8: trigger[0].cron: `0 0 9 * * Mon-Fry`: the day-of-week field `Mon-Fry` is not valid (unknown name or character); use 0-7 or Sun-Sat (0 and 7 are Sunday), `5#2`, `5#L`, `*`, ranges, steps and lists\n\
         t.toml:8:8: trigger[1].cron: `0 0 0 30 2 *` never fires: no date matches its day-of-month, month and day-of-week fields; check those fields\n\
         t.toml:10:8: trigger[2].cron: `0 0 0 1 1 * 2030` has 7 fields; write six: sec min hour day-of-month month day-of-week, e.g. `0 0 9 * * Mon-Fri`",
    );
}

#[test]
fn a_cron_trigger_gives_the_scheduler_its_schedule() {
    let manifest = check_valid(&format!("{CRON}timezone = \"Europe/Moscow\"\n"));
    let [Trigger::Schedule(trigger)] = manifest.triggers.as_slice() else {
        panic!("expected one schedule: {:?}", manifest.triggers);
    };
    let schedule = trigger.schedule();
    assert_eq!(schedule.timezone(), chrono_tz::Europe::Moscow);
    let friday_noon = chrono::DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
        .expect("an instant")
        .to_utc();
    let next = schedule.next_after(friday_noon).map(|at| at.to_rfc3339());
    assert_eq!(
        next.as_deref(),
        Some("2026-12-07T06:00:00+00:00"),
        "Monday 09:00 MSK"
    );
}
