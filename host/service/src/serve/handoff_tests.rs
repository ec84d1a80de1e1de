//! Tests of the [`Handoff`]: what a run takes equals what its stored payload decodes to, for
//! every kind of webhook intake stores; entries go when their runs took them, on a dedupe hit,
//! and past either bound.

use std::collections::BTreeSet;

use radist_connector::webhook::{Decoded, NormalizedEvent, decode};
use switchboard_runtime::event::{SourceType, WebhookContext};

use std::time::Duration;

use switchboard_runtime::{Runtime, RuntimeConfig};
use switchboard_store::{RunFilter, RunStatus, SqliteConfig, SqliteStore, Store};

use super::*;
use crate::serve::dispatcher::{Dispatcher, tests::hostile_on};
use crate::serve::intake::Intake;
use crate::serve::intake::tests::{intake_over, webhook};
use crate::serve::plugins::{PluginSet, SharedPlugins};
use crate::stored_event::StoredEvent;

const ROOMY: HandoffLimits = HandoffLimits {
    max_events: 100,
    max_bytes: 1 << 20,
};

/// Every golden Radist body of the connector's tests that decodes to an event.
fn golden_events() -> Vec<(String, NormalizedEvent)> {
    let dir = switchboard_testing::repo_root().join("connectors/radist/tests/webhooks");
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("golden webhooks") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let body = std::fs::read(&path).expect("body");
            if let Ok(Decoded::Event(event)) = decode(&body) {
                events.push((path.display().to_string(), event));
            }
        }
    }
    events
}

/// A stored manual event and its plugin event (a distinct payload per `n`).
fn payload(n: u32) -> (String, PluginEvent) {
    let stored = StoredEvent::Manual {
        payload: format!("{{\"n\":{n}}}"),
    };
    (stored.to_payload(), stored.plugin_event())
}

/// Keeps the event of `n` for `runs` runs.
fn keep(handoff: &Arc<Handoff>, n: u32, runs: usize) -> String {
    let (text, event) = payload(n);
    let kept = handoff.reserve(&text, event).expect("kept");
    kept.settle(runs);
    text
}

#[test]
fn a_taken_event_equals_what_its_stored_payload_decodes_to_for_every_webhook_kind() {
    let contexts = [
        WebhookContext::default(),
        WebhookContext {
            own_echo: true,
            source_type: Some(SourceType::Waba),
        },
        WebhookContext {
            own_echo: false,
            source_type: Some(SourceType::TelegramBot),
        },
    ];
    let mut kinds = BTreeSet::new();
    for (name, event) in golden_events() {
        kinds.insert(event.kind.as_str());
        for context in contexts {
            let handoff = Arc::new(Handoff::new(ROOMY));
            let stored = StoredEvent::webhook(event.clone(), context);
            let text = stored.to_payload();
            let kept = handoff.reserve(&text, stored.plugin_event());
            kept.expect("kept").settle(1);
            let taken = handoff.take(&text).expect("kept");
            let read = StoredEvent::from_payload(&text).expect("reads back");
            let expected = format!("{:?}", read.plugin_event());
            assert_eq!(format!("{taken:?}"), expected, "{name} with {context:?}");
        }
    }
    let all = [
        "message.received",
        "message.sent",
        "message.delivered",
        "message.read",
        "message.failed",
        "connection.status-changed",
    ];
    assert_eq!(kinds, BTreeSet::from(all), "every kind intake stores");
}

#[test]
fn an_entry_goes_once_every_run_it_was_kept_for_took_it() {
    let handoff = Arc::new(Handoff::new(ROOMY));
    let text = keep(&handoff, 1, 2);
    assert!(handoff.take(&text).is_some());
    assert!(handoff.take(&text).is_some());
    assert!(handoff.take(&text).is_none(), "a third run misses");
    assert_eq!(handoff.held(), (0, 0));
}

#[test]
fn runs_that_take_it_before_intake_settles_count() {
    let handoff = Arc::new(Handoff::new(ROOMY));
    let (text, event) = payload(1);
    let kept = handoff.reserve(&text, event).expect("kept");
    // The claim was in the same store batch as the ingest: its run takes it first.
    assert!(handoff.take(&text).is_some());
    kept.settle(1);
    assert_eq!(handoff.held(), (0, 0));
}

#[test]
fn a_reservation_dropped_unsettled_is_removed() {
    let handoff = Arc::new(Handoff::new(ROOMY));
    let (text, event) = payload(1);
    // The webhook's request was cancelled while the ingest was under way.
    drop(handoff.reserve(&text, event));
    assert_eq!(handoff.held(), (0, 0));
    assert!(handoff.take(&text).is_none());
}

#[test]
fn a_dedupe_hit_or_a_refused_ingest_leaves_nothing() {
    let handoff = Arc::new(Handoff::new(ROOMY));
    keep(&handoff, 1, 0);
    assert_eq!(handoff.held(), (0, 0));
    let text = keep(&handoff, 2, 1);
    // A redelivery while the first is in flight adds nothing and takes nothing away.
    let (again, event) = payload(2);
    assert_eq!(again, text);
    assert!(handoff.reserve(&again, event).is_none());
    assert_eq!(handoff.held().0, 1);
    assert!(handoff.take(&text).is_some());
}

#[test]
fn past_the_entry_bound_the_oldest_go_first() {
    let handoff = Arc::new(Handoff::new(HandoffLimits {
        max_events: 3,
        max_bytes: 1 << 20,
    }));
    let texts: Vec<String> = (0..5).map(|n| keep(&handoff, n, 1)).collect();
    assert_eq!(handoff.held().0, 3);
    let hits: Vec<bool> = texts.iter().map(|t| handoff.take(t).is_some()).collect();
    assert_eq!(hits, [false, false, true, true, true]);
    assert_eq!(handoff.held(), (0, 0));
}

