//! The [`Journal`]: the runtime's side of the two-phase action ledger. Before an effectful call
//! leaves the host its [`Intent`] is recorded ([`Journal::begin`]); after it, its result
//! ([`Journal::complete`]). A retried or replayed run is answered from what was recorded
//! ([`Prior`]): a completed action is not repeated, an intent without a result is reconciled
//! before anything is resent, and a different request at the same position fails the run as
//! non-deterministic. [`InMemoryJournal`] serves the CLI and tests; the service plugs in its
//! durable SQLite ledger.
//!
//! Everything handed to a journal is already compact (see `compact.rs`): summaries are bounded
//! and bytes are base64 with a cap, so an implementation can store values as they come.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::Notify;

use crate::digest::DigestKey;

/// Identifies one action of one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JournalKey {
    /// The run's stable key (its run id; the same across retries of the run).
    pub run_key: String,
    /// The action's sequence number within the run, from 1.
    pub seq: u32,
    /// Keyed digest of the canonical request (secrets included before hashing, never stored).
    pub fingerprint: String,
}

/// What is recorded before an effectful call leaves the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub key: JournalKey,
    /// `<interface>.<function>`, e.g. `messages.send`.
    pub kind: String,
    /// The request, secrets redacted, strings and lists cut (the action record's `request`).
    pub summary: Value,
    /// (connection id, chat id) when the action targets a known chat (sends), for read-back.
    pub chat: Option<(i64, i64)>,
    /// When the intent was recorded.
    pub at: DateTime<Utc>,
}

/// What the journal knew about an action when [`Journal::begin`] was called.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// Nothing was recorded at this (run, seq): the intent is recorded now.
    Fresh,
    /// An earlier attempt completed it: answer from `result`, do not repeat it.
    Completed {
        result: Value,
        /// Radist message id (sends), chat id (chats), file url (uploads); `None` otherwise.
        effect_id: Option<String>,
    },
    /// An earlier attempt recorded the intent but no result (crash, timeout, ambiguous 5xx):
    /// the action may or may not have happened. Reconcile before repeating it.
    Pending { intent_at: DateTime<Utc> },
    /// A different action was recorded at this (run, seq): the plugin is not deterministic.
    Mismatch {
        /// Kind of the recorded action.
        recorded_kind: String,
    },
}

/// A journal write that need not be durable at once: the result of an action, with its intent
/// when that was not recorded before the action ran (see [`ActionRecorder`]'s rules). It rides
/// with the run's next durable intent ([`Journal::begin_after`]) or, when the journal
/// [`defers`](Journal::defers), with the run's end ([`RunOutcome::ledger`]).
///
/// [`ActionRecorder`]: crate::recorder::ActionRecorder
/// [`RunOutcome::ledger`]: crate::RunOutcome::ledger
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub key: JournalKey,
    /// The intent, for an action whose intent was not recorded ([`Journal::lookup`] found
    /// nothing): written whole unless (run key, seq) became known meanwhile.
    pub intent: Option<Intent>,
    pub result: Value,
    /// What the action created (see [`Prior::Completed`]).
    pub effect_id: Option<String>,
}

/// The journal could not be read or written; the run traps rather than risk a duplicate.
#[derive(Debug, thiserror::Error)]
#[error("action journal: {0}")]
pub struct JournalError(pub String);

/// The action ledger as the runtime uses it. Implementations keep (run key, seq) unique.
#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    /// Records `intent` durably unless (run key, seq) is already known, and says what was known.
    /// Must be durable before it returns [`Prior::Fresh`]: the request leaves right after.
    async fn begin(&self, intent: &Intent) -> Result<Prior, JournalError>;
    /// Records `earlier` (the run's completions not yet written), then [`begin`](Self::begin)s
    /// `intent`: in one durable write when the journal can, so what the run learned before this
    /// effect is durable before the effect.
    async fn begin_after(
        &self,
        earlier: &[Completion],
        intent: &Intent,
    ) -> Result<Prior, JournalError> {
        if !earlier.is_empty() {
            self.record(earlier.to_vec()).await?;
        }
        self.begin(intent).await
    }
    /// What [`begin`](Self::begin) would answer, recording nothing ([`Prior::Fresh`] when
    /// nothing is known): for an action whose intent need not be durable before it runs.
    async fn lookup(&self, intent: &Intent) -> Result<Prior, JournalError>;
    /// Records the result of an action begun with the same key. `effect_id` names what it
    /// created (see [`Prior::Completed`]).
    async fn complete(
        &self,
        key: &JournalKey,
        result: &Value,
        effect_id: Option<&str>,
    ) -> Result<(), JournalError> {
        let completion = Completion {
            key: key.clone(),
            intent: None,
            result: result.clone(),
            effect_id: effect_id.map(str::to_owned),
        };
        self.record(vec![completion]).await
    }
    /// Writes completions now.
    async fn record(&self, completions: Vec<Completion>) -> Result<(), JournalError>;
    /// Whether the journal's owner writes a run's last completions with the run's end (from
    /// [`RunOutcome::ledger`](crate::RunOutcome::ledger)), so the recorder holds them until
    /// then. When false, each completion is written as it happens.
    fn defers(&self) -> bool {
        false
    }
    /// Records how a [`Prior::Pending`] action was reconciled, e.g.
    /// `delivered: found message <id> in the chat`.
    async fn decide(&self, key: &JournalKey, decision: &str) -> Result<(), JournalError>;
    /// The run is final (will not be retried): its entries may be dropped. A durable ledger
    /// that keeps history may do nothing.
    async fn release(&self, run_key: &str) -> Result<(), JournalError>;
    /// True when an action of any run already names `effect_id` (e.g. a Radist message id) as
    /// what it created. Read-back reconciliation skips such messages, so a run never takes
    /// another run's identical reply in the same chat for its own.
    async fn effect_claimed(&self, effect_id: &str) -> Result<bool, JournalError>;
}

