//! How long `switchboard serve` takes to render the dashboard's runs page with 10,000 runs in
//! the store (target: under 100 ms of server time). The runs are stored (finished, two
//! statuses) in a real SQLite file before `serve` starts; the page is then fetched over
//! loopback and the server's own `Server-Timing` figure is read, for the first page, filtered
//! pages (status, plugin, trigger kind with `until`, payload text matching every third run or a
//! single run) and a deep keyset page. Prints the figures; asserts nothing about them.
//!
//! `cargo bench -p switchboard --bench dashboard`

// A benchmark prints its figures.
#![allow(clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;
use switchboard_store::prelude::*;

use chrono::Utc;
use support::Workdir;
use switchboard_store::{
    AttemptStatus, FinishedAttempt, NewEvent, NewRun, Next, SqliteConfig, SqliteStore,
};

const RUNS: usize = 10_000;
const SAMPLES: usize = 50;

fn main() {
    let work = Workdir::shipped();
    std::fs::create_dir_all(work.path("data")).expect("data dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let seeded = Instant::now();
    runtime.block_on(seed(&work));
    eprintln!(
        "seeded {RUNS} finished runs in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let service = work.serve();
    let last_id = RUNS as i64 / 2;
    for (name, query) in [
        ("first page", String::new()),
        ("status=failed", "status=failed".to_owned()),
        (
            "plugin + status",
            "plugin=bench&status=succeeded".to_owned(),
        ),
        (
            "kind + until",
            "kind=message.received&until=2100-01-01T00:00:00Z".to_owned(),
        ),
        ("text, 1 run in 3", "text=delivery".to_owned()),
        ("text, 1 run", "text=4242".to_owned()),
        ("deep keyset page", format!("before={last_id}")),
    ] {
        let url = format!("{}runs?{query}", service.dashboard);
        let mut server = Vec::new();
        let mut total = Vec::new();
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let response = service.http.get(&url).send().expect("runs page");
            let timing = response
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("render;dur="))
                .and_then(|v| v.parse::<f64>().ok())
                .expect("the runs page says its server time");
            assert!(response.status().is_success());
            let _ = response.bytes().expect("body");
            total.push(started.elapsed().as_secs_f64() * 1e3);
            server.push(timing);
        }
        println!(
            "runs page, {RUNS} runs stored, {name:<16}: server p50 {:>6.2} ms  p95 {:>6.2} ms  (with HTTP p50 {:>6.2} ms)",
            percentile(&mut server, 50),
            percentile(&mut server, 95),
            percentile(&mut total, 50)
        );
    }
}

fn percentile(values: &mut [f64], p: usize) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = (values.len() * p).div_ceil(100).saturating_sub(1);
    values.get(rank).copied().unwrap_or(0.0)
}

/// Stores `RUNS` runs of plugin `bench` on 100 chats, each claimed and finished (a tenth failed).
async fn seed(work: &Workdir) {
    let store = SqliteStore::open(SqliteConfig::new(work.path("data/switchboard.db")))
        .await
        .expect("store");
    let ingests = (0..RUNS).map(|i| {
        let event = NewEvent {
            dedupe_key: format!("bench-{i}"),
            kind: "message.received".into(),
            connection_id: Some(70001),
            chat_id: Some(i as i64 % 100),
            payload: format!(
                r#"{{"source":"manual","payload":"message {i} about {}"}}"#,
                if i % 3 == 0 { "delivery" } else { "price" }
            ),
            received_at: Utc::now(),
        };
        let run = NewRun {
            plugin: "bench".into(),
            lane: format!("bench/{i}"),
            max_attempts: 1,
            origin: "webhook".into(),
        };
        store.ingest(event, vec![run])
    });
    for result in futures::future::join_all(ingests).await {
        result.expect("ingest");
    }
    loop {
        let claimed = store.claim("bench", 1000, Utc::now()).await.expect("claim");
        if claimed.is_empty() {
            break;
        }
        let finishes = claimed.iter().map(|c| {
            let failed = c.run_id.0 % 10 == 0;
            let attempt = FinishedAttempt {
                attempt: c.attempt,
                status: if failed {
                    AttemptStatus::Failed
                } else {
                    AttemptStatus::Succeeded
                },
                error: failed.then(|| "upstream: radist answered 502".to_owned()),
                started_at: Utc::now(),
                duration_us: 900,
                node: "bench".into(),
                plugin_digest: None,
                actions: Vec::new(),
                logs: Vec::new(),
            };
            store.finish(c.run_id, attempt, Next::Final)
        });
        for result in futures::future::join_all(finishes).await {
            result.expect("finish");
        }
    }
}
