//! The SQLite word index's own file (`<database>-words`): what it holds, that intake never waits
//! for it, that retention's deletions reach it, and that a file which does not belong to the
//! database beside it (another database's, a restored backup's, a damaged one) is rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchboard_store::conformance::{claim_now, event, finish_as, index_all, run};
use switchboard_store::prelude::*;
use switchboard_store::{
    AttemptStatus, RetentionPolicy, RunFilter, RunId, RunStatus, SqliteConfig, SqliteStore,
};

fn words_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-words");
    PathBuf::from(name)
}

/// A store on `path` with the background indexer off, so the tests run every pass.
async fn open(path: &Path) -> SqliteStore {
    let mut config = SqliteConfig::new(path);
    config.index_words = false;
    SqliteStore::open(config).await.expect("open")
}

/// Ingests one event with `text` (and a run); returns the run.
async fn ingest(store: &SqliteStore, key: &str, text: &str) -> RunId {
    let mut e = event(key, Some(1));
    e.payload = serde_json::json!({ "key": key, "text": text }).to_string();
    let done = store.ingest(e, vec![run("p", key)]).await.expect("ingest");
    done.run_ids[0]
}

async fn found(store: &SqliteStore, text: &str) -> Vec<RunId> {
    let filter = RunFilter {
        text: Some(text.into()),
        limit: 100,
        ..RunFilter::default()
    };
    let runs = store.list_runs(filter).await.expect("list");
    runs.iter().map(|r| r.run_id).collect()
}

/// How many rows of the index file's `event_words` hold `word` (read straight from the file).
fn indexed(db: &Path, word: &str) -> i64 {
    let conn = rusqlite::Connection::open(words_path(db)).expect("words file");
    conn.query_row(
        "SELECT count(*) FROM event_words WHERE event_words MATCH ?1",
        [format!("\"{word}\"")],
        |r| r.get(0),
    )
    .expect("count")
}

fn main_tables(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("db");
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .expect("tables");
    let names = stmt.query_map([], |r| r.get(0)).expect("names");
    names.collect::<Result<_, _>>().expect("names")
}

/// The words live in the index file, owner-only; the database holds none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_words_live_in_their_own_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let store = open(&db).await;
    let first = ingest(&store, "a", "доставка завтра").await;
    index_all(&store, 1).await;
    assert_eq!(indexed(&db, "доставка"), 1);
    assert_eq!(found(&store, "Доставка").await, [first]);
    let tables = main_tables(&db);
    assert!(
        !tables
            .iter()
            .any(|t| t.starts_with("event_words") || t == "word_index"),
        "{tables:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(words_path(&db))
            .expect("words file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// While another connection holds the index file's write lock, events are still ingested and
/// claimed (the writer never touches that file), and a text filter still finds them (its tail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_never_waits_for_the_index_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let store = open(&db).await;
    let blocker = rusqlite::Connection::open(words_path(&db)).expect("words file");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let ingested = tokio::time::timeout(Duration::from_secs(3), async {
        let mut runs = Vec::new();
        for i in 0..20 {
            runs.push(ingest(&store, &format!("k{i}"), &format!("оплата {i}")).await);
        }
        runs
    })
    .await
    .expect("ingest does not wait for the index file's lock (busy timeout 5 s)");
    assert_eq!(claim_now(&store, "n", 50).await.len(), 20);
    assert_eq!(found(&store, "оплата 7").await, [ingested[7]]);
    blocker.execute_batch("ROLLBACK").expect("unlock");
    index_all(&store, 20).await;
    assert_eq!(indexed(&db, "оплата"), 20);
}

/// Retention's deletions reach the index file: the words go, and the queue of forgotten ids
/// empties; the runs it kept are still found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purged_events_leave_the_index_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let store = open(&db).await;
    for i in 0..30 {
        ingest(&store, &format!("old{i}"), "старый").await;
    }
    for c in claim_now(&store, "n", 50).await {
        finish_as(&store, &c, AttemptStatus::Succeeded).await;
    }
    let kept = ingest(&store, "new", "старый новый").await;
    index_all(&store, 31).await;
    assert_eq!(indexed(&db, "старый"), 31);
    let policy = RetentionPolicy {
        max_age: BTreeMap::from([(RunStatus::Succeeded, Duration::ZERO)]),
        quarantine_max_age: None,
        runless_event_max_age: None,
    };
    let purged = store
        .purge(
            &policy,
            7,
            chrono::Utc::now() + chrono::Duration::seconds(1),
        )
        .await
        .expect("purge");
    assert_eq!(purged, 30);
    assert_eq!(found(&store, "старый").await, [kept]);
    let pass = index_all(&store, 31).await;
    assert!(!pass.more);
    assert_eq!(indexed(&db, "старый"), 1, "only the kept event's words");
    let conn = rusqlite::Connection::open(&db).expect("db");
    let queued: i64 = conn
        .query_row("SELECT count(*) FROM words_forgotten", [], |r| r.get(0))
        .expect("queue");
    assert_eq!(queued, 0, "every forgotten id handled");
}