/// One action as [`InMemoryJournal`] holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub intent: Intent,
    /// The result, once completed.
    pub result: Option<Value>,
    pub effect_id: Option<String>,
    /// Reconciliation decisions, oldest first.
    pub decisions: Vec<String>,
}

/// A process-local journal: replays within one process lifetime. Runs are kept until
/// [`Journal::release`]d; past [`InMemoryJournal::MAX_RUNS`] runs the oldest is dropped, so a
/// long-lived process without a durable ledger stays bounded.
#[derive(Debug, Default)]
pub struct InMemoryJournal {
    state: Mutex<Runs>,
    completed: Notify,
    /// See [`Journal::defers`]; off unless made with [`InMemoryJournal::deferring`].
    defers: bool,
}

#[derive(Debug, Default)]
struct Runs {
    /// Entries by run key, then seq.
    runs: HashMap<String, BTreeMap<u32, JournalEntry>>,
    /// Run keys, oldest first, for the bound.
    order: std::collections::VecDeque<String>,
}

impl InMemoryJournal {
    /// Runs kept before the oldest is dropped.
    pub const MAX_RUNS: usize = 10_000;

    /// A journal that [`defers`](Journal::defers): its owner records each run's
    /// [`RunOutcome::ledger`](crate::RunOutcome::ledger), as the service does with `finish`.
    pub fn deferring() -> Self {
        InMemoryJournal {
            defers: true,
            ..InMemoryJournal::default()
        }
    }

    /// A copy of the entry at (run key, seq), if any.
    pub fn entry(&self, run_key: &str, seq: u32) -> Option<JournalEntry> {
        let state = self.lock();
        state.runs.get(run_key)?.get(&seq).cloned()
    }

    /// Waits until the entry at (run key, seq) has a result (e.g. a send that outlived its
    /// run's timeout), and returns it.
    pub async fn settled(&self, run_key: &str, seq: u32) -> JournalEntry {
        loop {
            let notified = self.completed.notified();
            if let Some(entry) = self.entry(run_key, seq).filter(|e| e.result.is_some()) {
                return entry;
            }
            notified.await;
        }
    }

    /// How many runs are held.
    pub fn runs(&self) -> usize {
        self.lock().runs.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, key: &JournalKey, f: impl FnOnce(&mut JournalEntry)) {
        let mut state = self.lock();
        let found = state
            .runs
            .get_mut(&key.run_key)
            .and_then(|r| r.get_mut(&key.seq));
        match found.filter(|e| e.intent.key.fingerprint == key.fingerprint) {
            Some(entry) => f(entry),
            None => {
                tracing::warn!(run = %key.run_key, seq = key.seq, "journal update without its intent")
            }
        }
    }
}

impl Runs {
    fn insert(&mut self, intent: &Intent) {
        let key = &intent.key;
        if !self.runs.contains_key(&key.run_key) {
            if self.order.len() >= InMemoryJournal::MAX_RUNS
                && let Some(oldest) = self.order.pop_front()
            {
                self.runs.remove(&oldest);
            }
            self.order.push_back(key.run_key.clone());
        }
        let entry = JournalEntry {
            intent: intent.clone(),
            result: None,
            effect_id: None,
            decisions: Vec::new(),
        };
        self.runs
            .entry(key.run_key.clone())
            .or_default()
            .insert(key.seq, entry);
    }
}

/// What an earlier entry at the same (run, seq) means for `intent`.
fn prior_of(entry: &JournalEntry, intent: &Intent) -> Prior {
    if entry.intent.key.fingerprint != intent.key.fingerprint {
        return Prior::Mismatch {
            recorded_kind: entry.intent.kind.clone(),
        };
    }
    match &entry.result {
        Some(result) => Prior::Completed {
            result: result.clone(),
            effect_id: entry.effect_id.clone(),
        },
        None => Prior::Pending {
            intent_at: entry.intent.at,
        },
    }
}

#[async_trait::async_trait]
impl Journal for InMemoryJournal {
    async fn begin(&self, intent: &Intent) -> Result<Prior, JournalError> {
        let mut state = self.lock();
        let key = &intent.key;
        let known = state.runs.get(&key.run_key).and_then(|r| r.get(&key.seq));
        if let Some(entry) = known {
            return Ok(prior_of(entry, intent));
        }
        state.insert(intent);
        Ok(Prior::Fresh)
    }

