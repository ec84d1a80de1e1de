//! From TOML text to a raw schema value: syntax errors, the version field read first, and serde
//! decoding that reports every unknown key and wrong type instead of stopping at the first.
//!
//! The raw schemas use `deny_unknown_fields` and make every key optional. When serde fails, the
//! offending key (or the key holding the offending array element) is reported, removed from the
//! document, and decoding runs again, until it succeeds. Required keys and value rules are then
//! checked by validation, which sees everything that could be decoded.

use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::named::{did_you_mean, one_of};
use crate::problem::{Report, index_path, key_path};

/// A parsed TOML document with spans.
pub(crate) type Document<'t> = Spanned<DeValue<'t>>;

/// Parses `text`, reporting the first syntax error (later ones are usually its echoes).
pub(crate) fn parse<'t>(text: &'t str, report: &mut Report<'_>) -> Option<Document<'t>> {
    let (table, errors) = DeTable::parse_recoverable(text);
    if let Some(error) = errors.first() {
        let span = error.span().unwrap_or(0..0);
        report.error(span, "", syntax_message(error.message()));
        return None;
    }
    let span = table.span();
    Some(Spanned::new(span, DeValue::Table(table.into_inner())))
}

/// Reads the integer version under `key` and checks it is one of `supported`.
pub(crate) fn read_version(
    document: &Document<'_>,
    key: &str,
    supported: &[i64],
    report: &mut Report<'_>,
) -> Option<i64> {
    let newest = supported.last().copied().unwrap_or(1);
    let Some(value) = top_level(document, key) else {
        let message = format!("`{key}` is missing; add `{key} = {newest}` at the top of the file");
        report.error(0..0, key, message);
        return None;
    };
    let message = match i64::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(version) if supported.contains(&version) => return Some(version),
        Ok(version) => {
            let versions: Vec<String> = supported.iter().map(i64::to_string).collect();
            let known = one_of(versions.iter().map(String::as_str));
            format!(
                "{key} {version} is not supported; this version of switchboard reads {key} {known}"
            )
        }
        Err(_) => format!("expected a whole number such as `{key} = {newest}`"),
    };
    report.error(value.span(), key, message);
    None
}

fn top_level<'d, 't>(document: &'d Document<'t>, key: &str) -> Option<&'d Spanned<DeValue<'t>>> {
    match document.get_ref() {
        DeValue::Table(table) => table.get(key),
        _ => None,
    }
}

/// Decodes `document` as `T`, reporting and removing whatever serde rejects, then retrying.
pub(crate) fn decode<T: DeserializeOwned>(
    mut document: Document<'_>,
    report: &mut Report<'_>,
) -> Option<T> {
    loop {
        let error = match T::deserialize(ValueDeserializer::from(document.clone())) {
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let message = serde_message(error.message());
        let span = error.span().unwrap_or(0..0);
        let Some(steps) = find(document.get_ref(), &span) else {
            report.error(span, "", message);
            return None;
        };
        report.error(span, &render(&steps), message);
        let pruned = remove(document.get_mut(), &steps)?;
        report.pruned(pruned);
    }
}

/// One step of a key path: a table key or an array index.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path to the deepest key or value whose span is exactly `span`.
fn find(value: &DeValue<'_>, span: &Range<usize>) -> Option<Vec<Step>> {
    let children: Vec<(Step, Range<usize>, &Spanned<DeValue<'_>>)> = match value {
        DeValue::Table(table) => table
            .iter()
            .map(|(key, child)| (Step::Key(key.get_ref().to_string()), key.span(), child))
            .collect(),
        DeValue::Array(array) => array
            .iter()
            .enumerate()
            .map(|(index, child)| (Step::Index(index), child.span(), child))
            .collect(),
        _ => return None,
    };
    for (step, step_span, child) in children {
        if let Some(mut deeper) = find(child.get_ref(), span) {
            deeper.insert(0, step);
            return Some(deeper);
        }
        if step_span == *span || child.span() == *span {
            return Some(vec![step]);
        }
    }
    None
}

fn render(steps: &[Step]) -> String {
    steps.iter().fold(String::new(), |path, step| match step {
        Step::Key(key) => key_path(&path, key),
        Step::Index(index) => index_path(&path, *index),
    })
}

/// Removes the last key on `steps` (array elements go with their whole array); returns its path.
fn remove(value: &mut DeValue<'_>, steps: &[Step]) -> Option<String> {
    let last_key = steps
        .iter()
        .rposition(|step| matches!(step, Step::Key(_)))?;
    let (key, parents) = steps[..=last_key].split_last()?;
    let mut table = value;
    for step in parents {
        table = match (table, step) {
            (DeValue::Table(t), Step::Key(key)) => t.get_mut(key.as_str())?.get_mut(),
            (DeValue::Array(a), Step::Index(index)) => a.get_mut(*index)?.get_mut(),
            _ => return None,
        };
    }
    match (table, key) {
        (DeValue::Table(t), Step::Key(key)) => {
            t.remove(key.as_str()).map(|_| render(&steps[..=last_key]))
        }
        _ => None,
    }
}

/// Rewrites serde's messages into ours; other messages (our own visitors') pass through.
fn serde_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        unknown_key(rest)
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        wrong_type(rest)
    } else {
        message.to_owned()
    }
}

