//! What the CLI prints on stdout: plain lines, run outcomes as a human report or JSON.
#![allow(clippy::print_stdout)]

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::json;
use switchboard_runtime::{ActionOutcome, RunOutcome, RunStatus};

/// Text a plugin, a webhook or a remote server supplied, made safe for a terminal: control
/// characters (C0, DEL, C1, so escape sequences and newlines) and bidirectional-text overrides
/// become visible `\n`, `\t`, `\u{1b}` escapes, so such text cannot move the cursor, clear
/// the screen or forge a report line. Every human report prints foreign text through this.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line on stdout.
pub fn line(text: &str) {
    println!("{text}");
}

/// One line for the operator on stderr (progress and notes that are not the command's output).
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// `messages, http` from `switchboard:plugin/messages@0.2.0, …` (WASI imports left out).
pub fn short_imports(imports: &[String]) -> String {
    let ours: Vec<&str> = imports
        .iter()
        .filter_map(|i| i.strip_prefix("switchboard:plugin/"))
        .map(|i| i.split('@').next().unwrap_or(i))
        .filter(|i| *i != "types")
        .collect();
    if ours.is_empty() {
        "none".to_owned()
    } else {
        ours.join(", ")
    }
}

/// The outcome as a person reads it: status, then actions, then logs.
pub fn human(plugin: &str, outcome: &RunOutcome) {
    println!("plugin   {plugin}");
    println!("status   {}", status_text(&outcome.status));
    println!("duration {:.1} ms", outcome.duration.as_secs_f64() * 1e3);
    println!("\nactions ({})", outcome.actions.len());
    for a in &outcome.actions {
        let result = match &a.outcome {
            ActionOutcome::Ok(summary) => format!("ok {}", escape(&summary.to_string())),
            ActionOutcome::Error(err) => format!("error: {}", escape(&err.message)),
            ActionOutcome::Denied(why) => format!("denied: {}", escape(why)),
            ActionOutcome::InFlight => "in flight (cut off by the run's timeout)".to_owned(),
            _ => "unknown outcome".to_owned(),
        };
        let flags = match (a.dry_run, a.replayed) {
            (true, _) => " (dry run)",
            (false, true) => " (replayed)",
            (false, false) => "",
        };
        println!(
            "  #{:<3} {:<22} {:>7.1} ms  {}  -> {result}{flags}",
            a.seq,
            a.kind,
            a.latency.as_secs_f64() * 1e3,
            escape(&a.request.to_string()),
        );
    }
    println!(
        "\nlogs ({}{})",
        outcome.logs.len(),
        if outcome.logs_truncated {
            ", truncated"
        } else {
            ""
        }
    );
    for l in &outcome.logs {
        println!("  {:<5} {}", level_name(l), escape(&l.message));
    }
}

/// The outcome as one JSON document.
pub fn json(plugin: &str, outcome: &RunOutcome) {
    let actions = serde_json::to_value(&outcome.actions).unwrap_or_default();
    let logs: Vec<_> = outcome
        .logs
        .iter()
        .map(|l| json!({"level": level_name(l), "message": l.message}))
        .collect();
    let doc = json!({
        "plugin": plugin,
        "status": outcome.status.as_str(),
        "detail": status_detail(&outcome.status),
        "duration_ms": outcome.duration.as_secs_f64() * 1e3,
        "actions": actions,
        "logs": logs,
        "logs_truncated": outcome.logs_truncated,
    });
    println!("{doc:#}");
}

fn status_text(status: &RunStatus) -> String {
    match status_detail(status) {
        Some(detail) => format!("{}: {}", status.as_str(), escape(detail)),
        None => status.as_str().to_owned(),
    }
}

fn status_detail(status: &RunStatus) -> Option<&str> {
    match status {
        RunStatus::Failed(m) | RunStatus::Denied(m) => Some(m),
        RunStatus::Trapped(t) => Some(&t.message),
        RunStatus::Succeeded | RunStatus::TimedOut => None,
    }
}

/// `info`, `warn`, … as the runtime serializes the level.
fn level_name(line: &switchboard_runtime::LogLine) -> String {
    match serde_json::to_value(line.level) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{:?}", line.level),
    }
}

/// `value` as pretty JSON on stdout (`--json` of the history and operations commands).
pub fn print_json<T: serde::Serialize>(value: &T) {
    line(&serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned()));
}

/// `value` as JSON (`--json`), else as `human` writes it for people.
pub fn print<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce(&T)) {
    if json {
        print_json(value);
    } else {
        human(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(escape(input), expected);
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        check("plain text, кириллица", "plain text, кириллица");
        check("a\nstatus   succeeded", "a\\nstatus   succeeded");
        check("\u{1b}[2K\u{1b}[1Agone", "\\u{1b}[2K\\u{1b}[1Agone");
        check("tab\tcr\r", "tab\\tcr\\r");
        check("\u{7f}\u{9b}", "\\u{7f}\\u{9b}");
        check("\u{202e}txt.exe", "\\u{202e}txt.exe");
    }

    #[test]
    fn a_forged_status_line_stays_on_the_error_line() {
        let forged = "boom\r\u{1b}[1A\u{1b}[2Kstatus   succeeded";
        let text = status_text(&RunStatus::Failed(forged.to_owned()));
        assert!(!text.contains('\n') && !text.contains('\r') && !text.contains('\u{1b}'));
        assert_eq!(
            text,
            "failed: boom\\r\\u{1b}[1A\\u{1b}[2Kstatus   succeeded"
        );
    }
}
