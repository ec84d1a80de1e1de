//! What the CLI prints on stdout: plain lines, run outcomes as a human report or JSON.
#![allow(clippy::print_stdout)]

use serde_json::json;
use switchboard_runtime::{ActionOutcome, RunOutcome, RunStatus};

/// One line on stdout.
pub fn line(text: &str) {
    println!("{text}");
}

/// `messages, http` from `switchboard:plugin/messages@0.1.0, …` (WASI imports left out).
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
            ActionOutcome::Ok(summary) => format!("ok {summary}"),
            ActionOutcome::Error(err) => format!("error: {err}"),
            ActionOutcome::Denied(why) => format!("denied: {why}"),
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
            a.request,
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
        println!("  {:<5} {}", level_name(l), l.message);
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
        Some(detail) => format!("{}: {detail}", status.as_str()),
        None => status.as_str().to_owned(),
    }
}

fn status_detail(status: &RunStatus) -> Option<&str> {
    match status {
        RunStatus::Failed(m) | RunStatus::Trapped(m) | RunStatus::Denied(m) => Some(m),
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
