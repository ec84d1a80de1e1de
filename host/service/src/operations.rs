//! The operations commands: `plugins`, `radist webhooks sync`, `schedules`, `nodes` and
//! `db stats|backup|purge`. Like the history commands they work on the store and plugins the
//! host config names; their JSON is the admin API's (the shared [`views`](crate::views)).

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::assembly;
use crate::cli::DbCommand;
use crate::output::{self, print_json};
use crate::radist_target::RadistTarget;
use crate::views::{plugin_json, schedule_view};
use crate::wiring::Wiring;

/// `plugins`: what the config enables, loaded as `serve` would (without Radist).
pub async fn plugins(config: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let store = wiring.open_store().await?;
    let (plugins, plan) = assembly::load_offline(&wiring, &store)?;
    if as_json {
        let list: Vec<Value> = plugins.iter().map(plugin_json).collect();
        let skipped: Vec<&str> = plan.skipped.iter().map(|s| s.note.as_str()).collect();
        let problems = crate::load_problem::texts(&plan.problems);
        print_json(&json!({ "plugins": list, "skipped": skipped, "problems": problems }));
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
    let skipped = plan.skipped.iter().map(|s| s.note.as_str());
    for note in skipped.chain(plan.problems.iter().map(|p| p.text.as_str())) {
        output::note(note);
    }
    Ok(ExitCode::SUCCESS)
}

/// `radist webhooks sync --public-url URL`.
pub async fn webhooks_sync(config: &Path, public_url: &str) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config)?;
    let plan = wiring.plan();
    let target = RadistTarget::connect(&wiring.config).await?;
    let token = wiring.webhook_token()?;
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
            let deleted = crate::serve::retention::pass(store.as_ref(), retention).await?;
            output::line(&format!("{deleted} run(s) deleted by `[retention]`"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
