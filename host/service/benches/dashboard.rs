//! How long `switchboard serve` takes to render the dashboard's runs page with 10,000 runs in
//! the store (target: under 100 ms of server time), or as many as `SWITCHBOARD_BENCH_RUNS` says
//! (1000000 for the million-run figures; run that one in release). The runs are stored
//! (finished, two statuses, a tenth of them from schedules) in a real SQLite file before `serve`
//! starts, their payload words indexed; the page is then fetched over loopback and the server's
//! own `Server-Timing` figure is read, for the first page, filtered pages (status, plugin,
//! trigger kind alone and with `until`, payload text with a common word matching every third
//! run or a rare one matching a single run) and a deep keyset page. The page's time includes
//! its status counts; the counts are also timed on their own through the store. Prints the
//! figures; asserts nothing about them.
//!
//! `cargo bench -p switchboard --bench dashboard`
//! `SWITCHBOARD_BENCH_RUNS=1000000 cargo bench -p switchboard --bench dashboard`

// A benchmark prints its figures.
#![allow(clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;
use switchboard::COUNT_WINDOW;
use switchboard_store::prelude::*;

use chrono::Utc;
use support::Workdir;
use switchboard_store::{
    AttemptStatus, FinishedAttempt, NewEvent, Next, RunFilter, SqliteConfig, SqliteStore,
};
use switchboard_testing::ingest;

/// Runs stored unless `SWITCHBOARD_BENCH_RUNS` says otherwise.
const DEFAULT_RUNS: usize = 10_000;
const SAMPLES: usize = 50;
/// Ingests in flight at once while seeding (the store group-commits them).
const SEED_CHUNK: usize = 10_000;

fn runs_wanted() -> usize {
    match std::env::var("SWITCHBOARD_BENCH_RUNS") {
        Ok(v) => v.trim().replace('_', "").parse().unwrap_or_else(|_| {
            panic!("SWITCHBOARD_BENCH_RUNS must be a number of runs, like 1000000 (got {v:?})")
        }),
        Err(_) => DEFAULT_RUNS,
    }
}

fn main() {
    let runs = runs_wanted();
    let work = Workdir::shipped();
    std::fs::create_dir_all(work.path("data")).expect("data dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let seeded = Instant::now();
    runtime.block_on(seed(&work, runs));
    eprintln!(
        "seeded {runs} finished runs in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let service = work.serve();
    let last_id = runs as i64 / 2;
    for (name, query) in [
        ("first page", String::new()),
        ("kind", "kind=schedule.fired".to_owned()),
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
        ("text, 1 run", format!("text={}", rare_word(runs))),
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
            "runs page, {runs} runs stored, {name:<16}: server p50 {:>6.2} ms  p95 {:>6.2} ms  (with HTTP p50 {:>6.2} ms)",
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

/// A word of exactly one run's payload (its number).
fn rare_word(runs: usize) -> usize {
    4242 % runs.max(1)
}

/// Times the status counts through the store: all runs, by kind, by a common and a rare word.
async fn time_counts(store: &SqliteStore, runs: usize) {
    let text = |t: String| RunFilter {
        text: Some(t),
        ..RunFilter::default()
    };
    for (name, filter) in [
        ("all runs", RunFilter::default()),
        (
            "kind",
            RunFilter {
                kind: Some("schedule.fired".into()),
                ..RunFilter::default()
            },
        ),
        ("text, 1 run in 3", text("delivery".into())),
        ("text, 1 run", text(rare_word(runs).to_string())),
    ] {
        let (mut exact, mut recent) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES.min(10) {
            let started = Instant::now();
            store.count_runs(filter.clone()).await.expect("counts");
            exact.push(started.elapsed().as_secs_f64() * 1e3);
            let started = Instant::now();
            store
                .count_recent_runs(filter.clone(), COUNT_WINDOW)
                .await
                .expect("recent counts");
            recent.push(started.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "status counts, {runs} runs stored, {name:<16}: every run p50 {:>7.2} ms, \
             the newest {COUNT_WINDOW} (the runs page's tabs) p50 {:>7.2} ms",
            percentile(&mut exact, 50),
            percentile(&mut recent, 50)
        );
    }
}

/// Stores `runs` runs of plugin `bench` on 100 chats, each claimed and finished (a tenth
/// failed, a tenth from schedules), in chunks of [`SEED_CHUNK`] concurrent ingests; then feeds
/// the payload word index to the end (timed) and times the status counts.
async fn seed(work: &Workdir, runs: usize) {
    let store = SqliteStore::open(SqliteConfig::new(work.path("data/switchboard.db")))
        .await
        .expect("store");
    for chunk in (0..runs).collect::<Vec<_>>().chunks(SEED_CHUNK) {
        ingest_chunk(&store, chunk).await;
    }
    finish_all(&store).await;
    let indexing = Instant::now();
    loop {
        let pass = store.index_words(5_000).await.expect("index words");
        if !pass.more {
            break;
        }
    }
    eprintln!(
        "payload words of {runs} events indexed (what the background indexer had left) in {:.1} s",
        indexing.elapsed().as_secs_f64()
    );
    time_counts(&store, runs).await;
}

async fn ingest_chunk(store: &SqliteStore, chunk: &[usize]) {
    let ingests = chunk.iter().map(|&i| {
        let kind = if i % 10 == 5 {
            "schedule.fired"
        } else {
            "message.received"
        };
        let topic = if i % 3 == 0 { "delivery" } else { "price" };
        let text = format!("message {i} about {topic}");
        let event = NewEvent {
            kind: kind.into(),
            connection_id: Some(70001),
            chat_id: Some(i as i64 % 100),
            ..ingest::manual_event(format!("bench-{i}"), &text)
        };
        let run = ingest::one_attempt("bench", format!("bench/{i}"), "webhook");
        store.ingest(event, vec![run])
    });
    for result in futures::future::join_all(ingests).await {
        result.expect("ingest");
    }
}

async fn finish_all(store: &SqliteStore) {
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
