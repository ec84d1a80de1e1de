//! Validation of `[[trigger]]` tables: event triggers and cron triggers, each with only its own
//! keys, compiled patterns, parsed cron expressions and known time zones.

use std::collections::BTreeSet;
use std::ops::Range;

use chrono_tz::Tz;
use switchboard_schedule::CronExpr;
use toml::Spanned;

use super::fields::{connection_ids, distinct, int_or, name_or, names};
use crate::manifest::{
    CatchUp, CronSpec, EventKind, EventTrigger, Overlap, ScheduleTrigger, SourceType, TextPattern,
    Trigger,
};
use crate::named::{did_you_mean, parse_named};
use crate::problem::{Report, index_path, key_path};
use crate::schema::List;
use crate::schema::v1::TriggerV1;

/// Every trigger that validates; at least one must be written.
pub(crate) fn triggers(report: &mut Report<'_>, raw: &Option<List<TriggerV1>>) -> Vec<Trigger> {
    let list = raw.as_ref().filter(|list| !list.get_ref().is_empty());
    let Some(list) = list else {
        let at = raw.as_ref().map_or(0..0, Spanned::span);
        let message = "the plugin has no trigger; add a [[trigger]] with `on = [\"message.received\"]` or `cron = \"0 0 9 * * *\"`";
        report.missing(at, "trigger", message);
        return Vec::new();
    };
    let triggers = list.get_ref().iter().enumerate();
    triggers
        .filter_map(|(i, raw)| trigger(report, &index_path("trigger", i), raw))
        .collect()
}

fn trigger(report: &mut Report<'_>, path: &str, raw: &Spanned<TriggerV1>) -> Option<Trigger> {
    let fields = raw.get_ref();
    let event = fields.on.as_ref().map(|on| event(report, path, fields, on));
    let schedule = fields
        .cron
        .as_ref()
        .map(|cron| schedule(report, path, fields, cron));
    match (event, schedule) {
        (Some(event), None) => {
            misplaced(report, path, &schedule_keys(fields), "cron triggers");
            Some(Trigger::Event(event))
        }
        (None, Some(schedule)) => {
            misplaced(report, path, &event_keys(fields), "event triggers (`on`)");
            schedule.map(Trigger::Schedule)
        }
        (Some(_), Some(_)) => {
            let at = fields.cron.as_ref().map_or(raw.span(), Spanned::span);
            let message = "a trigger has either `on` or `cron`, not both; split it into two [[trigger]] tables";
            report.error(at, &key_path(path, "cron"), message);
            None
        }
        (None, None) => {
            let message = "a trigger needs `on = [\"message.received\"]` (events) or `cron = \"0 0 9 * * *\"` (a schedule)";
            report.error(raw.span(), path, message);
            None
        }
    }
}

fn event(
    report: &mut Report<'_>,
    path: &str,
    fields: &TriggerV1,
    on: &List<String>,
) -> EventTrigger {
    let hint = "list at least one event, e.g. `[\"message.received\"]`";
    let on = distinct(report, &key_path(path, "on"), on, hint, |name| {
        event_kind(name)
    });
    let connections = fields.connections.as_ref().map(|list| {
        let hint = "remove `connections` to match every connection, or list ids such as `[70001]`";
        connection_ids(report, &key_path(path, "connections"), list, hint)
    });
    let source_types = fields.source_types.as_ref().map(|list| {
        let hint =
            "remove `source_types` to match every messenger, or list some such as `[\"waba\"]`";
        names::<SourceType>(report, &key_path(path, "source_types"), list, hint)
    });
    let text_matches = fields.text_matches.as_ref();
    let text_matches = text_matches.and_then(|raw| text_matches_for(report, path, raw, &on));
    let echoes = fields.include_own_echoes.as_ref();
    let include_own_echoes = echoes.is_some_and(|raw| own_echoes_for(report, path, raw, &on));
    EventTrigger {
        on,
        connections,
        source_types,
        text_matches,
        include_own_echoes,
    }
}

/// The text pattern of a trigger, which only message events can match.
fn text_matches_for(
    report: &mut Report<'_>,
    trigger: &str,
    raw: &Spanned<String>,
    on: &BTreeSet<EventKind>,
) -> Option<TextPattern> {
    let path = key_path(trigger, "text_matches");
    if let Some(other) = on.iter().find(|kind| !kind.is_message()) {
        let message = format!(
            "`text_matches` only applies to message.* events, not `{other}`; move `{other}` to its own [[trigger]]"
        );
        report.error(raw.span(), &path, message);
    }
    text_pattern(report, &path, raw)
}

/// `include_own_echoes`, which only means something for `message.sent`.
fn own_echoes_for(
    report: &mut Report<'_>,
    trigger: &str,
    raw: &Spanned<bool>,
    on: &BTreeSet<EventKind>,
) -> bool {
    let include = *raw.get_ref();
    if include && !on.contains(&EventKind::MessageSent) {
        let message = "only `message.sent` has echoes; add it to `on` or remove this key";
        report.error(
            raw.span(),
            &key_path(trigger, "include_own_echoes"),
            message,
        );
    }
    include
}

fn event_kind(name: &str) -> Result<EventKind, String> {
    if name == "schedule.fired" {
        return Err("`schedule.fired` comes from cron triggers; write `cron = \"0 0 9 * * *\"` instead of `on`".to_owned());
    }
    parse_named(name)
}