/// A backup copy is indexed afresh where it is opened, even beside the live database's newer
/// index file; a damaged index file is deleted and built again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_file_of_another_state_is_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let copy = dir.path().join("copy.db");
    let (before, after) = {
        let store = open(&db).await;
        let before = ingest(&store, "a", "альфа").await;
        store.backup(&copy).await.expect("backup");
        let after = ingest(&store, "b", "бета").await;
        index_all(&store, 2).await;
        // Everything in the index file itself (its WAL emptied), as a copy would take it.
        store.checkpoint().await.expect("checkpoint");
        assert_eq!(indexed(&db, "бета"), 1);
        (before, after)
    };
    assert_ne!(before, after);
    // The live index file (which has "бета", an event the copy never had) beside the copy.
    std::fs::copy(words_path(&db), words_path(&copy)).expect("copy the index file");
    let restored = open(&copy).await;
    assert_eq!(
        indexed(&copy, "бета"),
        0,
        "the other state's words are gone"
    );
    let reused = ingest(&restored, "c", "гамма").await;
    index_all(&restored, 2).await;
    assert_eq!(found(&restored, "бета").await, Vec::<RunId>::new());
    assert_eq!(found(&restored, "альфа").await, [before]);
    assert_eq!(found(&restored, "гамма").await, [reused]);
    drop(restored);
    // A damaged index file.
    std::fs::write(words_path(&db), b"not a database at all, just bytes").expect("damage");
    for suffix in ["-wal", "-shm"] {
        let mut name = words_path(&db).into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    let store = open(&db).await;
    assert_eq!(found(&store, "бета").await, [after]);
    index_all(&store, 2).await;
    assert_eq!(indexed(&db, "альфа"), 1);
    assert_eq!(indexed(&db, "бета"), 1);
}

/// An index whose watermark is past the database's newest event (the newest events were lost,
/// so their ids will be handed out again) is rebuilt when the store opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_ahead_of_the_events_is_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    {
        let store = open(&db).await;
        ingest(&store, "a", "альфа").await;
        ingest(&store, "b", "бета").await;
        index_all(&store, 2).await;
        store.checkpoint().await.expect("checkpoint");
    }
    // The newest event and its run vanish (as after a power cut under durability "normal").
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute_batch("DELETE FROM runs WHERE event_id = 2; DELETE FROM events WHERE id = 2;")
        .expect("lose the newest event");
    drop(conn);
    let store = open(&db).await;
    assert_eq!(indexed(&db, "бета"), 0, "rebuilt from the start");
    assert_eq!(indexed(&db, "альфа"), 0, "not indexed yet");
    let next = ingest(&store, "c", "гамма").await;
    index_all(&store, 2).await;
    assert_eq!(indexed(&db, "альфа"), 1);
    assert_eq!(found(&store, "гамма").await, [next]);
}

/// An index file of an older format (its `event_words` tokenised by `unicode61`, before the
/// file had a format) is emptied and rebuilt with today's tokenizer, even though its generation
/// and watermark match the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_file_of_an_older_format_is_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let first = {
        let store = open(&db).await;
        let first = ingest(&store, "a", "Альфа").await;
        index_all(&store, 1).await;
        store.checkpoint().await.expect("checkpoint");
        first
    };
    let words = rusqlite::Connection::open(words_path(&db)).expect("words file");
    words
        .execute_batch(
            "DROP TABLE event_words;
             CREATE VIRTUAL TABLE event_words USING fts5(words, content = '',
                 contentless_delete = 1, detail = none,
                 tokenize = \"unicode61 remove_diacritics 0 categories 'L* N* Co M* So'\");
             INSERT INTO event_words (rowid, words) VALUES (1, 'устаревшее');
             PRAGMA user_version = 0;",
        )
        .expect("an index file as an older build left it");
    drop(words);
    let store = open(&db).await;
    assert_eq!(indexed(&db, "устаревшее"), 0, "the old rows are gone");
    let words = rusqlite::Connection::open(words_path(&db)).expect("words file");
    let sql: String = words
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'event_words'",
            [],
            |r| r.get(0),
        )
        .expect("table");
    assert!(sql.contains("'ascii'"), "{sql}");
    assert_eq!(found(&store, "альфа").await, [first], "found in the tail");
    index_all(&store, 1).await;
    assert_eq!(indexed(&db, "альфа"), 1);
    assert_eq!(found(&store, "АЛЬФА").await, [first]);
}
