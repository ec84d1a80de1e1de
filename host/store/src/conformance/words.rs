//! Conformance: the payload word index is fed off the intake path by a background indexer,
//! and a text filter answers the same whether the indexer has run or not. These take a
//! [`Reopen`]: the same database opened (again) with the background indexer off, so the test
//! decides when passes run.

use super::fixtures::{claim_now, event, finish_as, run};
use crate::{AttemptStatus, RetentionPolicy, RunFilter, RunId, RunStatus};
use crate::{Store, WordIndexPass};
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Opens one database, as often as asked, with the background word indexer off.
#[async_trait]
pub trait Reopen: Send + Sync {
    async fn open(&self) -> Arc<dyn Store>;
}

/// The runs a text filter finds, newest first (the counts must agree).
pub async fn text_ids(store: &dyn Store, text: &str) -> Vec<RunId> {
    let filter = RunFilter {
        text: Some(text.into()),
        limit: 100,
        ..RunFilter::default()
    };
    filtered_ids(store, filter).await
}

/// The runs a filter lists, after checking that `count_runs` agrees with the list.
pub async fn filtered_ids(store: &dyn Store, filter: RunFilter) -> Vec<RunId> {
    let runs = store.list_runs(filter.clone()).await.expect("list");
    let counted: u64 = store
        .count_runs(filter)
        .await
        .expect("count")
        .iter()
        .map(|c| c.runs)
        .sum();
    assert_eq!(counted, runs.len() as u64, "counts agree with the list");
    runs.iter().map(|r| r.run_id).collect()
}

/// Runs passes until the index has every event up to `last` (a few passes at most).
pub async fn index_all(store: &dyn Store, last: i64) -> WordIndexPass {
    for _ in 0..20 {
        let pass = store
            .index_words(crate::indexer::BATCH)
            .await
            .expect("pass");
        if pass.watermark >= last && !pass.more {
            return pass;
        }
    }
    panic!("the word index did not reach event {last} in 20 passes");
}

async fn ingest(store: &dyn Store, key: &str, text: &str) -> (i64, RunId) {
    let mut e = event(key, Some(9));
    e.payload = serde_json::json!({ "message": { "text": text } }).to_string();
    let done = store.ingest(e, vec![run("p", key)]).await.expect("ingest");
    (done.event_id.0, done.run_ids[0])
}

/// An event ingested a moment ago is found by the text filter before the indexer reached it,
/// with indexed events alike, and the same runs are found once it has.
pub async fn text_filter_finds_events_the_indexer_has_not_reached(db: Box<dyn Reopen>) {
    let store = db.open().await;
    let (first, a) = ingest(&*store, "w1", "Доставка завтра").await;
    let (_, b) = ingest(&*store, "w2", "оплата картой").await;
    let before = store.index_words(0).await.expect("no pass");
    assert!(before.watermark < first, "nothing indexed yet");
    assert_eq!(text_ids(&*store, "доставка").await, vec![a]);
    assert_eq!(text_ids(&*store, "ОПЛАТА картой").await, vec![b]);
    assert!(text_ids(&*store, "доставка картой").await.is_empty());
    let (last, c) = ingest(&*store, "w3", "доставка картой").await;
    let indexed = index_all(&*store, last).await;
    assert!(indexed.watermark >= last);
    assert_eq!(text_ids(&*store, "доставка").await, vec![c, a]);
    assert_eq!(text_ids(&*store, "доставка картой").await, vec![c]);
    // Half indexed, half not: one answer from both.
    let (_, d) = ingest(&*store, "w4", "ещё одна доставка").await;
    assert_eq!(text_ids(&*store, "доставка").await, vec![d, c, a]);
    assert!(text_ids(&*store, "достав").await.is_empty(), "whole words");
}

/// The watermark is durable: reopened, the indexer goes on from it and indexes nothing twice.
pub async fn word_index_survives_reopen(db: Box<dyn Reopen>) {
    let store = db.open().await;
    let (_, a) = ingest(&*store, "r1", "первый").await;
    let (last, b) = ingest(&*store, "r2", "второй первый").await;
    let indexed = index_all(&*store, last).await;
    drop(store);
    let store = db.open().await;
    let again = store
        .index_words(crate::indexer::BATCH)
        .await
        .expect("pass");
    assert_eq!(again.indexed, 0, "nothing indexed twice");
    assert_eq!(again.watermark, indexed.watermark);
    assert_eq!(text_ids(&*store, "первый").await, vec![b, a]);
}

