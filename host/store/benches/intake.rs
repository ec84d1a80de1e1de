//! Intake throughput: `ingest` calls per second with 64 concurrent callers on a fresh SQLite
//! file (group commit at work), and dispatch over a backlog of 100,000 queued runs (claim 64
//! lane heads, finish them, queue 64 more). Run with
//! `cargo bench -p switchboard-store --bench intake`; criterion prints the throughput
//! (elements/s = ingests/s, or runs claimed and finished per second).

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use switchboard_store::conformance::{attempt, event, run};
use switchboard_store::{AttemptStatus, Next, SqliteConfig, SqliteStore, Store};

/// Concurrent callers.
const CALLERS: u64 = 64;
/// Ingests each caller makes per measured iteration.
const PER_CALLER: u64 = 100;

async fn ingest_round(store: Arc<dyn Store>, next: Arc<AtomicU64>) {
    let mut tasks = Vec::with_capacity(CALLERS as usize);
    for _ in 0..CALLERS {
        let (store, next) = (Arc::clone(&store), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            for _ in 0..PER_CALLER {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let lane = format!("auto-reply:70001:{}", i % 5000);
                let chat = i64::try_from(i % 5000).unwrap_or(0);
                let result = store
                    .ingest(
                        event(&format!("bench:{i}"), Some(chat)),
                        vec![run("auto-reply", &lane)],
                    )
                    .await;
                assert!(result.is_ok(), "ingest failed: {result:?}");
            }
        }));
    }
    for task in tasks {
        assert!(task.await.is_ok(), "caller panicked");
    }
}

/// A 2-worker tokio runtime and a fresh SQLite store in a temporary directory (kept alive by
/// the caller for as long as the store is used).
fn sqlite_store(file: &str) -> (tokio::runtime::Runtime, tempfile::TempDir, Arc<dyn Store>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SqliteConfig::new(dir.path().join(file));
    let store: Arc<dyn Store> = Arc::new(rt.block_on(SqliteStore::open(config)).expect("open"));
    (rt, dir, store)
}

fn intake(c: &mut Criterion) {
    let (rt, _dir, store) = sqlite_store("bench.db");
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    rt.block_on(ingest_round(Arc::clone(&store), Arc::clone(&next)));
    let warm = start.elapsed().as_secs_f64();
    eprintln!(
        "warm-up: {} ingests/s with {CALLERS} callers",
        ((CALLERS * PER_CALLER) as f64 / warm) as u64
    );
    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Elements(CALLERS * PER_CALLER));
    group.sample_size(10);
    group.bench_function("ingest_64_callers", |b| {
        b.to_async(&rt)
            .iter(|| ingest_round(Arc::clone(&store), Arc::clone(&next)));
    });
    group.finish();
    let stats = rt.block_on(store.stats()).expect("stats");
    eprintln!(
        "database after the bench: {} bytes, {} runs",
        stats.file_bytes,
        next.load(Ordering::Relaxed)
    );
}

/// Queued runs kept waiting while dispatch is measured.
const BACKLOG: u64 = 100_000;

async fn dispatch_round(store: &dyn Store, next: &AtomicU64) {
    let claimed = store.claim("bench", 64, Utc::now()).await.expect("claim");
    assert_eq!(claimed.len(), 64, "the backlog has 64 claimable lanes");
    for c in &claimed {
        let done = attempt(c, AttemptStatus::Succeeded);
        store
            .finish(c.run_id, done, Next::Final)
            .await
            .expect("finish");
        let i = next.fetch_add(1, Ordering::Relaxed);
        let lane = format!("auto-reply:70001:{}", i % 20_000);
        store
            .ingest(
                event(&format!("refill:{i}"), Some(1)),
                vec![run("auto-reply", &lane)],
            )
            .await
            .expect("ingest");
    }
}

fn dispatch(c: &mut Criterion) {
    let (rt, _dir, store) = sqlite_store("backlog.db");
    let next = Arc::new(AtomicU64::new(0));
    while next.load(Ordering::Relaxed) < BACKLOG {
        rt.block_on(ingest_round(Arc::clone(&store), Arc::clone(&next)));
    }
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(64));
    group.bench_function("claim_finish_64_of_100k_queued", |b| {
        b.to_async(&rt).iter(|| dispatch_round(&*store, &next));
    });
    group.finish();
}

criterion_group!(benches, intake, dispatch);
criterion_main!(benches);
