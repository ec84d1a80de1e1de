//! The history commands: `runs list|show|replay`, `events list|show` and
//! `quarantine list|show|retry`. They read and write the
//! store the host config names (a running `serve` picks up replayed runs within a second).
//! Everything a plugin or a webhook supplied is printed through [`output::escape`].

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use switchboard_store::{
    ActionRow, EventDetail, EventId, FinishedAttempt, LedgerEntry, QuarantineId, RunDetail,
    RunFilter, RunId, RunSummary, Store,
};

use crate::assembly;
use crate::cli::{EventsCommand, QuarantineCommand, RunFilterArgs, RunsCommand, ShowArgs};
use crate::output::{self, escape, print_json};
use crate::views::{EventQuery, RunQuery, page_limit, quarantine_json};
use crate::wiring::Wiring;

/// `runs list|show|replay`.
pub async fn runs(config: &Path, command: RunsCommand) -> anyhow::Result<ExitCode> {
    let store = Wiring::load(config)?.open_store().await?;
    match command {
        RunsCommand::List { filter, json } => {
            let runs = store.list_runs(run_filter(&filter)?).await?;
            output::print(json, &runs, |runs| print_runs(runs));
        }
        RunsCommand::Show(ShowArgs { id, json }) => {
            let found = store.get_run(RunId(id)).await?;
            let missing = || format!("no run {id}; `switchboard runs list` shows the runs");
            show(json, found, missing, print_run)?;
        }
        RunsCommand::Replay {
            id,
            filter,
            dry_run,
        } => return replay(&store, id, &filter, dry_run).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn run_filter(args: &RunFilterArgs) -> anyhow::Result<RunFilter> {
    let query = RunQuery {
        plugin: args.plugin.clone(),
        status: args.status.clone(),
        since: args.since.clone(),
        chat: args.chat.clone(),
        kind: args.kind.clone(),
        until: args.until.clone(),
        text: args.text.clone(),
        limit: Some(args.limit),
        before: None,
    };
    query.filter().map_err(anyhow::Error::msg)
}

async fn replay(
    store: &Arc<dyn Store>,
    id: Option<i64>,
    filter: &RunFilterArgs,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let targets: Vec<RunSummary> = match id {
        Some(id) => {
            let detail = store.get_run(RunId(id)).await?;
            vec![detail.with_context(|| format!("no run {id}"))?.run]
        }
        None => {
            anyhow::ensure!(
                filter.status.is_some() || filter.since.is_some() || filter.plugin.is_some(),
                "say which runs to replay: a run id, or --status/--since/--plugin"
            );
            store.list_runs(run_filter(filter)?).await?
        }
    };
    let targets: Vec<RunSummary> = targets
        .into_iter()
        .filter(|r| !r.status.is_unfinished())
        .collect();
    if dry_run {
        return replay_plan(store, &targets).await;
    }
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("replaying {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut failed = 0;
    for run in &targets {
        bar.set_message(format!("run {}", run.run_id));
        if let Err(err) = store.requeue(run.run_id, true).await {
            bar.println(format!("run {}: {err}", run.run_id));
            failed += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    output::line(&format!(
        "{} run(s) queued for replay{}; completed actions are answered from the ledger",
        targets.len() - failed,
        if failed > 0 {
            format!(", {failed} could not be queued")
        } else {
            String::new()
        }
    ));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a replay would do, from the ledger only: which actions are answered from it.
async fn replay_plan(store: &Arc<dyn Store>, targets: &[RunSummary]) -> anyhow::Result<ExitCode> {
    for run in targets {
        let ledger = store.ledger_for_run(run.run_id).await?;
        let done = ledger.iter().filter(|e| e.result.is_some()).count();
        let pending = ledger.len() - done;
        output::line(&format!(
            "run {:<6} {:<20} {:<10} ledger: {done} completed (answered, not repeated), {pending} without result (reconciled first)",
            run.run_id,
            escape(&run.plugin),
            run.status.as_str()
        ));
    }
    output::line(&format!(
        "{} run(s) would be replayed (dry run)",
        targets.len()
    ));
    Ok(ExitCode::SUCCESS)
}

fn print_runs(runs: &[RunSummary]) {
    output::line(&format!(
        "{:<7} {:<20} {:<10} {:<8} {:<26} {:<20} {}",
        "RUN", "PLUGIN", "STATUS", "ATTEMPT", "EVENT", "CREATED", "ERROR"
    ));
    for r in runs {
        let event = format!("{} {}", r.event_id, r.event_kind);
        output::line(&format!(
            "{:<7} {:<20} {:<10} {:<8} {:<26} {:<20} {}",
            r.run_id,
            escape(&r.plugin),
            r.status.as_str(),
            format!("{}/{}", r.attempt, r.max_attempts),
            escape(&event),
            r.created_at.format("%Y-%m-%d %H:%M:%S"),
            escape(r.error.as_deref().unwrap_or(""))
        ));
    }
}

fn print_run(d: &RunDetail) {
    let r = &d.run;
    output::line(&format!(
        "run {}  plugin {}  status {}  attempt {}/{}  origin {}{}",
        r.run_id,
        escape(&r.plugin),
        r.status.as_str(),
        r.attempt,
        r.max_attempts,
        escape(&r.origin),
        if r.is_replay { "  (replay)" } else { "" }
    ));
    if let Some(error) = &r.error {
        output::line(&format!("error  {}", escape(error)));
    }
    let e = &d.event.event;
    let chat = match (e.connection_id, e.chat_id) {
        (Some(c), Some(h)) => format!("  chat {c}:{h}"),
        _ => String::new(),
    };
    output::line(&format!(
        "event {}  {}{chat}  received {}  key {}",
        d.event.id,
        escape(&e.kind),
        e.received_at.to_rfc3339(),
        escape(&e.dedupe_key)
    ));
    output::line(&format!("  payload {}", escape(&e.payload)));
    for a in &d.attempts {
        print_attempt(a);
    }
    if !d.ledger.is_empty() {
        output::line("ledger");
        for l in &d.ledger {
            print_ledger(l);
        }
    }
}

/// What an action's line adds after its outcome: replayed, reused, reconciled.
fn action_flags(x: &ActionRow) -> String {
    let mut flags = String::new();
    if x.replayed {
        flags.push_str("  [answered from the ledger]");
    }
    // The outcome's own `reused` key (the dispatcher's), not one inside the action's answer.
    let outcome = serde_json::from_str::<serde_json::Value>(&x.outcome);
    if outcome.is_ok_and(|o| o["reused"] == true) {
        flags.push_str("  [reused an uploaded file's link]");
    }
    if let Some(decision) = &x.decision {
        flags.push_str(&format!("  decision: {}", escape(decision)));
    }
    flags
}

fn print_attempt(a: &FinishedAttempt) {
    output::line(&format!(
        "attempt {}  {}  {:.1} ms  node {}  started {}{}",
        a.attempt,
        a.status.as_str(),
        a.duration_us as f64 / 1e3,
        escape(&a.node),
        a.started_at.to_rfc3339(),
        a.plugin_digest
            .as_deref()
            .map(|d| format!("  plugin sha256:{}", &d[..d.len().min(12)]))
            .unwrap_or_default()
    ));
    if let Some(error) = &a.error {
        output::line(&format!("  error {}", escape(error)));
    }
    for x in &a.actions {
        let flags = action_flags(x);
        output::line(&format!(
            "  #{:<3} {:<20} {:>7.1} ms  {}  -> {}{flags}",
            x.seq,
            escape(&x.kind),
            x.latency_us as f64 / 1e3,
            escape(&x.request),
            escape(&x.outcome)
        ));
    }
    for l in &a.logs {
        output::line(&format!(
            "  log {:<5} {:<6} {}",
            escape(&l.level),
            escape(&l.source),
            escape(&l.message)
        ));
    }
}

fn print_ledger(l: &LedgerEntry) {
    let result = match (&l.result, &l.effect_id) {
        (Some(_), Some(id)) => format!("done ({})", escape(id)),
        (Some(_), None) => "done".to_owned(),
        (None, _) => "no result (outcome unknown)".to_owned(),
    };
    output::line(&format!(
        "  #{:<3} {:<20} intent {}  {result}{}",
        l.intent.seq,
        escape(&l.intent.kind),
        l.intent.at.to_rfc3339(),
        l.decision
            .as_deref()
            .map(|d| format!("  decision: {}", escape(d)))
            .unwrap_or_default()
    ));
}

/// `events list|show`.
pub async fn events(config: &Path, command: EventsCommand) -> anyhow::Result<ExitCode> {
    let store = Wiring::load(config)?.open_store().await?;
    match command {
        EventsCommand::List {
            kind,
            since,
            chat,
            limit,
            json,
        } => {
            let query = EventQuery {
                kind,
                chat,
                since,
                limit: Some(limit),
                before: None,
            };
            let filter = query.filter().map_err(anyhow::Error::msg)?;
            let events = store.list_events(filter).await?;
            if json {
                print_json(&events);
                return Ok(ExitCode::SUCCESS);
            }
            output::line(&format!(
                "{:<7} {:<26} {:<20} {:<20} {}",
                "EVENT", "KIND", "CHAT", "RECEIVED", "KEY"
            ));
            for e in &events {
                let chat = match (e.connection_id, e.chat_id) {
                    (Some(c), Some(h)) => format!("{c}:{h}"),
                    _ => "-".to_owned(),
                };
                output::line(&format!(
                    "{:<7} {:<26} {:<20} {:<20} {}",
                    e.id,
                    escape(&e.kind),
                    chat,
                    e.received_at.format("%Y-%m-%d %H:%M:%S"),
                    escape(&e.dedupe_key)
                ));
            }
        }
        EventsCommand::Show(ShowArgs { id, json }) => {
            let found = store.get_event(EventId(id)).await?;
            let missing = || format!("no event {id}; `switchboard events list` shows them");
            show(json, found, missing, print_event)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what a `show` found (as JSON with `--json`, else as `human` writes it), or fails
/// saying what is `missing`.
fn show<T: serde::Serialize>(
    json: bool,
    found: Option<T>,
    missing: impl FnOnce() -> String,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    let found = found.with_context(missing)?;
    output::print(json, &found, human);
    Ok(())
}

fn print_event(detail: &EventDetail) {
    let e = &detail.event.event;
    output::line(&format!(
        "event {}  {}  received {}",
        detail.event.id,
        escape(&e.kind),
        e.received_at.to_rfc3339()
    ));
    output::line(&format!("payload {}", escape(&e.payload)));
    print_runs(&detail.runs);
}

/// `quarantine list|show|retry`.
pub async fn quarantine(config: &Path, command: QuarantineCommand) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    match command {
        QuarantineCommand::List { limit, json } => {
            let limit = page_limit(Some(limit)).map_err(anyhow::Error::msg)?;
            let list = store.quarantine_list(limit, None).await?;
            if json {
                print_json(&list);
                return Ok(ExitCode::SUCCESS);
            }
            output::line(&format!(
                "{:<7} {:<20} {:>9}  {}",
                "ID", "RECEIVED", "BYTES", "REASON"
            ));
            for q in &list {
                output::line(&format!(
                    "{:<7} {:<20} {:>9}  {}",
                    q.id,
                    q.received_at.format("%Y-%m-%d %H:%M:%S"),
                    q.body_len,
                    escape(&q.reason)
                ));
            }
        }
        QuarantineCommand::Show(ShowArgs { id, json }) => {
            let entry = store
                .quarantine_get(QuarantineId(id))
                .await?
                .with_context(|| {
                    format!("no quarantined request {id}; `switchboard quarantine list` shows them")
                })?;
            let doc = quarantine_json(&entry);
            if json {
                print_json(&doc);
            } else {
                output::line(&format!(
                    "request {}  received {}",
                    entry.id,
                    entry.received_at.to_rfc3339()
                ));
                output::line(&format!("reason   {}", escape(&entry.reason)));
                output::line(&format!("headers  {}", escape(&entry.headers)));
                output::line(&format!(
                    "body     {}",
                    escape(&String::from_utf8_lossy(&entry.body))
                ));
            }
        }
        QuarantineCommand::Retry { id } => return retry_quarantined(&wiring, &store, id).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn retry_quarantined(
    wiring: &Wiring,
    store: &Arc<dyn Store>,
    id: i64,
) -> anyhow::Result<ExitCode> {
    let entry = store
        .quarantine_get(QuarantineId(id))
        .await?
        .with_context(|| format!("no quarantined request {id}"))?;
    let intake = assembly::offline_intake(wiring, Arc::clone(store)).await?;
    match intake.retry(&entry.body).await {
        Ok(stored) => {
            store.quarantine_delete(QuarantineId(id)).await?;
            output::line(&format!(
                "stored: event {}{}, {} run(s)",
                stored.event_id,
                if stored.duplicate { " (duplicate)" } else { "" },
                stored.runs
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            output::note(&message);
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(outcome: &str) -> ActionRow {
        ActionRow {
            seq: 1,
            kind: "files.upload".into(),
            request: "{}".into(),
            outcome: outcome.into(),
            latency_us: 10,
            replayed: false,
            decision: None,
        }
    }

    #[test]
    fn only_the_outcome_s_own_reused_key_flags_a_reused_link() {
        let reused = action(r#"{"status": "ok", "value": {}, "reused": true}"#);
        assert_eq!(action_flags(&reused), "  [reused an uploaded file's link]");
        let answer_says_so = action(r#"{"status":"ok","value":{"body":{"reused":true}}}"#);
        assert_eq!(action_flags(&answer_says_so), "");
        assert_eq!(action_flags(&action("not json")), "");
    }
}