#[test]
fn past_the_byte_bound_the_oldest_go_first_and_an_oversized_event_is_not_kept() {
    let one = cost(&payload(0).0);
    let handoff = Arc::new(Handoff::new(HandoffLimits {
        max_events: 100,
        max_bytes: one * 2,
    }));
    let texts: Vec<String> = (0..4).map(|n| keep(&handoff, n, 1)).collect();
    assert_eq!(handoff.held(), (2, one * 2));
    assert!(handoff.take(&texts[1]).is_none());
    assert!(handoff.take(&texts[3]).is_some());
    let small = Arc::new(Handoff::new(HandoffLimits {
        max_events: 100,
        max_bytes: one - 1,
    }));
    let (text, event) = payload(0);
    assert!(small.reserve(&text, event).is_none());
    let (text, event) = payload(0);
    let off = Arc::new(Handoff::new(HandoffLimits::OFF));
    assert!(off.reserve(&text, event).is_none());
}

#[test]
fn a_reservation_evicted_and_made_again_is_settled_only_by_its_own_holder() {
    let handoff = Arc::new(Handoff::new(HandoffLimits {
        max_events: 1,
        max_bytes: 1 << 20,
    }));
    let (text, event) = payload(1);
    let first = handoff.reserve(&text, event).expect("kept");
    keep(&handoff, 2, 1);
    let (_, event) = payload(1);
    let second = handoff
        .reserve(&text, event)
        .expect("evicted, so kept again");
    first.settle(0);
    assert_eq!(handoff.held().0, 1, "the stale reservation removed nothing");
    second.settle(1);
    assert!(handoff.take(&text).is_some());
}

/// Intake and the dispatcher of one process on a real SQLite file, with the hostile plugin
/// (built from source) subscribed to `message.received`.
struct OneProcess {
    store: Arc<dyn Store>,
    intake: Intake,
    plugins: SharedPlugins,
    handoff: Arc<Handoff>,
    _runtime: Runtime,
    _dir: tempfile::TempDir,
}

impl OneProcess {
    async fn new(limits: HandoffLimits) -> OneProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteConfig::new(dir.path().join("s.db"));
        let store = Arc::new(SqliteStore::open(db).await.expect("store"));
        let config = RuntimeConfig {
            max_concurrent_runs: 1,
            max_memory_mib: 16,
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::new(config).expect("runtime");
        let plugin = hostile_on(&runtime, dir.path(), r#"["message.received"]"#);
        let plugins = SharedPlugins::new(PluginSet::new(vec![plugin]));
        let handoff = Arc::new(Handoff::new(limits));
        let intake = intake_over(store.clone(), plugins.clone(), handoff.clone());
        OneProcess {
            store,
            intake,
            plugins,
            handoff,
            _runtime: runtime,
            _dir: dir,
        }
    }

    /// Runs the dispatcher until no run is left, then the status of every run.
    async fn dispatch_all(&self) -> Vec<RunStatus> {
        let dispatcher = Dispatcher {
            store: self.store.clone(),
            plugins: self.plugins.clone(),
            handoff: self.handoff.clone(),
            node: "test".to_owned(),
            max_concurrent: 1,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatching = tokio::spawn(dispatcher.run(stopped, Duration::from_secs(10)));
        let notify = self.store.work_notify();
        loop {
            let finished = notify.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let depth = self.store.queue_depth().await.expect("depth");
            if depth.running + depth.queued + depth.retrying == 0 {
                break;
            }
            finished.await;
        }
        stop.send(true).expect("stop");
        dispatching.await.expect("dispatcher");
        let all = RunFilter {
            limit: 10,
            ..RunFilter::default()
        };
        let runs = self.store.list_runs(all).await.expect("runs");
        runs.iter().map(|r| r.status).collect()
    }
}

/// Intake keeps the event for its one run, a redelivery adds nothing, and the run takes it
/// and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_keeps_the_event_for_its_run_and_the_dispatcher_takes_it() {
    let process = OneProcess::new(ROOMY).await;
    let first = process.intake.retry(&webhook()).await.expect("stored");
    assert_eq!((first.duplicate, first.runs), (false, 1));
    let kept = process.handoff.held();
    assert_eq!(kept.0, 1, "kept for its run");
    let again = process.intake.retry(&webhook()).await.expect("stored");
    assert!(again.duplicate);
    assert_eq!(process.handoff.held(), kept, "a redelivery adds nothing");
    assert_eq!(process.dispatch_all().await, [RunStatus::Succeeded]);
    assert_eq!(process.handoff.held(), (0, 0), "the run took it");
}

/// Past the entry bound the first webhook's event is evicted: its run reads the stored payload
/// and succeeds all the same; the second's run takes its kept event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_event_was_evicted_reads_its_stored_payload() {
    let one = HandoffLimits {
        max_events: 1,
        max_bytes: 1 << 20,
    };
    let process = OneProcess::new(one).await;
    let second = String::from_utf8(webhook()).expect("utf-8");
    let second = second.replace("0123456789ab", "0123456789ac");
    let second = second.replace("\"chat_id\":5", "\"chat_id\":6");
    for body in [webhook(), second.into_bytes()] {
        let stored = process.intake.retry(&body).await.expect("stored");
        assert_eq!((stored.duplicate, stored.runs), (false, 1));
    }
    assert_eq!(process.handoff.held().0, 1, "the first was evicted");
    let statuses = process.dispatch_all().await;
    assert_eq!(statuses, [RunStatus::Succeeded, RunStatus::Succeeded]);
    assert_eq!(process.handoff.held(), (0, 0), "the second's run took it");
}