/// With more events waiting than a text filter tokenises itself, it indexes first: the
/// answer is still exact.
pub async fn text_filter_far_behind_the_indexer_is_still_exact(db: Box<dyn Reopen>) {
    let store = db.open().await;
    let total = crate::indexer::TAIL_MAX + 100;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let store = Arc::clone(&store);
        let rare = i % 500 == 7;
        let text = if rare {
            "редкое слово"
        } else {
            "обычное"
        };
        tasks.spawn(async move { (rare, ingest(&*store, &format!("f{i}"), text).await) });
    }
    let (mut rare, mut last) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (is_rare, (event, run)) = done.expect("task");
        last = last.max(event);
        if is_rare {
            rare.push(run);
        }
    }
    rare.sort_by(|a, b| b.cmp(a));
    assert_eq!(rare.len(), 5);
    assert_eq!(text_ids(&*store, "редкое").await, rare);
    let mut left = 0;
    for _ in 0..20 {
        let pass = store
            .index_words(crate::indexer::BATCH)
            .await
            .expect("pass");
        left += pass.indexed;
        if pass.watermark >= last && !pass.more {
            break;
        }
    }
    assert!(left < total, "the filter indexed some events first");
    assert_eq!(text_ids(&*store, "редкое").await, rare);
}

/// Whether a word is common (found in more events than its index answers at once, so counts look
/// at the newest runs only) does not depend on how far the indexer has got: half of a common
/// word's events indexed and half waiting count the same as all of them indexed.
pub async fn a_common_word_is_common_before_it_is_indexed(db: Box<dyn Reopen>) {
    let store = db.open().await;
    let half = crate::indexer::TAIL_MAX - 500;
    let mut last = 0;
    for part in 0..2 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..half {
            let store = Arc::clone(&store);
            tasks.spawn(async move { ingest(&*store, &format!("c{part}-{i}"), "обычное").await });
        }
        while let Some(done) = tasks.join_next().await {
            last = last.max(done.expect("task").0);
        }
        if part == 0 {
            index_all(&*store, last).await;
        }
    }
    let often = RunFilter {
        text: Some("обычное".into()),
        limit: 100,
        ..RunFilter::default()
    };
    let before = store
        .count_recent_runs(often.clone(), 100)
        .await
        .expect("count");
    assert!(!before.complete, "counted among the newest runs only");
    assert_eq!(before.counts.iter().map(|c| c.runs).sum::<u64>(), 100);
    index_all(&*store, last).await;
    let after = store.count_recent_runs(often, 100).await.expect("count");
    assert_eq!(after, before);
}

/// After an upgrade from a schema before the word index: each old event's `(word, run)` is
/// found by the text filter before and after the indexer (its watermark starting at 0) has
/// backfilled the old events, and an event ingested since is indexed alike.
pub async fn old_events_are_backfilled(store: &dyn Store, old: &[(&str, RunId)]) {
    for &(word, id) in old {
        assert_eq!(
            text_ids(store, word).await,
            vec![id],
            "{word} before the backfill"
        );
    }
    let new = store
        .ingest(event("new", Some(2)), vec![run("p", "l")])
        .await
        .expect("ingest");
    let indexed = index_all(store, new.event_id.0).await;
    assert!(indexed.watermark >= new.event_id.0);
    for &(word, id) in old {
        assert_eq!(
            text_ids(store, word).await,
            vec![id],
            "{word} after the backfill"
        );
    }
    assert_eq!(
        text_ids(store, "привет").await,
        new.run_ids,
        "the new event is indexed alike"
    );
}

/// Retention may delete the newest events, or every event. The events ingested after it must
/// not get ids at or below the index's watermark, where the indexer would never look (SQLite's
/// counters and PostgreSQL's sequences never hand an id out twice): they are indexed and found,
/// and the deleted events' words match nothing.
pub async fn events_after_the_newest_were_purged_are_found(db: Box<dyn Reopen>) {
    let store = db.open().await;
    let mut last = 0;
    for i in 0..3 {
        last = ingest(&*store, &format!("old{i}"), "старое").await.0;
    }
    index_all(&*store, last).await;
    for claimed in claim_now(&*store, "node-a", 10).await {
        finish_as(&*store, &claimed, AttemptStatus::Succeeded).await;
    }
    let mut policy = RetentionPolicy::default();
    policy.max_age.insert(RunStatus::Succeeded, Duration::ZERO);
    let later = Utc::now() + TimeDelta::hours(1);
    assert_eq!(store.purge(&policy, 10, later).await.expect("purge"), 3);
    assert!(text_ids(&*store, "старое").await.is_empty());

    let (event, new) = ingest(&*store, "new", "новое").await;
    assert_eq!(
        text_ids(&*store, "новое").await,
        vec![new],
        "found before the indexer ran (event {event}, the old ones went up to {last})"
    );
    index_all(&*store, event).await;
    assert_eq!(text_ids(&*store, "новое").await, vec![new], "and after");
    assert!(text_ids(&*store, "старое").await.is_empty());
}
