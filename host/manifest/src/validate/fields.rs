//! Checks shared by every section and by the host config: required keys, integers in range,
//! lists of distinct values, named values and secret sources.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;

use crate::manifest::{ConnectionId, ConnectionsGrant, SecretSource};
use crate::named::{Named, parse_named};
use crate::problem::{Report, index_path, key_path};
use crate::schema::v1::ConnectionsV1;
use crate::schema::{List, SecretV1};

/// One mebibyte, for byte limits.
pub(crate) const MIB: i64 = 1024 * 1024;

/// [`int_or`] for the key `$field` of the table `$table`: reads `$raw.$field`, reports at
/// `$table.$field` and falls back to `$default.$field`, so the path, the raw value and the default
/// always name the same key.
macro_rules! int_field {
    ($report:expr, $table:literal, $raw:expr, $default:expr, $field:ident, $range:expr) => {
        $crate::validate::fields::int_or(
            $report,
            concat!($table, ".", stringify!($field)),
            &$raw.$field,
            $range,
            $default.$field,
        )
    };
}
pub(crate) use int_field;

/// The value of a required key, or a problem at `at` (the enclosing table) saying what to add.
pub(crate) fn required<'v, T>(
    report: &mut Report<'_>,
    value: &'v Option<Spanned<T>>,
    at: Range<usize>,
    path: &str,
    example: &str,
) -> Option<&'v Spanned<T>> {
    if value.is_none() {
        report.missing(
            at,
            path,
            format!("required key is missing; add `{example}`"),
        );
    }
    value.as_ref()
}

/// An integer within `range`, if present; `T` must hold every value of `range`.
pub(crate) fn int_opt<T: TryFrom<i64>>(
    report: &mut Report<'_>,
    path: &str,
    value: &Option<Spanned<i64>>,
    range: RangeInclusive<i64>,
) -> Option<T> {
    let value = value.as_ref()?;
    let number = *value.get_ref();
    if !range.contains(&number) {
        let (low, high) = range.into_inner();
        let message = format!("{number} is out of range; use a value from {low} to {high}");
        report.error(value.span(), path, message);
        return None;
    }
    T::try_from(number).ok()
}

/// An integer within `range`, or `default` when absent (or wrong, which is reported).
pub(crate) fn int_or<T: TryFrom<i64>>(
    report: &mut Report<'_>,
    path: &str,
    value: &Option<Spanned<i64>>,
    range: RangeInclusive<i64>,
    default: T,
) -> T {
    int_opt(report, path, value, range).unwrap_or(default)
}

/// A non-empty list of distinct values, each converted by `convert` (whose error is the message).
pub(crate) fn distinct<R: fmt::Display, T: Ord>(
    report: &mut Report<'_>,
    path: &str,
    list: &List<R>,
    empty_hint: &str,
    mut convert: impl FnMut(&R) -> Result<T, String>,
) -> BTreeSet<T> {
    if list.get_ref().is_empty() {
        report.error(
            list.span(),
            path,
            format!("the list is empty; {empty_hint}"),
        );
    }
    let mut values = BTreeSet::new();
    for (index, item) in list.get_ref().iter().enumerate() {
        let problem = match convert(item.get_ref()) {
            Ok(value) => {
                if values.insert(value) {
                    continue;
                }
                format!("`{}` repeats an earlier entry; remove it", item.get_ref())
            }
            Err(message) => message,
        };
        report.error(item.span(), &index_path(path, index), problem);
    }
    values
}

/// A non-empty list of distinct positive connection ids.
pub(crate) fn connection_ids(
    report: &mut Report<'_>,
    path: &str,
    list: &List<i64>,
    empty_hint: &str,
) -> BTreeSet<ConnectionId> {
    distinct(report, path, list, empty_hint, |&id| {
        ConnectionId::new(id).ok_or_else(|| {
            format!(
                "{id} is not a connection id; use the positive id Radist shows for the connection"
            )
        })
    })
}

/// The `connections` grant of a section whose only key is its connection list.
pub(crate) fn connections_grant(
    report: &mut Report<'_>,
    path: &str,
    raw: &Option<Spanned<ConnectionsV1>>,
) -> Option<ConnectionsGrant> {
    let raw = raw.as_ref()?;
    let connections = grant_connections(report, path, raw.span(), &raw.get_ref().connections);
    Some(ConnectionsGrant { connections })
}

/// A grant's required `connections` list, each a connection id.
pub(crate) fn grant_connections(
    report: &mut Report<'_>,
    grant: &str,
    at: Range<usize>,
    list: &Option<List<i64>>,
) -> BTreeSet<ConnectionId> {
    let path = key_path(grant, "connections");
    match list {
        Some(list) => {
            let hint = "list the connection ids the plugin may use, e.g. `[70001]`";
            connection_ids(report, &path, list, hint)
        }
        None => {
            let message = "required key is missing; list the connection ids the plugin may use, e.g. `connections = [70001]`";
            report.missing(at, &path, message);
            BTreeSet::new()
        }
    }
}

/// A non-empty list of distinct names of `T`.
pub(crate) fn names<T: Named>(
    report: &mut Report<'_>,
    path: &str,
    list: &List<String>,
    empty_hint: &str,
) -> BTreeSet<T> {
    distinct(report, path, list, empty_hint, |name| parse_named(name))
}

/// A name of `T`, or `default` when absent (or unknown, which is reported).
pub(crate) fn name_or<T: Named>(
    report: &mut Report<'_>,
    path: &str,
    value: &Option<Spanned<String>>,
    default: T,
) -> T {
    parsed_or(report, path, value, default, parse_named)
}

/// What `parse` reads from a string, or `default` when absent (or unreadable, which is reported
/// with `parse`'s message).
pub(crate) fn parsed_or<T>(
    report: &mut Report<'_>,
    path: &str,
    value: &Option<Spanned<String>>,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> T {
    let Some(value) = value else { return default };
    parse(value.get_ref()).unwrap_or_else(|message| {
        report.error(value.span(), path, message);
        default
    })
}

/// A secret source: `{ env = "NAME" }` with a valid variable name.
pub(crate) fn secret(
    report: &mut Report<'_>,
    path: &str,
    value: &Spanned<SecretV1>,
) -> Option<SecretSource> {
    let example = "env = \"NAME\"";
    let env = required(
        report,
        &value.get_ref().env,
        value.span(),
        &key_path(path, "env"),
        example,
    )?;
    if !is_env_var_name(env.get_ref()) {
        let message = format!(
            "`{}` is not an environment variable name; use letters, digits and `_`, not starting with a digit",
            env.get_ref()
        );
        report.error(env.span(), &key_path(path, "env"), message);
        return None;
    }
    Some(SecretSource::Env(env.get_ref().clone()))
}

fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("CRM_TOKEN"));
        assert!(is_env_var_name("_x1"));
        assert!(!is_env_var_name(""));
        assert!(!is_env_var_name("1X"));
        assert!(!is_env_var_name("CRM-TOKEN"));
    }
}
