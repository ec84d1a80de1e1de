//! Problems found in a manifest or host config: where each one is and what to do about it.
//!
//! Parsing never stops at the first problem. Every step reports into a [`Report`], which turns
//! byte offsets into lines and columns; [`Report::finish`] then yields the value or all the
//! problems, sorted by position.

use std::fmt;
use std::ops::Range;

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file name the caller gave, e.g. `manifests/auto-reply.toml`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted key path such as `capabilities.http.allow[0]`; empty for syntax errors.
    pub path: String,
    /// What is wrong and what to do: lowercase, no final period.
    pub message: String,
}

/// Every problem found in one file, in the order they appear in it.
///
/// Displays one problem per line, in the form `file:line:column: path: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.problems))]
#[non_exhaustive]
pub struct Problems {
    problems: Vec<Problem>,
}

impl Problems {
    /// The problems, sorted by line and column.
    pub fn as_slice(&self) -> &[Problem] {
        &self.problems
    }

    /// How many problems there are (always at least one).
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    /// Always false: a `Problems` value holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems, sorted by line and column.
    pub fn into_vec(self) -> Vec<Problem> {
        self.problems
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

fn lines(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// Collects the problems of one file while it is parsed and validated.
pub(crate) struct Report<'t> {
    file: &'t str,
    text: &'t str,
    problems: Vec<Problem>,
    /// Key paths dropped after a type error, so that "missing" problems do not repeat them.
    pruned: Vec<String>,
}

impl<'t> Report<'t> {
    pub(crate) fn new(file: &'t str, text: &'t str) -> Self {
        Self {
            file,
            text,
            problems: Vec::new(),
            pruned: Vec::new(),
        }
    }

    /// Records a problem at the start of `span`.
    pub(crate) fn error(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let (line, column) = position(self.text, span.start);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Records that a required key is absent, unless it was dropped because of an earlier problem.
    pub(crate) fn missing(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let repeated = self.pruned.iter().any(|pruned| is_within(path, pruned));
        if !repeated {
            self.error(span, path, message);
        }
    }

    /// Remembers that the value at `path` was dropped after a problem was reported there.
    pub(crate) fn pruned(&mut self, path: String) {
        self.pruned.push(path);
    }

    /// The value when nothing was reported, else every problem sorted by position.
    pub(crate) fn finish<T>(mut self, value: Option<T>) -> Result<T, Problems> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => {
                if self.problems.is_empty() {
                    // Validation returns `None` only after reporting; keep the promise anyway.
                    self.error(
                        0..0,
                        "",
                        "the file could not be read; please report this as a bug",
                    );
                }
                self.problems.sort_by_key(|p| (p.line, p.column));
                self.problems.dedup();
                Err(Problems {
                    problems: self.problems,
                })
            }
        }
    }
}

/// Whether `path` is `ancestor` itself or lies inside it.
fn is_within(path: &str, ancestor: &str) -> bool {
    match path.strip_prefix(ancestor) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

/// 1-based line and character column of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Joins a key onto a dotted path, quoting keys that are not bare TOML keys.
pub(crate) fn key_path(base: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if base.is_empty() {
        key
    } else {
        format!("{base}.{key}")
    }
}

/// Joins an array index onto a dotted path.
pub(crate) fn index_path(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_position(text: &str, offset: usize, expected: (usize, usize)) {
        assert_eq!(
            position(text, offset),
            expected,
            "offset {offset} in {text:?}"
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        check_position("", 0, (1, 1));
        check_position("a = 1\nb = 2", 6, (2, 1));
        check_position("a = 1\nb = 2", 10, (2, 5));
        check_position("x = \"цена\"\ny", 9, (1, 8));
        check_position("x = \"цена\"", 6, (1, 6)); // inside a character: its start
        check_position("ab", 99, (1, 3));
    }

    #[test]
    fn paths_quote_keys_that_need_it() {
        assert_eq!(key_path("", "plugin"), "plugin");
        assert_eq!(key_path("config", "my key"), "config.\"my key\"");
        assert_eq!(
            index_path(&key_path("capabilities", "http"), 0),
            "capabilities.http[0]"
        );
    }

    #[test]
    fn missing_keys_under_pruned_paths_are_not_repeated() {
        let mut report = Report::new("m.toml", "plugin = 3\n");
        report.error(9..10, "plugin", "expected a table");
        report.pruned("plugin".to_owned());
        report.missing(0..0, "plugin.name", "`plugin.name` is missing");
        report.missing(0..0, "plugins", "`plugins` is missing");
        let problems = report
            .finish(None::<()>)
            .expect_err("problems were reported");
        assert_eq!(
            problems.to_string(),
            "m.toml:1:1: plugins: `plugins` is missing\nm.toml:1:10: plugin: expected a table"
        );
    }
}
