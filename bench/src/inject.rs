//! The hostile plugin's work in the `hostile` scenario. Its misbehaviour comes from manual
//! events, which no webhook produces, so the harness queues them straight into the service's
//! SQLite file (as `switchboard runs replay` does from another process); the dispatcher
//! claims them beside the webhook runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use switchboard_store::{NewEvent, NewRun, RunFilter, Store};
use switchboard_testing::ingest;

/// The modes asked for, in turn (see plugins/testing/hostile).
const MODES: [&str; 8] = [
    "loop",
    "memory-bomb",
    "recursion",
    "panic",
    "log-flood",
    "huge-output",
    "clock-loop",
    "random",
];

/// Queues `rate` hostile runs per second until `until`; returns how many were queued.
pub async fn inject(store: Arc<dyn Store>, rate: u32, until: Instant) -> anyhow::Result<u64> {
    if rate == 0 {
        return Ok(0);
    }
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let tag = Utc::now().timestamp_micros();
    let mut queued = 0u64;
    while Instant::now() < until {
        every.tick().await;
        let mode = MODES[usize::try_from(queued).unwrap_or(0) % MODES.len()];
        store
            .ingest(event(tag, queued, mode), vec![run(tag, queued)])
            .await?;
        queued += 1;
    }
    Ok(queued)
}

fn event(tag: i64, n: u64, mode: &str) -> NewEvent {
    let payload = json!({"mode": mode}).to_string();
    ingest::manual_event(format!("bench:hostile:{tag}:{n}"), &payload)
}

fn run(tag: i64, n: u64) -> NewRun {
    ingest::one_attempt("hostile", format!("hostile/bench:{tag}:{n}"), "manual")
}

/// The hostile runs' statuses, counted (`timed_out: 12, trapped: 40, ...`).
pub async fn outcomes(store: &Arc<dyn Store>) -> anyhow::Result<BTreeMap<String, u64>> {
    let filter = RunFilter {
        plugin: Some("hostile".to_owned()),
        limit: 100_000,
        ..RunFilter::default()
    };
    let mut counts = BTreeMap::new();
    for run in store.list_runs(filter).await? {
        let status = serde_json::to_value(run.status)?;
        let name = status.as_str().unwrap_or("unknown").to_owned();
        *counts.entry(name).or_default() += 1;
    }
    Ok(counts)
}
