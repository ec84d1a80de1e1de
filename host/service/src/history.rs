//! The history and operations commands: `runs list|show|replay`, `events list|show`,
//! `quarantine list|show|retry`, `plugins` and `radist webhooks sync`. They read and write the
//! store the host config names (a running `serve` picks up replayed runs within a second).
//! Everything a plugin or a webhook supplied is printed through [`output::escape`].

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use serde_json::{Value, json};
use switchboard_store::{
    AttemptRecord, EventId, LedgerEntry, QuarantineEntry, QuarantineId, RunDetail, RunFilter,
    RunId, RunSummary, Store,
};

use crate::cli::{DbCommand, EventsCommand, QuarantineCommand, RunFilterArgs, RunsCommand};
use crate::output::{self, escape};
use crate::serve::admin::{EventQuery, RunQuery};
use crate::wiring::{LoadedPlugin, Wiring};

/// `runs list|show|replay`.
pub async fn runs(config: &Path, command: RunsCommand) -> anyhow::Result<ExitCode> {
    let store = Wiring::load(config)?.open_store().await?;
    match command {
        RunsCommand::List { filter, json } => {
            let runs = store.list_runs(run_filter(&filter)?).await?;
            if json {
                print_json(&runs);
            } else {
                print_runs(&runs);
            }
        }
        RunsCommand::Show { id, json } => {
            let detail = store
                .get_run(RunId(id))
                .await?
                .with_context(|| format!("no run {id}; `switchboard runs list` shows the runs"))?;
            if json {
                print_json(&detail);
            } else {
                print_run(&detail);
            }
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
        limit: Some(args.limit),
        before: None,
        ..RunQuery::default()
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
    let e = &d.event;
    let chat = match (e.connection_id, e.chat_id) {
        (Some(c), Some(h)) => format!("  chat {c}:{h}"),
        _ => String::new(),
    };
    output::line(&format!(
        "event {}  {}{chat}  received {}  key {}",
        e.id,
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

fn print_attempt(a: &AttemptRecord) {
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
        let mut flags = String::new();
        if x.replayed {
            flags.push_str("  [answered from the ledger]");
        }
        if x.outcome.contains("\"reused\":true") {
            flags.push_str("  [reused an uploaded file's link]");
        }
        if let Some(decision) = &x.decision {
            flags.push_str(&format!("  decision: {}", escape(decision)));
        }
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
        l.seq,
        escape(&l.kind),
        l.intent_at.to_rfc3339(),
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
        EventsCommand::Show { id, json } => {
            let detail = store
                .get_event(EventId(id))
                .await?
                .with_context(|| format!("no event {id}; `switchboard events list` shows them"))?;
            if json {
                print_json(&detail);
            } else {
                output::line(&format!(
                    "event {}  {}  received {}",
                    detail.event.id,
                    escape(&detail.event.kind),
                    detail.event.received_at.to_rfc3339()
                ));
                output::line(&format!("payload {}", escape(&detail.event.payload)));
                print_runs(&detail.runs);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `quarantine list|show|retry`.
pub async fn quarantine(config: &Path, command: QuarantineCommand) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    match command {
        QuarantineCommand::List { limit, json } => {
            let limit = crate::serve::admin::page_limit(Some(limit)).map_err(anyhow::Error::msg)?;
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
        QuarantineCommand::Show { id, json } => {
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
    let intake = crate::serve::offline_intake(wiring, Arc::clone(store)).await?;
    match intake.retry(&entry.body).await {
        Ok(answer) => {
            store.quarantine_delete(QuarantineId(id)).await?;
            output::line(&format!("stored: {answer}"));
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            output::note(&message);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A quarantined request as JSON: the body as text when it is UTF-8, else base64.
pub fn quarantine_json(entry: &QuarantineEntry) -> Value {
    let headers: Value = serde_json::from_str(&entry.headers).unwrap_or(Value::Null);
    let body = match std::str::from_utf8(&entry.body) {
        Ok(text) => json!({ "text": text }),
        Err(_) => {
            json!({ "base64": base64::engine::general_purpose::STANDARD.encode(&entry.body) })
        }
    };
    json!({
        "id": entry.id,
        "received_at": entry.received_at,
        "reason": entry.reason,
        "headers": headers,
        "body": body,
    })
}

/// A loaded plugin as JSON: name, manifest, digest, imports, grants and triggers.
pub fn plugin_json(p: &LoadedPlugin) -> Value {
    json!({
        "name": p.manifest.plugin.name.as_str(),
        "manifest": p.file,
        "sha256": p.digest,
        "imports": output::short_imports(p.plugin.imports()),
        "grants": p.manifest.capabilities.grant_lines(),
        "triggers": p.manifest.triggers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "limits": p.manifest.limits.to_string(),
    })
}

/// `plugins`: what the config enables, loaded as `serve` would (without Radist).
pub async fn plugins(config: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    let (plugins, plan) = crate::serve::load_offline(&wiring, &store).await?;
    if as_json {
        let list: Vec<Value> = plugins.iter().map(plugin_json).collect();
        print_json(&json!({ "plugins": list, "skipped": plan.skipped, "problems": plan.problems }));
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plugins {
        output::line(&format!(
            "{:<20} sha256:{}  {}  imports: {}",
            p.manifest.plugin.name.as_str(),
            &p.digest[..12],
            p.file,
            output::short_imports(p.plugin.imports())
        ));
        for t in &p.manifest.triggers {
            output::line(&format!("    trigger  {}", output::escape(&t.to_string())));
        }
        for grant in p.manifest.capabilities.grant_lines() {
            output::line(&format!("    grant    {}", output::escape(&grant)));
        }
        output::line(&format!("    limits   {}", p.manifest.limits));
    }
    for note in plan.skipped.iter().chain(&plan.problems) {
        output::note(note);
    }
    Ok(ExitCode::SUCCESS)
}

/// `radist webhooks sync --public-url URL`.
pub async fn webhooks_sync(config: &Path, public_url: &str) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let plan = wiring.plan();
    let target = crate::sandbox::RadistTarget::connect(&wiring.config).await?;
    let token = crate::serve::webhook_token(&wiring)?;
    let manifests: Vec<_> = plan.enabled.iter().map(|p| &p.loaded.manifest).collect();
    let lines =
        crate::radist_sync::sync(&target.client, &manifests, public_url, token.expose()).await?;
    for line in &lines {
        output::line(line);
    }
    output::line(&format!(
        "{} change(s); Radist applies new webhooks within about 5 minutes",
        lines.len()
    ));
    target.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// One schedule as `switchboard schedules` and `/api/schedules` show it.
pub async fn schedule_view(
    store: &Arc<dyn Store>,
    entry: &crate::serve::scheduler::Entry,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let states = store.schedule_states().await?;
    let state = states.iter().find(|s| s.schedule_key == entry.key);
    let lane = format!("{}/schedule/{}", entry.plugin, entry.key);
    let filter = RunFilter {
        plugin: Some(entry.plugin.clone()),
        limit: 500,
        ..RunFilter::default()
    };
    let last_run = store
        .list_runs(filter)
        .await?
        .into_iter()
        .find(|r| r.lane.starts_with(&lane));
    let next: Vec<String> = entry
        .schedule
        .fires_after(now)
        .take(5)
        .map(|t| t.with_timezone(&entry.trigger.timezone).to_rfc3339())
        .collect();
    Ok(json!({
        "schedule": entry.key,
        "plugin": entry.plugin,
        "cron": entry.trigger.cron.as_str(),
        "timezone": entry.trigger.timezone.name(),
        "overlap": entry.trigger.overlap.as_str(),
        "catch_up": entry.trigger.catch_up.as_str(),
        "last_slot": state.and_then(|s| s.last_slot),
        "last_run": last_run.map(|r| json!({"run_id": r.run_id, "status": r.status.as_str()})),
        "fired": state.map_or(0, |s| s.fired),
        "caught_up": state.map_or(0, |s| s.caught_up),
        "skipped": state.map_or(0, |s| s.skipped),
        "missed": state.map_or(0, |s| s.missed),
        "next": next,
    }))
}

/// `schedules`.
pub async fn schedules(config: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    let plan = wiring.plan();
    let now = chrono::Utc::now();
    let mut views = Vec::new();
    for p in &plan.enabled {
        for entry in crate::serve::scheduler::entries_of(&p.loaded.manifest) {
            views.push(schedule_view(&store, &entry, now).await?);
        }
    }
    if as_json {
        print_json(&views);
        return Ok(ExitCode::SUCCESS);
    }
    for v in &views {
        output::line(&format!(
            "{}  ({}, overlap {}, catch-up {})",
            v["schedule"].as_str().unwrap_or_default(),
            v["timezone"].as_str().unwrap_or_default(),
            v["overlap"].as_str().unwrap_or_default(),
            v["catch_up"].as_str().unwrap_or_default()
        ));
        output::line(&format!(
            "  last slot {}  run {}  fired {}  caught up {}  skipped {}  missed {}",
            v["last_slot"].as_str().unwrap_or("never"),
            v["last_run"]["run_id"]
                .as_i64()
                .map_or("-".to_owned(), |id| format!(
                    "{id} ({})",
                    v["last_run"]["status"].as_str().unwrap_or("")
                )),
            v["fired"],
            v["caught_up"],
            v["skipped"],
            v["missed"]
        ));
        let next: Vec<&str> = v["next"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        output::line(&format!("  next {}", next.join(", ")));
    }
    if views.is_empty() {
        output::line("no cron triggers in the enabled plugins");
    }
    Ok(ExitCode::SUCCESS)
}

/// `nodes`: the nodes sharing the store and their leases.
pub async fn nodes(config: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let store = Wiring::load(config)?.open_store().await?;
    let nodes = store.nodes(store.clock().await?).await?;
    if as_json {
        print_json(&nodes);
    } else {
        crate::serve::nodes::print_table(&nodes);
    }
    Ok(ExitCode::SUCCESS)
}

/// `db stats|backup|purge`.
pub async fn db(config: &Path, command: DbCommand) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    match command {
        DbCommand::Stats { json } => {
            let stats = store.stats().await?;
            if json {
                print_json(&stats);
                return Ok(ExitCode::SUCCESS);
            }
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            output::line(&format!(
                "file {:.2} MiB, wal {:.2} MiB, {} pages of {} bytes, {} free",
                mib(stats.file_bytes),
                mib(stats.wal_bytes),
                stats.page_count,
                stats.page_size,
                stats.free_pages
            ));
            for (table, rows) in &stats.rows {
                output::line(&format!("  {table:<24} {rows:>10} rows"));
            }
        }
        DbCommand::Backup { file } => {
            anyhow::ensure!(
                !file.exists(),
                "{} exists; choose a new file name",
                file.display()
            );
            store.backup(&file).await?;
            output::line(&format!("backed up to {}", file.display()));
        }
        DbCommand::Purge => {
            let retention = &wiring.config.host.retention;
            let deleted = crate::serve::retention::pass(&store, retention).await?;
            output::line(&format!("{deleted} run(s) deleted by `[retention]`"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json<T: serde::Serialize>(value: &T) {
    output::line(&serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned()));
}
