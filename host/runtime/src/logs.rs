//! The run log: plugin `log` calls and captured stdout/stderr, capped at the manifest's
//! `limits.log_bytes`, with secrets redacted. A flood costs the host nothing beyond the cap:
//! every line counts its text plus [`LINE_OVERHEAD`] bytes (so empty lines fill the cap too), at
//! most [`MAX_LINES`] lines are kept, and the lines and bytes dropped after the cap are counted
//! and named by the final host line. Lines are redacted before they are cut.

use std::sync::{Arc, Mutex};

use crate::redact::Redactor;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The plugin's `log` import.
    Plugin,
    /// The plugin's WASI stdout.
    Stdout,
    /// The plugin's WASI stderr.
    Stderr,
    /// The host (e.g. the truncation notice).
    Host,
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

/// Bytes counted for every kept line besides its text, so empty lines fill the cap too.
pub(crate) const LINE_OVERHEAD: usize = 32;
/// The most lines one run keeps, whatever their size.
pub(crate) const MAX_LINES: usize = 10_000;

/// A run's log, shared by the `log` capability and the stdout/stderr pipes.
#[derive(Clone)]
pub(crate) struct LogBuffer {
    inner: Arc<Mutex<LogState>>,
}

struct LogState {
    lines: Vec<LogLine>,
    cap: usize,
    /// Bytes counted so far: each kept line's text plus [`LINE_OVERHEAD`].
    used: usize,
    /// Set once a line did not fit; everything after it is dropped and counted.
    full: bool,
    dropped_lines: u64,
    dropped_bytes: u64,
    redactor: Redactor,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LogBuffer {
    pub(crate) fn new(cap: usize, redactor: Redactor) -> Self {
        let state = LogState {
            lines: Vec::new(),
            cap,
            used: 0,
            full: false,
            dropped_lines: 0,
            dropped_bytes: 0,
            redactor,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        LogBuffer {
            inner: Arc::new(Mutex::new(state)),
        }
    }

    /// Appends one line (redacted, then cut to what still fits), or counts it as dropped.
    pub(crate) fn push(&self, level: LogLevel, source: LogSource, message: &str) {
        self.with(|state| state.push(level, source, message));
    }

    /// Appends raw stream bytes; complete lines become log lines.
    pub(crate) fn write_stream(&self, source: LogSource, bytes: &[u8]) {
        self.with(|state| state.write_stream(source, bytes));
    }

    /// Flushes partial stream lines and returns the log and whether it was truncated.
    pub(crate) fn finish(&self) -> (Vec<LogLine>, bool) {
        self.with(|state| {
            state.flush_stream(LogSource::Stdout);
            state.flush_stream(LogSource::Stderr);
            let truncated = state.full;
            let mut lines = std::mem::take(&mut state.lines);
            if truncated {
                lines.push(LogLine {
                    level: LogLevel::Warn,
                    source: LogSource::Host,
                    message: format!(
                        "log truncated: {} lines and {} bytes dropped",
                        state.dropped_lines, state.dropped_bytes
                    ),
                });
            }
            (lines, truncated)
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut LogState) -> R) -> R {
        // A poisoned lock only means another thread panicked mid-append; the data is still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl LogState {
    fn push(&mut self, level: LogLevel, source: LogSource, message: &str) {
        if self.full {
            self.drop_line(message.len());
            return;
        }
        // Redact before any cut, so no part of a secret survives a cut through it.
        let mut message = self.redactor.redact(message);
        let room = self.room().filter(|_| self.lines.len() < MAX_LINES);
        if room.is_none_or(|room| message.len() > room) {
            self.full = true;
            let cut = floor_char_boundary(&message, room.unwrap_or(0));
            if cut == 0 {
                self.drop_line(message.len());
                return;
            }
            self.dropped_bytes += (message.len() - cut) as u64;
            message.truncate(cut);
        }
        self.used += message.len() + LINE_OVERHEAD;
        self.lines.push(LogLine {
            level,
            source,
            message,
        });
    }

    /// Text bytes the next line may still hold; `None` when not even an empty line fits.
    fn room(&self) -> Option<usize> {
        self.cap.checked_sub(self.used)?.checked_sub(LINE_OVERHEAD)
    }

    fn drop_line(&mut self, bytes: usize) {
        self.dropped_lines += 1;
        self.dropped_bytes += bytes as u64;
    }

    fn write_stream(&mut self, source: LogSource, bytes: &[u8]) {
        if self.full {
            self.drop_stream(bytes);
            return;
        }
        let mut pending = std::mem::take(self.pending(source));
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
            let text = String::from_utf8_lossy(&pending[start..start + pos]).into_owned();
            start += pos + 1;
            self.push(stream_level(source), source, &text);
            if self.full {
                self.drop_stream(&pending[start..]);
                return;
            }
        }
        pending.drain(..start);
        let overfull = pending.len() > self.cap;
        *self.pending(source) = pending;
        if overfull {
            self.flush_stream(source);
        }
    }

    /// Counts stream bytes dropped after the cap: their bytes and the lines they end.
    fn drop_stream(&mut self, bytes: &[u8]) {
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        self.dropped_lines += lines as u64;
        self.dropped_bytes += (bytes.len() - lines) as u64;
    }

    fn flush_stream(&mut self, source: LogSource) {
        let rest = std::mem::take(self.pending(source));
        if !rest.is_empty() {
            let text = String::from_utf8_lossy(&rest).into_owned();
            self.push(stream_level(source), source, &text);
        }
    }

    fn pending(&mut self, source: LogSource) -> &mut Vec<u8> {
        match source {
            LogSource::Stderr => &mut self.stderr,
            _ => &mut self.stdout,
        }
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn stream_level(source: LogSource) -> LogLevel {
    match source {
        LogSource::Stderr => LogLevel::Warn,
        _ => LogLevel::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn lines_beyond_the_cap_are_cut_then_dropped_and_counted() {
        let log = LogBuffer::new(2 * LINE_OVERHEAD + 8, Redactor::default());
        log.push(LogLevel::Info, LogSource::Plugin, "12345");
        log.push(LogLevel::Info, LogSource::Plugin, "1234567");
        log.push(LogLevel::Info, LogSource::Plugin, "1");
        let (lines, truncated) = log.finish();
        assert!(truncated);
        assert_eq!(
            texts(&lines),
            ["12345", "123", "log truncated: 1 lines and 5 bytes dropped"]
        );
    }

    #[test]
    fn empty_lines_count_against_the_cap() {
        let log = LogBuffer::new(10 * LINE_OVERHEAD, Redactor::default());
        for _ in 0..100_000 {
            log.push(LogLevel::Info, LogSource::Plugin, "");
        }
        let (lines, truncated) = log.finish();
        assert!(truncated);
        assert_eq!(lines.len(), 11);
        let last = &lines[10].message;
        assert_eq!(last, "log truncated: 99990 lines and 0 bytes dropped");
    }

    #[test]
    fn newline_only_stream_writes_count_against_the_cap() {
        let log = LogBuffer::new(4 * LINE_OVERHEAD, Redactor::default());
        for _ in 0..1000 {
            log.write_stream(LogSource::Stdout, b"\n\n\n\n\n\n\n\n\n\n");
        }
        let (lines, _) = log.finish();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[4].message,
            "log truncated: 9996 lines and 0 bytes dropped"
        );
    }

    #[test]
    fn the_number_of_lines_is_capped_whatever_the_bytes() {
        let log = LogBuffer::new(usize::MAX / 2, Redactor::default());
        for _ in 0..MAX_LINES + 5 {
            log.push(LogLevel::Info, LogSource::Plugin, "x");
        }
        let (lines, _) = log.finish();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(
            lines[MAX_LINES].message,
            "log truncated: 5 lines and 5 bytes dropped"
        );
    }

    #[test]
    fn a_cut_never_leaves_part_of_a_secret() {
        let mut secrets = BTreeMap::new();
        secrets.insert("token".to_owned(), "SECRETVALUE".to_owned());
        let log = LogBuffer::new(LINE_OVERHEAD + 12, Redactor::new(&secrets));
        log.push(LogLevel::Info, LogSource::Plugin, "ab SECRETVALUE");
        let (lines, truncated) = log.finish();
        assert!(truncated);
        assert_eq!(lines[0].message, "ab [redacted");
        assert!(!lines[0].message.contains("SECRET"));
    }

    #[test]
    fn stream_bytes_become_lines() {
        let log = LogBuffer::new(1000, Redactor::default());
        log.write_stream(LogSource::Stdout, b"hel");
        log.write_stream(LogSource::Stdout, b"lo\nwor");
        log.write_stream(LogSource::Stderr, b"oops\n");
        let (lines, truncated) = log.finish();
        assert!(!truncated);
        assert_eq!(texts(&lines), ["hello", "oops", "wor"]);
        assert_eq!(lines[1].source, LogSource::Stderr);
    }

    #[test]
    fn a_stream_flood_is_capped() {
        let log = LogBuffer::new(LINE_OVERHEAD + 16, Redactor::default());
        for _ in 0..1000 {
            log.write_stream(
                LogSource::Stdout,
                b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            );
        }
        let (lines, truncated) = log.finish();
        assert!(truncated);
        assert!(lines.len() <= 2);
    }
}