fn schedule(
    report: &mut Report<'_>,
    path: &str,
    fields: &TriggerV1,
    cron: &Spanned<String>,
) -> Option<ScheduleTrigger> {
    let cron = cron_spec(report, &key_path(path, "cron"), cron);
    let timezone = match &fields.timezone {
        Some(zone) => timezone(report, &key_path(path, "timezone"), zone),
        None => Some(Tz::UTC),
    };
    let overlap = name_or(
        report,
        &key_path(path, "overlap"),
        &fields.overlap,
        Overlap::Skip,
    );
    let catch_up = name_or(
        report,
        &key_path(path, "catch_up"),
        &fields.catch_up,
        CatchUp::One,
    );
    let window_path = key_path(path, "catch_up_window_s");
    let window = &fields.catch_up_window_s;
    let catch_up_window_s = int_or(report, &window_path, window, 1..=7 * 24 * 3600, 3600);
    let jitter_s = int_or(
        report,
        &key_path(path, "jitter_s"),
        &fields.jitter_s,
        0..=3600,
        0,
    );
    let start = fields
        .start
        .as_ref()
        .and_then(|t| instant(report, &key_path(path, "start"), t));
    let end = fields
        .end
        .as_ref()
        .and_then(|t| instant(report, &key_path(path, "end"), t));
    if let (Some(s), Some(e), Some(raw)) = (start, end, &fields.end)
        && e <= s
    {
        report.error(
            raw.span(),
            &key_path(path, "end"),
            "`end` must be after `start`",
        );
    }
    Some(ScheduleTrigger {
        cron: cron?,
        timezone: timezone?,
        overlap,
        catch_up,
        catch_up_window_s,
        start,
        end,
        jitter_s,
    })
}

/// An RFC 3339 instant such as `2026-12-01T09:00:00+03:00`.
fn instant(
    report: &mut Report<'_>,
    path: &str,
    raw: &Spanned<String>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match chrono::DateTime::parse_from_rfc3339(raw.get_ref()) {
        Ok(at) => Some(at.to_utc()),
        Err(_) => {
            let message = format!(
                "`{}` is not an RFC 3339 instant; write e.g. `2026-12-01T09:00:00+03:00`",
                raw.get_ref()
            );
            report.error(raw.span(), path, message);
            None
        }
    }
}

fn text_pattern(report: &mut Report<'_>, path: &str, raw: &Spanned<String>) -> Option<TextPattern> {
    let pattern = raw.get_ref();
    let problem = if pattern.is_empty() {
        "an empty pattern matches every message; remove `text_matches`".to_owned()
    } else {
        match regex::Regex::new(pattern) {
            Ok(regex) => return Some(TextPattern::new(regex)),
            Err(error) => regex_message(pattern, &error),
        }
    };
    report.error(raw.span(), path, problem);
    None
}

fn regex_message(pattern: &str, error: &regex::Error) -> String {
    let reason = match error {
        regex::Error::Syntax(text) => {
            let last = text.lines().last().unwrap_or_default();
            last.trim().trim_start_matches("error: ").to_owned()
        }
        regex::Error::CompiledTooBig(_) => "it compiles too big; simplify it".to_owned(),
        other => other.to_string(),
    };
    format!("`{pattern}` is not a valid regular expression: {reason}")
}

fn cron_spec(report: &mut Report<'_>, path: &str, raw: &Spanned<String>) -> Option<CronSpec> {
    match CronExpr::parse(raw.get_ref()) {
        Ok(expr) => Some(CronSpec::new(expr)),
        Err(error) => {
            report.error(raw.span(), path, error.to_string());
            None
        }
    }
}

fn timezone(report: &mut Report<'_>, path: &str, raw: &Spanned<String>) -> Option<Tz> {
    let name = raw.get_ref();
    if let Ok(zone) = name.parse::<Tz>() {
        return Some(zone);
    }
    let zones = chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
    let message = match did_you_mean(name, zones) {
        Some(near) => format!("unknown time zone `{name}`; did you mean `{near}`?"),
        None => {
            format!("unknown time zone `{name}`; use an IANA name such as `Europe/Moscow` or `UTC`")
        }
    };
    report.error(raw.span(), path, message);
    None
}

fn event_keys(fields: &TriggerV1) -> [(&'static str, Option<Range<usize>>); 4] {
    [
        (
            "connections",
            fields.connections.as_ref().map(Spanned::span),
        ),
        (
            "source_types",
            fields.source_types.as_ref().map(Spanned::span),
        ),
        (
            "text_matches",
            fields.text_matches.as_ref().map(Spanned::span),
        ),
        (
            "include_own_echoes",
            fields.include_own_echoes.as_ref().map(Spanned::span),
        ),
    ]
}

fn schedule_keys(fields: &TriggerV1) -> [(&'static str, Option<Range<usize>>); 7] {
    [
        ("start", fields.start.as_ref().map(Spanned::span)),
        ("end", fields.end.as_ref().map(Spanned::span)),
        ("jitter_s", fields.jitter_s.as_ref().map(Spanned::span)),
        ("timezone", fields.timezone.as_ref().map(Spanned::span)),
        ("overlap", fields.overlap.as_ref().map(Spanned::span)),
        ("catch_up", fields.catch_up.as_ref().map(Spanned::span)),
        (
            "catch_up_window_s",
            fields.catch_up_window_s.as_ref().map(Spanned::span),
        ),
    ]
}

/// Reports keys that belong to the other kind of trigger.
fn misplaced(
    report: &mut Report<'_>,
    path: &str,
    keys: &[(&str, Option<Range<usize>>)],
    kind: &str,
) {
    for (key, span) in keys {
        if let Some(span) = span {
            let message = format!("`{key}` only applies to {kind}; remove it");
            report.error(span.clone(), &key_path(path, key), message);
        }
    }
}

#[cfg(test)]
#[path = "trigger_tests.rs"]
mod tests;