    async fn lookup(&self, intent: &Intent) -> Result<Prior, JournalError> {
        let state = self.lock();
        let key = &intent.key;
        let known = state.runs.get(&key.run_key).and_then(|r| r.get(&key.seq));
        Ok(known.map_or(Prior::Fresh, |entry| prior_of(entry, intent)))
    }

    async fn record(&self, completions: Vec<Completion>) -> Result<(), JournalError> {
        for c in completions {
            if let Some(intent) = &c.intent {
                let mut state = self.lock();
                let runs = state.runs.get(&c.key.run_key);
                if runs.is_some_and(|r| r.contains_key(&c.key.seq)) {
                    continue;
                }
                state.insert(intent);
            }
            self.update(&c.key, |entry| {
                entry.result = Some(c.result);
                entry.effect_id = c.effect_id;
            });
        }
        self.completed.notify_waiters();
        Ok(())
    }

    fn defers(&self) -> bool {
        self.defers
    }

    async fn decide(&self, key: &JournalKey, decision: &str) -> Result<(), JournalError> {
        self.update(key, |entry| entry.decisions.push(decision.to_owned()));
        Ok(())
    }

    async fn release(&self, run_key: &str) -> Result<(), JournalError> {
        let mut state = self.lock();
        state.runs.remove(run_key);
        state.order.retain(|k| k != run_key);
        Ok(())
    }

    async fn effect_claimed(&self, effect_id: &str) -> Result<bool, JournalError> {
        let state = self.lock();
        let claimed = state
            .runs
            .values()
            .flat_map(BTreeMap::values)
            .any(|entry| entry.effect_id.as_deref() == Some(effect_id));
        Ok(claimed)
    }
}

/// The request's fingerprint: a keyed digest of `value` with object keys sorted, so equal
/// requests fingerprint equally and a low-entropy secret in one cannot be confirmed offline.
pub(crate) fn fingerprint(key: &DigestKey, kind: &str, value: &Value) -> String {
    key.fingerprint(kind, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn intent(run: &str, seq: u32, fingerprint: &str) -> Intent {
        Intent {
            key: JournalKey {
                run_key: run.into(),
                seq,
                fingerprint: fingerprint.into(),
            },
            kind: "messages.send".into(),
            summary: json!({}),
            chat: Some((1, 2)),
            at: Utc::now(),
        }
    }

    #[test]
    fn fingerprint_ignores_key_order() {
        let key = DigestKey::ephemeral();
        let a = fingerprint(&key, "k", &json!({"a": 1, "b": [1, {"y": 2, "x": 3}]}));
        let b = fingerprint(&key, "k", &json!({"b": [1, {"x": 3, "y": 2}], "a": 1}));
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&key, "other", &json!({"a": 1})));
    }

    #[tokio::test]
    async fn begin_says_fresh_pending_completed_or_mismatch() {
        let journal = InMemoryJournal::default();
        let first = intent("r", 1, "f");
        assert_eq!(journal.begin(&first).await.expect("ok"), Prior::Fresh);
        let again = intent("r", 1, "f");
        assert_eq!(
            journal.begin(&again).await.expect("ok"),
            Prior::Pending {
                intent_at: first.at
            },
            "the first intent's time is kept"
        );
        journal
            .complete(&first.key, &json!(7), Some("m1"))
            .await
            .expect("ok");
        let completed = Prior::Completed {
            result: json!(7),
            effect_id: Some("m1".into()),
        };
        assert_eq!(journal.begin(&again).await.expect("ok"), completed);
        let other = Prior::Mismatch {
            recorded_kind: "messages.send".into(),
        };
        assert_eq!(
            journal.begin(&intent("r", 1, "g")).await.expect("ok"),
            other
        );
    }

    #[tokio::test]
    async fn decisions_are_kept_and_release_drops_the_run() {
        let journal = InMemoryJournal::default();
        let first = intent("r", 1, "f");
        journal.begin(&first).await.expect("ok");
        journal.begin(&intent("other", 1, "f")).await.expect("ok");
        journal
            .decide(&first.key, "not found in the chat: sent again")
            .await
            .expect("ok");
        let entry = journal.entry("r", 1).expect("entry");
        assert_eq!(entry.decisions, ["not found in the chat: sent again"]);
        journal.release("r").await.expect("ok");
        assert_eq!(journal.entry("r", 1), None);
        assert_eq!(journal.runs(), 1);
        assert_eq!(journal.begin(&first).await.expect("ok"), Prior::Fresh);
    }

    #[tokio::test]
    async fn settled_waits_for_a_result() {
        let journal = std::sync::Arc::new(InMemoryJournal::default());
        let first = intent("r", 1, "f");
        journal.begin(&first).await.expect("ok");
        let waiter = {
            let journal = std::sync::Arc::clone(&journal);
            tokio::spawn(async move { journal.settled("r", 1).await })
        };
        journal
            .complete(&first.key, &json!({"id": 1}), None)
            .await
            .expect("ok");
        let entry = waiter.await.expect("joined");
        assert_eq!(entry.result, Some(json!({"id": 1})));
    }
}
