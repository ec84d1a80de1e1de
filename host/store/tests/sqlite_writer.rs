//! The SQLite writer keeps its counters (event ids, run ids, lane positions) in memory between
//! batches and reads them again only when another connection committed (`PRAGMA
//! data_version`): two stores writing one file by turns still hand out distinct ids in order.

use switchboard_store::conformance::{event, run, run_all, sqlite_in};
use switchboard_store::prelude::*;

#[tokio::test]
async fn writers_taking_turns_on_one_file_never_reuse_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (service, cli) = (sqlite_in(&dir).await, sqlite_in(&dir).await);
    let mut runs = Vec::new();
    let mut events = Vec::new();
    for i in 0..6 {
        // The service writes twice in a row, then the CLI once: the service's second write must
        // notice the CLI's commit before it hands out the next ids.
        let store = if i % 3 == 2 { &cli } else { &service };
        let done = store
            .ingest(event(&format!("turn-{i}"), Some(1)), vec![run("p", "lane")])
            .await
            .expect("ingest");
        events.push(done.event_id);
        runs.extend(done.run_ids);
    }
    let mut sorted = runs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted, runs,
        "run ids are distinct and grow in commit order"
    );
    let mut sorted = events.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted, events,
        "event ids are distinct and grow in commit order"
    );
    let order = run_all(&service).await;
    assert_eq!(order, runs, "the lane runs in commit order");
}
