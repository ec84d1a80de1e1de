//! The SQLite database's files and ownership: one serving process per file (the process lock),
//! owner-only files whatever the umask, backups that never follow a symlink, the durability
//! setting, and a damaged event that fails its own run instead of every claim.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use switchboard_store::conformance::{event, run};
use switchboard_store::prelude::*;
use switchboard_store::{Durability, RunStatus, SqliteConfig, SqliteStore, StoreError};

fn config(path: &Path, exclusive: bool) -> SqliteConfig {
    let mut config = SqliteConfig::new(path);
    config.exclusive = exclusive;
    config
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_second_exclusive_open_is_refused_until_the_first_is_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let first = SqliteStore::open(config(&path, true)).await.expect("first");
    let second = SqliteStore::open(config(&path, true)).await;
    match second {
        Err(StoreError::Conflict { message }) => assert!(
            message.contains("another switchboard process is already serving")
                && message.contains("store.db.lock"),
            "{message}"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let reader = SqliteStore::open(config(&path, false)).await;
    assert!(reader.is_ok(), "history commands open it beside the server");
    drop(first);
    SqliteStore::open(config(&path, true))
        .await
        .expect("the lock is free once the holder is gone");
}

#[tokio::test]
async fn database_wal_and_backup_are_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(config(&path, true)).await.expect("open");
    store
        .ingest(event("e", Some(1)), vec![run("p", "l")])
        .await
        .expect("ingest");
    let wal = dir.path().join("store.db-wal");
    for file in [&path, &wal, &dir.path().join("store.db.lock")] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let backup = dir.path().join("copy.db");
    store.backup(&backup).await.expect("backup");
    assert_eq!(mode(&backup), 0o600);
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let _reopened = SqliteStore::open(config(&path, false))
        .await
        .expect("reopen");
    assert_eq!(mode(&path), 0o600, "an existing file is made owner-only");
}

#[tokio::test]
async fn a_backup_never_follows_a_symlink() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(config(&dir.path().join("store.db"), false))
        .await
        .expect("open");
    let victim = dir.path().join("victim");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&victim, &link).expect("dangling symlink");
    let refused = store.backup(&link).await;
    match refused {
        Err(StoreError::Conflict { message }) => {
            assert!(message.contains("is a symbolic link"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!victim.exists(), "nothing was written through the link");
}

#[tokio::test]
async fn durability_sets_synchronous_full_by_default_and_normal_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = SqliteStore::open(SqliteConfig::new(dir.path().join("full.db")))
        .await
        .expect("open");
    assert_eq!(full.synchronous().await.expect("pragma"), 2, "FULL");
    let mut normal = SqliteConfig::new(dir.path().join("normal.db"));
    normal.durability = Durability::Normal;
    let normal = SqliteStore::open(normal).await.expect("open");
    assert_eq!(normal.synchronous().await.expect("pragma"), 1, "NORMAL");
}

/// A payload whose packed frame is damaged, and one that claims to unpack past the cap, each
/// fail their own run with the cause; the healthy lane is still claimed.
#[tokio::test]
async fn an_unreadable_event_fails_its_run_and_never_blocks_claim() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(SqliteConfig::new(&path))
        .await
        .expect("open");
    let mut ids = Vec::new();
    for key in ["damaged", "huge", "fine"] {
        let ingested = store
            .ingest(event(key, Some(1)), vec![run("p", key)])
            .await
            .expect("ingest");
        ids.push((ingested.event_id, ingested.run_ids[0]));
    }
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    // Format byte 1, then a zstd frame whose header is garbage.
    raw.execute(
        "UPDATE events SET payload = x'01ffffffffffff' WHERE id = ?1",
        [ids[0].0.0],
    )
    .expect("damage");
    // Format byte 1, then a zstd frame header announcing 2^40 bytes of content.
    raw.execute(
        "UPDATE events SET payload = x'0128b52ffde00000000000010000' WHERE id = ?1",
        [ids[1].0.0],
    )
    .expect("inflate");
    drop(raw);
    let claimed = store
        .claim("n", 10, chrono::Utc::now())
        .await
        .expect("claim is not blocked");
    let claimed: Vec<_> = claimed.iter().map(|c| c.run_id).collect();
    assert_eq!(claimed, vec![ids[2].1], "the healthy run is claimed");
    for (_, run_id) in &ids[..2] {
        let run = store.list_runs(switchboard_store::RunFilter {
            limit: 10,
            ..Default::default()
        });
        let run = run.await.expect("list");
        let run = run.iter().find(|r| r.run_id == *run_id).expect("listed");
        assert_eq!(run.status, RunStatus::Failed);
        let error = run.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("cannot be read") && error.contains("event payload"),
            "{error}"
        );
    }
    let over = store.list_runs(switchboard_store::RunFilter {
        limit: 10,
        ..Default::default()
    });
    let over = over.await.expect("list");
    let huge = over.iter().find(|r| r.run_id == ids[1].1).expect("listed");
    assert!(
        huge.error
            .as_deref()
            .unwrap_or_default()
            .contains("over the cap"),
        "{:?}",
        huge.error
    );
}
