//! The SQLite write-ahead log stays bounded under sustained writes with concurrent readers: the
//! writer restarts the WAL between batches once it passes its threshold (issue 12), instead of
//! letting it grow for as long as writes keep coming.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchboard_store::conformance::{claim_now, event, run};
use switchboard_store::{RunFilter, SqliteConfig, SqliteStore, Store};
use tokio::task::JoinSet;

const ROUNDS: usize = 80;
const PER_ROUND: usize = 500;
/// The most the WAL file may ever hold.
const WAL_LIMIT: u64 = 96 * 1024 * 1024;

fn wal_bytes(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// A reader that lists runs and events until told to stop; returns how many reads it made.
async fn read_loop(store: Arc<dyn Store>, stop: Arc<AtomicBool>) -> usize {
    let mut reads = 0;
    while !stop.load(Ordering::Acquire) {
        let filter = RunFilter {
            limit: 200,
            ..RunFilter::default()
        };
        store.list_runs(filter).await.expect("list runs");
        reads += 1;
    }
    reads
}

/// A claimer that takes queued runs until told to stop; returns how many it claimed.
async fn claim_loop(store: Arc<dyn Store>, stop: Arc<AtomicBool>) -> usize {
    let mut claimed = 0;
    while !stop.load(Ordering::Acquire) {
        let runs = claim_now(&*store, "wal-test", 64).await;
        claimed += runs.len();
        tokio::task::yield_now().await;
    }
    claimed
}

async fn ingest_round(store: &Arc<dyn Store>, round: usize, payload: &str) {
    let mut set = JoinSet::new();
    for i in 0..PER_ROUND {
        let store = Arc::clone(store);
        let mut e = event(
            &format!("wal:{round}:{i}"),
            Some(i64::try_from(i).unwrap_or(0)),
        );
        e.payload = payload.to_owned();
        set.spawn(async move {
            store
                .ingest(e, vec![run("auto-reply", &format!("lane:{round}:{i}"))])
                .await
                .expect("ingest")
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("ingest task");
    }
}

/// `len` characters that compression cannot shrink much (the store packs large payloads), so
/// the writes really move megabytes through the WAL.
fn incompressible(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[(x % 64) as usize])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_stays_bounded_under_sustained_ingest_with_readers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteConfig::new(&db))
            .await
            .expect("open"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let readers = [
        tokio::spawn(read_loop(Arc::clone(&store), Arc::clone(&stop))),
        tokio::spawn(claim_loop(Arc::clone(&store), Arc::clone(&stop))),
    ];
    let payload = format!(r#"{{"text":"{}"}}"#, incompressible(4096));
    let mut peak = 0;
    for round in 0..ROUNDS {
        ingest_round(&store, round, &payload).await;
        peak = peak.max(wal_bytes(&db));
    }
    stop.store(true, Ordering::Release);
    let [reads, claims] = readers;
    let (reads, claims) = (reads.await.expect("reader"), claims.await.expect("claimer"));
    let db_bytes = std::fs::metadata(&db).expect("db file").len();
    eprintln!("WAL peak {peak} B, db {db_bytes} B, {reads} list_runs, {claims} runs claimed");
    assert!(reads > 0 && claims > 0, "the readers ran beside the writes");
    assert!(
        db_bytes > WAL_LIMIT,
        "more than the WAL bound went through the WAL into the main file ({db_bytes} B)"
    );
    assert!(
        peak <= WAL_LIMIT,
        "the WAL reached {peak} B, over the {WAL_LIMIT} B bound"
    );
}
