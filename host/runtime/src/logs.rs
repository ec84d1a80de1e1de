//! The run log: plugin `log` calls and captured stdout/stderr, capped at the manifest's
//! `limits.log_bytes`, with secrets redacted. A flood costs the host nothing beyond the cap.

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

/// A run's log, shared by the `log` capability and the stdout/stderr pipes.
#[derive(Clone)]
pub(crate) struct LogBuffer {
    inner: Arc<Mutex<LogState>>,
}

struct LogState {
    lines: Vec<LogLine>,
    cap: usize,
    used: usize,
    dropped: usize,
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
            dropped: 0,
            redactor,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        LogBuffer {
            inner: Arc::new(Mutex::new(state)),
        }
    }

    /// Appends one line, or counts its bytes as dropped when the cap is reached.
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
            let truncated = state.dropped > 0;
            let mut lines = std::mem::take(&mut state.lines);
            if truncated {
                lines.push(LogLine {
                    level: LogLevel::Warn,
                    source: LogSource::Host,
                    message: format!("log truncated: {} bytes dropped", state.dropped),
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
        if self.dropped > 0 || self.used + message.len() > self.cap {
            self.dropped += message.len();
            return;
        }
        self.used += message.len();
        let message = self.redactor.redact(message);
        self.lines.push(LogLine {
            level,
            source,
            message,
        });
    }

    fn write_stream(&mut self, source: LogSource, bytes: &[u8]) {
        if self.dropped > 0 {
            self.dropped += bytes.len();
            return;
        }
        let mut pending = std::mem::take(self.pending(source));
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
            let text = String::from_utf8_lossy(&pending[start..start + pos]).into_owned();
            start += pos + 1;
            self.push(stream_level(source), source, &text);
            if self.dropped > 0 {
                self.dropped += pending.len() - start;
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

fn stream_level(source: LogSource) -> LogLevel {
    match source {
        LogSource::Stderr => LogLevel::Warn,
        _ => LogLevel::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_beyond_the_cap_are_dropped_and_counted_once() {
        let log = LogBuffer::new(10, Redactor::default());
        log.push(LogLevel::Info, LogSource::Plugin, "12345");
        log.push(LogLevel::Info, LogSource::Plugin, "1234567");
        log.push(LogLevel::Info, LogSource::Plugin, "1");
        let (lines, truncated) = log.finish();
        assert!(truncated);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].message, "log truncated: 8 bytes dropped");
    }

    #[test]
    fn stream_bytes_become_lines() {
        let log = LogBuffer::new(100, Redactor::default());
        log.write_stream(LogSource::Stdout, b"hel");
        log.write_stream(LogSource::Stdout, b"lo\nwor");
        log.write_stream(LogSource::Stderr, b"oops\n");
        let (lines, truncated) = log.finish();
        assert!(!truncated);
        let texts: Vec<_> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(texts, ["hello", "oops", "wor"]);
        assert_eq!(lines[1].source, LogSource::Stderr);
    }

    #[test]
    fn a_stream_flood_is_capped() {
        let log = LogBuffer::new(16, Redactor::default());
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