/// `rest` is serde's "x`, expected one of `a`, `b`" (or "expected `a`", or "there are no fields").
fn unknown_key(rest: &str) -> String {
    let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match did_you_mean(key, known.iter().copied()) {
        Some(near) => format!("unknown key; did you mean `{near}`?"),
        None if known.is_empty() => "unknown key; remove it".to_owned(),
        None => format!("unknown key; remove it or use {}", one_of(known)),
    }
}

/// `rest` is serde's "string \"big\", expected i64".
fn wrong_type(rest: &str) -> String {
    match rest.rsplit_once(", expected ") {
        Some((found, expected)) => format!("expected {}, found {}", kind(expected), kind(found)),
        None => format!("wrong type: {rest}"),
    }
}

/// Serde's names for value kinds, in TOML words.
fn kind(serde_kind: &str) -> &str {
    match serde_kind {
        "i64" | "u64" | "u32" => "an integer",
        "a boolean" => "`true` or `false`",
        "a sequence" => "an array",
        "sequence" => "an array",
        "a map" | "map" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    }
}

fn syntax_message(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    format!("invalid TOML: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(serde: &str, expected: &str) {
        assert_eq!(serde_message(serde), expected);
    }

    #[test]
    fn serde_messages_are_rewritten() {
        check(
            "unknown field `capabilites`, expected one of `plugin`, `capabilities`, `limits`",
            "unknown key; did you mean `capabilities`?",
        );
        check(
            "unknown field `file`, expected `env`",
            "unknown key; remove it or use `env`",
        );
        check(
            "unknown field `x`, there are no fields",
            "unknown key; remove it",
        );
        check(
            "invalid type: string \"big\", expected i64",
            "expected an integer, found string \"big\"",
        );
        check(
            "invalid type: map, expected a sequence",
            "expected an array, found a table",
        );
        check(
            "invalid type: integer `3`, expected struct PluginV1",
            "expected a table, found integer `3`",
        );
        check(
            "secret values do not belong here",
            "secret values do not belong here",
        );
    }

    #[test]
    fn paths_find_the_deepest_match() {
        let text = "[a]\nb = [1, \"x\"]\n[[t]]\nc = 2\n[[t]]\nd = 3\n";
        let (table, _) = DeTable::parse_recoverable(text);
        let value = DeValue::Table(table.into_inner());
        let path = |needle: &str| {
            let start = text.find(needle).expect("needle is in the text");
            find(&value, &(start..start + needle.len())).map(|steps| render(&steps))
        };
        assert_eq!(path("\"x\"").as_deref(), Some("a.b[1]"));
        assert_eq!(path("d").as_deref(), Some("t[1].d"));
        assert_eq!(path("[a]").as_deref(), Some("a"));
        assert!(find(&value, &(999..1000)).is_none());
    }
}
