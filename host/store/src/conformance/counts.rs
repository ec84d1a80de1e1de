//! Conformance: run counts per status under a history filter.

use super::fixtures::{attempt, event, finish_as, run, t0};
use crate::{AttemptStatus, Next, RunFilter, RunStatus, StatusCount, Store};
use std::sync::Arc;

fn counts(list: Vec<StatusCount>) -> Vec<(RunStatus, u64)> {
    list.into_iter().map(|c| (c.status, c.runs)).collect()
}

/// Counts follow the filter's plugin, status and chat, ignore its page, and leave out
/// statuses without runs.
pub async fn count_runs_per_status(store: Arc<dyn Store>) {
    for i in 0..5_i64 {
        let plugin = if i < 3 { "alpha" } else { "beta" };
        store
            .ingest(
                event(&format!("c{i}"), Some(i % 2)),
                vec![run(plugin, &format!("l{i}"))],
            )
            .await
            .expect("ingest");
    }
    let claimed = store.claim("node-a", 1, t0()).await.expect("claim");
    let failed = attempt(&claimed[0], AttemptStatus::Failed);
    store
        .finish(claimed[0].run_id, failed, Next::Final)
        .await
        .expect("finish");
    let count = |filter: RunFilter| {
        let store = Arc::clone(&store);
        async move { counts(store.count_runs(filter).await.expect("count")) }
    };
    let all = RunFilter {
        limit: 1,
        ..RunFilter::default()
    };
    let mut every = count(all.clone()).await;
    every.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(every, vec![(RunStatus::Failed, 1), (RunStatus::Queued, 4)]);
    let beta = RunFilter {
        plugin: Some("beta".into()),
        ..all.clone()
    };
    assert_eq!(count(beta).await, vec![(RunStatus::Queued, 2)]);
    let chat = RunFilter {
        chat: Some((70001, 1)),
        ..all.clone()
    };
    let in_chat: u64 = count(chat).await.iter().map(|(_, n)| n).sum();
    assert_eq!(in_chat, 2, "two of the runs are on chat 1");
    let queued = RunFilter {
        status: Some(RunStatus::Queued),
        ..all.clone()
    };
    assert_eq!(count(queued).await, vec![(RunStatus::Queued, 4)]);
    let nobody = RunFilter {
        plugin: Some("gamma".into()),
        ..all
    };
    assert_eq!(count(nobody).await, Vec::new());
}

/// Recent counts look at the newest `window` runs only, with every filter (text too), say
/// whether that was every run, and agree with [`Store::count_runs`] when it was.
pub async fn recent_counts_look_at_the_newest_runs_only(store: Arc<dyn Store>) {
    let texts = [
        "доставка один",
        "два",
        "доставка три",
        "четыре",
        "доставка пять",
        "шесть",
    ];
    for (i, text) in texts.iter().enumerate() {
        let mut e = event(&format!("w{i}"), Some(1));
        e.payload = serde_json::json!({ "text": text }).to_string();
        if i == 3 {
            "schedule.fired".clone_into(&mut e.kind);
        }
        store
            .ingest(e, vec![run("p", &format!("l{i}"))])
            .await
            .expect("ingest");
    }
    let claimed = store.claim("node-a", 1, t0()).await.expect("claim");
    finish_as(&*store, &claimed[0], AttemptStatus::Failed).await;
    let recent = |filter: RunFilter, window: u64| {
        let store = Arc::clone(&store);
        async move {
            let found = store
                .count_recent_runs(filter, window)
                .await
                .expect("count");
            assert_eq!(found.window, window);
            (counts(found.counts), found.complete)
        }
    };
    let all = RunFilter::default();
    let exact = counts(store.count_runs(all.clone()).await.expect("count"));
    assert_eq!(recent(all.clone(), 100).await, (exact.clone(), true));
    assert_eq!(
        recent(all.clone(), 6).await,
        (exact, true),
        "six runs fit six"
    );
    assert_eq!(
        recent(all.clone(), 4).await,
        (vec![(RunStatus::Queued, 4)], false),
        "the newest four are queued; the failed one is older"
    );
    let text = RunFilter {
        text: Some("доставка".into()),
        ..all.clone()
    };
    let mut rare = recent(text, 4).await;
    rare.0.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        rare,
        (vec![(RunStatus::Failed, 1), (RunStatus::Queued, 2)], true),
        "a word of few events is counted in every run"
    );
    let kind = RunFilter {
        kind: Some("schedule.fired".into()),
        ..all.clone()
    };
    assert_eq!(
        recent(kind.clone(), 3).await,
        (vec![(RunStatus::Queued, 1)], false)
    );
    assert_eq!(
        recent(kind, 2).await,
        (Vec::new(), false),
        "event 3 is older"
    );
    assert_eq!(recent(all, 0).await, (Vec::new(), false));
}

/// A word found in more events than the index answers at once is counted among the newest runs
/// only, and there exactly.
pub async fn recent_counts_of_a_common_word_look_at_the_newest_runs(store: Arc<dyn Store>) {
    const EVENTS: usize = 3_000;
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(100) {
        let ingests = chunk.iter().map(|i| {
            let mut e = event(&format!("c{i}"), Some(1));
            let word = if i % 4 == 0 {
                "редко"
            } else {
                "часто"
            };
            e.payload = serde_json::json!({ "text": word }).to_string();
            store.ingest(e, vec![run("p", &format!("l{}", i % 7))])
        });
        for ingested in futures::future::join_all(ingests).await {
            ingested.expect("ingest");
        }
    }
    let often = RunFilter {
        text: Some("часто".into()),
        limit: 100,
        ..RunFilter::default()
    };
    let exact = store.count_runs(often.clone()).await.expect("count");
    assert_eq!(counts(exact), vec![(RunStatus::Queued, 2_250)]);
    let matching = store.list_runs(often.clone()).await.expect("list");
    let newest = RunFilter {
        limit: 100,
        ..RunFilter::default()
    };
    let newest = store.list_runs(newest).await.expect("list");
    let lowest = newest.last().expect("runs").run_id;
    let expected = matching.iter().filter(|r| r.run_id >= lowest).count() as u64;
    let found = store.count_recent_runs(often, 100).await.expect("count");
    assert!(!found.complete);
    assert_eq!(counts(found.counts), vec![(RunStatus::Queued, expected)]);
}
