//! Conformance: plugin kv namespaces and the upload links cache.

use crate::{Store, StoreError};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Get, set, overwrite, delete, list by prefix (wildcard characters are literal), namespaces
/// isolated.
pub async fn kv_basics(store: Arc<dyn Store>) {
    assert_eq!(store.kv_get("a", "k").await.expect("get"), None);
    store
        .kv_set("a", "k", b"v1".to_vec(), None)
        .await
        .expect("set");
    store
        .kv_set("a", "k", b"v2".to_vec(), None)
        .await
        .expect("overwrite");
    assert_eq!(
        store.kv_get("a", "k").await.expect("get"),
        Some(b"v2".to_vec())
    );
    assert_eq!(
        store.kv_get("b", "k").await.expect("get"),
        None,
        "namespaces are isolated"
    );
    for key in ["user:1", "user:2", "user%", "user_x", "usex", "u"] {
        store
            .kv_set("a", key, key.as_bytes().to_vec(), None)
            .await
            .expect("set");
    }
    let listed = store.kv_list("a", "user:", 10).await.expect("list");
    assert_eq!(listed, vec!["user:1".to_owned(), "user:2".to_owned()]);
    assert_eq!(
        store.kv_list("a", "user%", 10).await.expect("list"),
        vec!["user%".to_owned()]
    );
    assert_eq!(
        store.kv_list("a", "user_", 10).await.expect("list"),
        vec!["user_x".to_owned()]
    );
    assert_eq!(store.kv_list("a", "", 2).await.expect("list").len(), 2);
    assert_eq!(store.kv_count("a").await.expect("count"), 7);
    assert!(store.kv_delete("a", "k").await.expect("delete"));
    assert!(!store.kv_delete("a", "k").await.expect("delete again"));
    assert_eq!(store.kv_count("a").await.expect("count"), 6);
    store
        .kv_set("a", "empty", Vec::new(), None)
        .await
        .expect("empty value");
    assert_eq!(
        store.kv_get("a", "empty").await.expect("get"),
        Some(Vec::new())
    );
}

/// Concurrent sets of new keys never push a namespace past `max_keys`; overwrites are allowed.
pub async fn kv_quota_never_overshoots(store: Arc<dyn Store>) {
    let mut set = JoinSet::new();
    for i in 0..60 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            store
                .kv_set("quota", &format!("k{i}"), vec![1], Some(10))
                .await
        });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(done) = set.join_next().await {
        match done.expect("task") {
            Ok(()) => ok += 1,
            Err(StoreError::KvQuota {
                namespace,
                max_keys,
            }) => {
                assert_eq!((namespace.as_str(), max_keys), ("quota", 10));
                refused += 1;
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((ok, refused), (10, 50));
    assert_eq!(store.kv_count("quota").await.expect("count"), 10);
    let existing = store.kv_list("quota", "", 1).await.expect("list").remove(0);
    store
        .kv_set("quota", &existing, vec![2], Some(10))
        .await
        .expect("overwrite within quota");
    store.kv_delete("quota", &existing).await.expect("delete");
    store
        .kv_set("quota", "fresh", vec![3], Some(10))
        .await
        .expect("room after delete");
    store
        .kv_set("other", "k", vec![], Some(1))
        .await
        .expect("quota is per namespace");
}

/// The upload cache answers per company and keeps the newest URL.
pub async fn upload_cache(store: Arc<dyn Store>) {
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_eq!(store.upload_get(1, sha).await.expect("get"), None);
    store
        .upload_put(1, sha, "https://files.example/a")
        .await
        .expect("put");
    store
        .upload_put(1, sha, "https://files.example/b")
        .await
        .expect("put again");
    assert_eq!(
        store.upload_get(1, sha).await.expect("get").as_deref(),
        Some("https://files.example/b")
    );
    assert_eq!(
        store.upload_get(2, sha).await.expect("get"),
        None,
        "per company"
    );
}
