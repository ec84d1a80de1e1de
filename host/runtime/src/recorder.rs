//! The [`ActionRecorder`]: the one place every host call of a run is recorded — kind, sequence
//! number, redacted and compact request summary, outcome, latency — and where effectful calls
//! go through the two-phase [`Journal`]: the intent before the call leaves, the result after.
//!
//! A call is recorded when it begins, as [`ActionOutcome::InFlight`], and updated when it
//! finishes; a call cut off by the run's timeout therefore stays in the run's actions as in
//! flight instead of vanishing (its journal entry is completed by the task that outlived the run).
//!
//! Only what must be durable before the call leaves is written at once:
//! - The intent of an effect outside the host that is not safe to repeat (a send, a note, a new
//!   contact, an HTTP request that changes something) and of a kv write (so a read-modify-write
//!   that a retry would do differently traps as non-deterministic instead of applying twice):
//!   [`intent`](ActionRecorder::intent). The run's completions not yet written ride with it
//!   ([`Journal::begin_after`]), so everything the run learned before the effect is durable
//!   with it and a retry asks for the same effect.
//! - Everything else is written after the call, as a [`Completion`]. When the journal
//!   [`defers`](Journal::defers), completions are held until the run's next durable intent or
//!   its end (the service writes those in the run's `finish`, see
//!   [`RunOutcome::ledger`](crate::RunOutcome::ledger)): every
//!   result, and the whole record of a local action or one that is safe to repeat (the clock,
//!   tags, chats, uploads, inbox, contact updates: [`intent_local`](ActionRecorder::intent_local),
//!   a read). A crash before they are written loses what a retry copes with anyway: a send's
//!   lost result leaves its intent pending, which the retry reconciles; a lost whole record is
//!   an action the retry does again.
//! - A completion that arrives after the run ended (a call that outlived the run's timeout) is
//!   written at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::compact::compact;
use crate::digest::DigestKey;
use crate::journal::{Completion, Intent, Journal, JournalError, JournalKey, Prior, fingerprint};
use crate::outcome::{ActionError, Reconciliation, RetryClass};
use crate::redact::Redactor;

/// One host call made by a run. Serialised (e.g. by `switchboard run --json`) with exactly these
/// field names; fields are only ever added.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionRecord {
    /// Position in the run, from 1.
    pub seq: u32,
    /// `<interface>.<function>`, e.g. `messages.send`.
    pub kind: String,
    /// The request, secrets redacted, strings and lists cut (sizes in `compact.rs`).
    pub request: Value,
    pub outcome: ActionOutcome,
    /// Microseconds; for an action still in flight, until the run ended.
    #[serde(with = "duration_micros")]
    pub latency: Duration,
    /// Answered with synthetic data because the run was a dry run.
    pub dry_run: bool,
    /// Answered from the journal: completed (or found delivered) in an earlier attempt.
    pub replayed: bool,
    /// Keyed digest of the canonical request, for the action ledger.
    pub fingerprint: String,
    /// Answered from the upload-link cache: the same file was uploaded before, not again.
    pub reused: bool,
    /// What the action created: Radist message id (sends), chat id (chats), url (uploads);
    /// `null` otherwise.
    pub effect_id: Option<String>,
    /// How an action an earlier attempt left without a result was reconciled, e.g.
    /// `delivered: found message <id> in the chat`; `null` when there was nothing to reconcile.
    pub decision: Option<String>,
    /// The decision's kind, for counting (`delivered`, `not_found` or `unknown`); `null` when
    /// there was nothing to reconcile.
    pub reconciled: Option<Reconciliation>,
}

/// How a host call ended. Serialised as `{"status": "ok" | "error" | "denied" | "in_flight",
/// "detail": …}` (`in_flight` has no detail); an error adds `"retry": "permanent" | "transient" |
/// "budget"` and, when it asks for a wait, `"retry_after_ms"`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ActionOutcome {
    /// Succeeded; a short summary of the result.
    Ok(Value),
    /// Failed with the error the guest was given (or a host error), and its retry class.
    Error(ActionError),
    /// Refused by the manifest's grants or scopes.
    Denied(String),
    /// Still running when the run ended (its timeout fired): the request may have reached its
    /// target; the journal gets its result when it returns.
    InFlight,
}

/// An action between `begin` and `finish`.
pub(crate) struct Pending {
    index: usize,
    seq: u32,
    kind: &'static str,
    key: JournalKey,
    started: Instant,
    effect_id: Option<String>,
    decision: Option<(Reconciliation, String)>,
    reused: bool,
    /// The intent, when it was not recorded before the call: written whole with the result.
    unrecorded: Option<Intent>,
    /// The result is written as soon as it comes, never held (see [`Pending::write_at_once`]).
    at_once: bool,
    /// The action's tracing span, a child of the run's span; it closes when the action does.
    span: tracing::Span,
}

impl Pending {
    /// The action's sequence number within the run, from 1.
    pub(crate) fn seq(&self) -> u32 {
        self.seq
    }

    /// Writes this action's result as soon as it comes instead of holding it: for an effect a
    /// retry cannot reconcile (an HTTP request; a send under a policy that does not read back),
    /// where a result lost in a crash would turn a success into a failure or a duplicate.
    pub(crate) fn write_at_once(&mut self) {
        self.at_once = true;
    }

    /// Marks the action as answered from the upload-link cache.
    pub(crate) fn set_reused(&mut self) {
        self.reused = true;
    }
}

/// Records the result of one begun action; `Send + 'static`, so the task that performs an
/// effectful call owns it and completes the journal even after the run was dropped.
pub(crate) struct Completer {
    journal: Option<Arc<dyn Journal>>,
    held: Held,
    held_effects: Arc<HeldEffects>,
    key: JournalKey,
    unrecorded: Option<Intent>,
}

/// The effect ids (sent message ids) in completions the runtime's live runs hold, shared by
/// every plugin of a runtime: a read-back counts them as claimed, as it counts those in the
/// ledger, so one run never takes another's message whose result is not written yet for its own.
#[derive(Debug, Default)]
pub(crate) struct HeldEffects(Mutex<HashMap<String, usize>>);

impl HeldEffects {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hold(&self, id: &str) {
        *self.lock().entry(id.to_owned()).or_default() += 1;
    }

    /// Forgets the effect ids of `completions` (handed on or written).
    fn release(&self, completions: &[Completion]) {
        let mut held = self.lock();
        for id in completions.iter().filter_map(|c| c.effect_id.as_deref()) {
            if let Some(n) = held.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    held.remove(id);
                }
            }
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }
}

/// A run's completions not yet written: `Some` while the run may still hand them on, `None`
/// after it ended (later completions are written at once) or when the journal does not defer.
type Held = Arc<Mutex<Option<Vec<Completion>>>>;

impl Completer {
    /// Records `result` (no-op in dry runs): held with the run's other completions while the
    /// run is live, written at once after it ended.
    pub(crate) async fn complete(
        &self,
        result: &Value,
        effect_id: Option<&str>,
    ) -> Result<(), JournalError> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        let completion = Completion {
            key: self.key.clone(),
            intent: self.unrecorded.clone(),
            result: result.clone(),
            effect_id: effect_id.map(str::to_owned),
        };
        let late = {
            let mut held = lock(&self.held);
            match held.as_mut() {
                Some(held) => {
                    if let Some(id) = &completion.effect_id {
                        self.held_effects.hold(id);
                    }
                    held.push(completion);
                    None
                }
                None => Some(completion),
            }
        };
        match late {
            Some(completion) => journal.record(vec![completion]).await,
            None => Ok(()),
        }
    }
}

fn lock(held: &Held) -> std::sync::MutexGuard<'_, Option<Vec<Completion>>> {
    held.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records the host calls of one run.
pub(crate) struct ActionRecorder {
    run_key: String,
    journal: Arc<dyn Journal>,
    redactor: Redactor,
    dry_run: bool,
    next_seq: u32,
    records: Vec<ActionRecord>,
    starts: Vec<Instant>,
    /// Keys the request fingerprints (see `digest.rs`).
    digest: DigestKey,
    /// Completions not yet written (see the module's rules).
    held: Held,
    /// The effect ids every live run of the runtime holds.
    held_effects: Arc<HeldEffects>,
}

impl ActionRecorder {
    pub(crate) fn new(
        run_key: String,
        journal: Arc<dyn Journal>,
        redactor: Redactor,
        dry_run: bool,
    ) -> Self {
        let journal_defers = journal.defers();
        ActionRecorder {
            run_key,
            journal,
            redactor,
            dry_run,
            next_seq: 1,
            records: Vec::new(),
            starts: Vec::new(),
            digest: DigestKey::process(),
            held: Arc::new(Mutex::new((journal_defers && !dry_run).then(Vec::new))),
            held_effects: Arc::default(),
        }
    }

    /// Shares the runtime's [`HeldEffects`] (each recorder has its own otherwise).
    pub(crate) fn with_held_effects(mut self, held_effects: Arc<HeldEffects>) -> Self {
        self.held_effects = held_effects;
        self
    }

    /// Fingerprints requests with the installation's history key instead of the process key.
    pub(crate) fn with_digest(mut self, digest: DigestKey) -> Self {
        self.digest = digest;
        self
    }

    /// Records a call as in flight; `request` is the full request (fingerprinted before
    /// redaction, then redacted and compacted for the record).
    pub(crate) fn begin(&mut self, kind: &'static str, request: Value) -> Pending {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = JournalKey {
            run_key: self.run_key.clone(),
            seq,
            fingerprint: fingerprint(&self.digest, kind, &request),
        };
        let started = Instant::now();
        self.records.push(ActionRecord {
            seq,
            kind: kind.to_owned(),
            request: compact(self.redactor.redact_json(request)),
            outcome: ActionOutcome::InFlight,
            latency: Duration::ZERO,
            dry_run: self.dry_run,
            replayed: false,
            fingerprint: key.fingerprint.clone(),
            reused: false,
            effect_id: None,
            decision: None,
            reconciled: None,
        });
        self.starts.push(started);
        Pending {
            index: self.records.len() - 1,
            seq,
            kind,
            key,
            started,
            effect_id: None,
            decision: None,
            reused: false,
            unrecorded: None,
            at_once: false,
            span: tracing::info_span!(
                "action",
                seq,
                kind,
                outcome = tracing::field::Empty,
                replayed = tracing::field::Empty
            ),
        }
    }

    /// Records the intent of an effectful call in the journal and says what an earlier attempt
    /// left there. Dry runs never touch the journal ([`Prior::Fresh`]). A different action at
    /// this position traps the run: it is not deterministic, and retrying cannot fix that.
    pub(crate) async fn intent(
        &mut self,
        pending: &mut Pending,
        chat: Option<(i64, i64)>,
    ) -> wasmtime::Result<Prior> {
        let Some(intent) = self.intent_of(pending, chat) else {
            return Ok(Prior::Fresh);
        };
        let earlier = lock(&self.held)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let begun = self.journal.begin_after(&earlier, &intent).await;
        let prior = match begun {
            Ok(prior) => prior,
            Err(e) => {
                // Still held: they go with the run's end, like the rest.
                if let Some(held) = lock(&self.held).as_mut() {
                    held.splice(0..0, earlier);
                }
                return Err(e.into());
            }
        };
        self.answer(pending, prior)
    }

    /// [`intent`](Self::intent) for an action whose intent need not be durable before it runs
    /// (local, or safe to repeat): what an earlier attempt recorded, recording nothing now. On
    /// [`Prior::Fresh`] the intent is written whole with the action's result.
    pub(crate) async fn intent_local(
        &mut self,
        pending: &mut Pending,
        chat: Option<(i64, i64)>,
    ) -> wasmtime::Result<Prior> {
        let Some(intent) = self.intent_of(pending, chat) else {
            return Ok(Prior::Fresh);
        };
        let prior = self.journal.lookup(&intent).await?;
        if prior == Prior::Fresh {
            pending.unrecorded = Some(intent);
        }
        self.answer(pending, prior)
    }

    /// The action's intent; `None` in a dry run, which never touches the journal.
    fn intent_of(&self, pending: &Pending, chat: Option<(i64, i64)>) -> Option<Intent> {
        (!self.dry_run).then(|| Intent {
            key: pending.key.clone(),
            kind: pending.kind.to_owned(),
            summary: self.records[pending.index].request.clone(),
            chat,
            at: chrono::Utc::now(),
        })
    }

    /// Traps on a [`Prior::Mismatch`]; notes a completed action's effect.
    fn answer(&mut self, pending: &mut Pending, prior: Prior) -> wasmtime::Result<Prior> {
        match &prior {
            Prior::Mismatch { recorded_kind } => {
                let message = mismatch_message(pending, recorded_kind);
                if let Some(record) = self.records.get_mut(pending.index) {
                    record.outcome = ActionOutcome::Error(ActionError {
                        message: message.clone(),
                        retry: RetryClass::Permanent,
                    });
                    record.latency = pending.started.elapsed();
                }
                return Err(wasmtime::Error::msg(message));
            }
            Prior::Completed { effect_id, .. } => pending.effect_id.clone_from(effect_id),
            Prior::Fresh | Prior::Pending { .. } => {}
        }
        Ok(prior)
    }

    /// [`intent`](Self::intent) for an action that is safe to repeat: the result an earlier
    /// attempt completed, else `None`; a pending one is recorded as unknown with `repeat` (why
    /// doing it again is safe), and the caller does it again.
    pub(crate) async fn intent_repeatable(
        &mut self,
        pending: &mut Pending,
        chat: Option<(i64, i64)>,
        repeat: &str,
    ) -> wasmtime::Result<Option<Value>> {
        match self.intent_local(pending, chat).await? {
            Prior::Completed { result, .. } => Ok(Some(result)),
            Prior::Pending { .. } => {
                self.decide_unknown(pending, repeat).await?;
                Ok(None)
            }
            Prior::Fresh | Prior::Mismatch { .. } => Ok(None),
        }
    }

    /// What completes this action's journal entry (from a spawned task or in place).
    pub(crate) fn completer(&self, pending: &Pending) -> Completer {
        Completer {
            journal: (!self.dry_run).then(|| Arc::clone(&self.journal)),
            held: if pending.at_once {
                Arc::new(Mutex::new(None))
            } else {
                Arc::clone(&self.held)
            },
            held_effects: Arc::clone(&self.held_effects),
            key: pending.key.clone(),
            unrecorded: pending.unrecorded.clone(),
        }
    }

    /// Records the result in place (for calls that need no spawned task, e.g. kv writes).
    pub(crate) async fn complete(
        &self,
        pending: &mut Pending,
        result: &Value,
        effect_id: Option<&str>,
    ) -> wasmtime::Result<()> {
        pending.effect_id = effect_id.map(str::to_owned);
        Ok(self.completer(pending).complete(result, effect_id).await?)
    }

    /// Notes what an effectful call created, for the record.
    pub(crate) fn effect(&self, pending: &mut Pending, effect_id: &str) {
        pending.effect_id = Some(effect_id.to_owned());
    }

    /// Records how a pending action was reconciled (its kind and the decision's text), in the
    /// journal and on the record.
    pub(crate) async fn decide(
        &self,
        pending: &mut Pending,
        kind: Reconciliation,
        decision: String,
    ) -> wasmtime::Result<()> {
        if !self.dry_run {
            self.journal.decide(&pending.key, &decision).await?;
        }
        pending.decision = Some((kind, decision));
        Ok(())
    }

    /// Records that an earlier attempt's outcome is unknown, and what this attempt does about it.
    pub(crate) async fn decide_unknown(
        &self,
        pending: &mut Pending,
        decision: &str,
    ) -> wasmtime::Result<()> {
        let kind = Reconciliation::Unknown;
        self.decide(pending, kind, decision.to_owned()).await
    }

    /// Records what a search for an earlier attempt's effect found, and answers it: `found`
    /// (delivered; `delivered` says what was found) or nothing (`missing` says that the action is
    /// done now).
    pub(crate) async fn decide_found<T>(
        &self,
        pending: &mut Pending,
        found: Option<T>,
        delivered: impl FnOnce(&T) -> String,
        missing: &str,
    ) -> wasmtime::Result<Option<T>> {
        let (kind, decision) = match &found {
            Some(effect) => (Reconciliation::Delivered, delivered(effect)),
            None => (Reconciliation::NotFound, missing.to_owned()),
        };
        self.decide(pending, kind, decision).await?;
        Ok(found)
    }

    /// Closes the record of a call.
    pub(crate) fn finish(&mut self, pending: Pending, outcome: ActionOutcome, replayed: bool) {
        let outcome = match outcome {
            ActionOutcome::Ok(v) => ActionOutcome::Ok(compact(self.redactor.redact_json(v))),
            ActionOutcome::Error(e) => ActionOutcome::Error(ActionError {
                message: self.redacted_line(&e.message),
                retry: e.retry,
            }),
            ActionOutcome::Denied(e) => ActionOutcome::Denied(self.redacted_line(&e)),
            ActionOutcome::InFlight => ActionOutcome::InFlight,
        };
        let Some(record) = self.records.get_mut(pending.index) else {
            return;
        };
        let status = match &outcome {
            ActionOutcome::Ok(_) => "ok",
            ActionOutcome::Error(_) => "error",
            ActionOutcome::Denied(_) => "denied",
            ActionOutcome::InFlight => "in-flight",
        };
        pending.span.record("outcome", status);
        pending.span.record("replayed", replayed);
        let latency_us = u64::try_from(pending.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        pending
            .span
            .in_scope(|| tracing::debug!(latency_us, "action finished"));
        record.outcome = outcome;
        record.latency = pending.started.elapsed();
        record.replayed = replayed;
        record.reused = pending.reused;
        record.effect_id = pending.effect_id;
        if let Some((kind, text)) = pending.decision {
            record.reconciled = Some(kind);
            record.decision = Some(text);
        }
    }

    /// Effect ids of this run's actions so far (e.g. message ids already accounted for).
    pub(crate) fn effect_ids(&self) -> impl Iterator<Item = &str> {
        self.records.iter().filter_map(|r| r.effect_id.as_deref())
    }

    /// Whether an action of any run (this one included) already created `effect_id`.
    pub(crate) async fn effect_claimed(&self, effect_id: &str) -> Result<bool, JournalError> {
        if self.effect_ids().any(|id| id == effect_id) || self.held_effects.contains(effect_id) {
            return Ok(true);
        }
        self.journal.effect_claimed(effect_id).await
    }

    /// The run's stable key (its run id).
    pub(crate) fn run_key(&self) -> &str {
        &self.run_key
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Ends the run's holding of completions and returns those held, for the journal's owner to
    /// write with the run's end; later ones are written as they come.
    pub(crate) fn take_completions(&self) -> Vec<Completion> {
        let held = lock(&self.held).take().unwrap_or_default();
        self.held_effects.release(&held);
        held
    }

    /// Writes the completions still held and ends the holding: for a run whose end will not
    /// hand them on (the host panicked; the recorder is dropped).
    fn write_held(&self) {
        let held = self.take_completions();
        if held.is_empty() {
            return;
        }
        let journal = Arc::clone(&self.journal);
        let write = async move {
            if let Err(e) = journal.record(held).await {
                tracing::error!(error = %e, "the run's last journal completions were not written");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn(write)),
            Err(_) => tracing::error!(
                "the run's last journal completions were not written: no runtime to write them on"
            ),
        }
    }

    /// Every call in order; those still in flight get their latency up to now.
    pub(crate) fn into_records(mut self) -> Vec<ActionRecord> {
        let mut records = std::mem::take(&mut self.records);
        for (record, started) in records.iter_mut().zip(std::mem::take(&mut self.starts)) {
            if record.outcome == ActionOutcome::InFlight {
                record.latency = started.elapsed();
            }
        }
        records
    }

    fn redacted_line(&self, text: &str) -> String {
        self.redactor
            .redact_then_cut(text, crate::compact::MAX_SUMMARY_STRING)
    }
}

/// A recorder dropped before the run's end took its completions (the host panicked mid-run)
/// writes them, and the calls still in flight write theirs as they finish.
impl Drop for ActionRecorder {
    fn drop(&mut self) {
        self.write_held();
    }
}

/// Says which action differed from the one an earlier attempt recorded.
fn mismatch_message(pending: &Pending, recorded_kind: &str) -> String {
    let (seq, kind) = (pending.seq, pending.kind);
    if recorded_kind == kind {
        format!(
            "non-deterministic run: action #{seq} ({kind}) has a different request than in an earlier attempt of this run; make the plugin's host calls depend only on the event and journaled answers"
        )
    } else {
        format!(
            "non-deterministic run: action #{seq} is {kind}, an earlier attempt of this run made {recorded_kind} there; make the plugin's host calls depend only on the event and journaled answers"
        )
    }
}

impl serde::Serialize for ActionOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match self {
            ActionOutcome::Ok(summary) => {
                map.serialize_entry("status", "ok")?;
                map.serialize_entry("detail", summary)?;
            }
            ActionOutcome::Error(e) => {
                map.serialize_entry("status", "error")?;
                map.serialize_entry("detail", &e.message)?;
                map.serialize_entry("retry", e.retry.as_str())?;
                if e.retry != RetryClass::Permanent {
                    let ms = u64::try_from(e.retry.wait().as_millis()).unwrap_or(u64::MAX);
                    map.serialize_entry("retry_after_ms", &ms)?;
                }
            }
            ActionOutcome::Denied(why) => {
                map.serialize_entry("status", "denied")?;
                map.serialize_entry("detail", why)?;
            }
            ActionOutcome::InFlight => map.serialize_entry("status", "in_flight")?,
        }
        map.end()
    }
}

mod duration_micros {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::InMemoryJournal;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn permanent(message: &str) -> ActionOutcome {
        ActionOutcome::Error(ActionError {
            message: message.to_owned(),
            retry: RetryClass::Permanent,
        })
    }

    #[test]
    fn errors_serialise_their_retry_class_beside_the_message() {
        let budget = ActionOutcome::Error(ActionError {
            message: "rate-limited".to_owned(),
            retry: RetryClass::Budget {
                wait: Duration::from_millis(1500),
            },
        });
        let shown = serde_json::to_value(&budget).expect("json");
        let expected = json!({"status": "error", "detail": "rate-limited", "retry": "budget", "retry_after_ms": 1500});
        assert_eq!(shown, expected);
        let shown = serde_json::to_value(permanent("no")).expect("json");
        assert_eq!(
            shown,
            json!({"status": "error", "detail": "no", "retry": "permanent"})
        );
        let ok = serde_json::to_value(ActionOutcome::Ok(json!({"id": 1}))).expect("json");
        assert_eq!(ok, json!({"status": "ok", "detail": {"id": 1}}));
    }

    fn recorder(journal: Arc<dyn Journal>) -> ActionRecorder {
        let mut secrets = BTreeMap::new();
        secrets.insert("token".to_owned(), "s3cr3t".to_owned());
        ActionRecorder::new("run-1".into(), journal, Redactor::new(&secrets), false)
    }

    #[tokio::test]
    async fn records_are_numbered_redacted_and_cut() {
        let mut rec = recorder(Arc::new(InMemoryJournal::default()));
        let long = "x".repeat(2000);
        let p = rec.begin("http.send", json!({"auth": "Bearer s3cr3t", "body": long}));
        rec.finish(p, permanent("bad s3cr3t"), false);
        let p = rec.begin("kv.get", json!({"key": "a"}));
        rec.finish(p, ActionOutcome::Ok(json!(null)), false);
        let records = rec.into_records();
        assert_eq!(records[0].seq, 1);
        assert_eq!(records[1].seq, 2);
        assert_eq!(records[0].request["auth"], "Bearer [redacted:token]");
        let body = records[0].request["body"].as_str().expect("string");
        assert!(body.ends_with("(1488 bytes cut)"), "{body}");
        assert_eq!(records[0].outcome, permanent("bad [redacted:token]"));
    }

    #[tokio::test]
    async fn an_unfinished_call_stays_in_flight() {
        let mut rec = recorder(Arc::new(InMemoryJournal::default()));
        let _cut_off = rec.begin("messages.send", json!({"text": "hi"}));
        let records = rec.into_records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].outcome, ActionOutcome::InFlight);
        let shown = serde_json::to_value(&records[0]).expect("json");
        assert_eq!(shown["outcome"], json!({"status": "in_flight"}));
        assert_eq!(shown["decision"], json!(null));
        assert_eq!(shown["reused"], json!(false));
    }

    #[tokio::test]
    async fn a_second_attempt_is_answered_from_the_journal() {
        let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::default());
        let mut first = recorder(Arc::clone(&journal));
        let mut p = first.begin("messages.send", json!({"text": "hi"}));
        assert_eq!(first.intent(&mut p, None).await.expect("ok"), Prior::Fresh);
        first
            .complete(&mut p, &json!({"id": "m1"}), Some("m1"))
            .await
            .expect("ok");
        let mut second = recorder(journal);
        let mut p = second.begin("messages.send", json!({"text": "hi"}));
        let prior = second.intent(&mut p, None).await.expect("ok");
        let expected = Prior::Completed {
            result: json!({"id": "m1"}),
            effect_id: Some("m1".into()),
        };
        assert_eq!(prior, expected);
        second.finish(p, ActionOutcome::Ok(json!({})), true);
        assert_eq!(second.effect_ids().collect::<Vec<_>>(), ["m1"]);
    }

    #[tokio::test]
    async fn a_different_action_at_the_same_position_traps_naming_it() {
        let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::default());
        let mut first = recorder(Arc::clone(&journal));
        let mut p = first.begin("messages.send", json!({"text": "hi"}));
        first.intent(&mut p, None).await.expect("ok");
        let mut second = recorder(journal);
        let mut p = second.begin("messages.send", json!({"text": "other"}));
        let err = second.intent(&mut p, None).await.expect_err("mismatch");
        let message = err.to_string();
        assert!(
            message.starts_with("non-deterministic run: action #1 (messages.send)"),
            "{message}"
        );
        let records = second.into_records();
        assert_eq!(records[0].outcome, permanent(&message));
    }

    #[tokio::test]
    async fn a_deferring_journal_gets_results_with_the_next_intent_or_the_run_s_end() {
        let journal = Arc::new(InMemoryJournal::deferring());
        let mut rec = recorder(Arc::clone(&journal) as Arc<dyn Journal>);
        let run = "run-1";
        // A local action: looked up, nothing written.
        let mut clock = rec.begin("clock.now", json!({}));
        assert_eq!(
            rec.intent_local(&mut clock, None).await.expect("ok"),
            Prior::Fresh
        );
        rec.complete(&mut clock, &json!({"seconds": 1}), None)
            .await
            .expect("ok");
        rec.finish(clock, ActionOutcome::Ok(json!({})), false);
        assert_eq!(journal.entry(run, 1), None, "held until the next intent");
        // A send: its intent is written at once, with the clock's whole record before it.
        let mut send = rec.begin("messages.send", json!({"text": "hi"}));
        assert_eq!(
            rec.intent(&mut send, Some((1, 2))).await.expect("ok"),
            Prior::Fresh
        );
        let clock_entry = journal
            .entry(run, 1)
            .expect("clock written with the intent");
        assert_eq!(clock_entry.result, Some(json!({"seconds": 1})));
        assert_eq!(journal.entry(run, 2).expect("intent").result, None);
        let completer = rec.completer(&send);
        completer
            .complete(&json!({"id": "m1"}), Some("m1"))
            .await
            .expect("ok");
        rec.finish(send, ActionOutcome::Ok(json!({})), false);
        assert_eq!(
            journal.entry(run, 2).expect("intent").result,
            None,
            "result held"
        );
        // The run's end hands the held result over; a later completion is written at once.
        let mut tag = rec.begin("tags.add", json!({"contact": 3}));
        let repeat = "outcome unknown: added again";
        assert_eq!(
            rec.intent_repeatable(&mut tag, None, repeat)
                .await
                .expect("ok"),
            None
        );
        let late = rec.completer(&tag);
        let held = rec.take_completions();
        let keys: Vec<_> = held
            .iter()
            .map(|c| (c.key.seq, c.intent.is_some()))
            .collect();
        assert_eq!(
            keys,
            [(2, false)],
            "the send's result, its intent already written"
        );
        assert_eq!(held[0].effect_id.as_deref(), Some("m1"));
        late.complete(&json!({}), None).await.expect("ok");
        let tag_entry = journal
            .entry(run, 3)
            .expect("a late completion is written whole");
        assert_eq!(tag_entry.intent.kind, "tags.add");
        assert_eq!(tag_entry.result, Some(json!({})));
        assert!(rec.take_completions().is_empty());
    }

    #[tokio::test]
    async fn a_journal_that_does_not_defer_gets_each_completion_at_once() {
        let journal = Arc::new(InMemoryJournal::default());
        let mut rec = recorder(Arc::clone(&journal) as Arc<dyn Journal>);
        let mut clock = rec.begin("clock.now", json!({}));
        rec.intent_local(&mut clock, None).await.expect("ok");
        rec.complete(&mut clock, &json!({"seconds": 1}), None)
            .await
            .expect("ok");
        let entry = journal.entry("run-1", 1).expect("written whole");
        assert_eq!(entry.result, Some(json!({"seconds": 1})));
        assert!(rec.take_completions().is_empty());
    }

    #[tokio::test]
    async fn an_unreconcilable_result_is_written_at_once_and_held_effects_count_as_claimed() {
        let journal = Arc::new(InMemoryJournal::deferring());
        let shared = Arc::new(HeldEffects::default());
        let mut rec = recorder(Arc::clone(&journal) as Arc<dyn Journal>)
            .with_held_effects(Arc::clone(&shared));
        let mut post = rec.begin("http.send", json!({"method": "post"}));
        rec.intent(&mut post, None).await.expect("ok");
        post.write_at_once();
        rec.complete(&mut post, &json!({"status": 200}), None)
            .await
            .expect("ok");
        let entry = journal.entry("run-1", 1).expect("intent");
        assert_eq!(entry.result, Some(json!({"status": 200})), "not held");
        let mut send = rec.begin("messages.send", json!({"text": "hi"}));
        rec.intent(&mut send, Some((1, 2))).await.expect("ok");
        rec.complete(&mut send, &json!({"id": "m1"}), Some("m1"))
            .await
            .expect("ok");
        assert_eq!(journal.entry("run-1", 2).expect("intent").result, None);
        let other = ActionRecorder::new(
            "run-2".into(),
            Arc::clone(&journal) as Arc<dyn Journal>,
            Redactor::new(&BTreeMap::new()),
            false,
        )
        .with_held_effects(Arc::clone(&shared));
        assert!(
            other.effect_claimed("m1").await.expect("ok"),
            "another run's held message is claimed"
        );
        assert_eq!(rec.take_completions().len(), 1);
        assert!(!other.effect_claimed("m1").await.expect("ok"));
    }

    #[tokio::test]
    async fn a_recorder_dropped_before_the_run_s_end_writes_what_it_held() {
        let journal = Arc::new(InMemoryJournal::deferring());
        let mut rec = recorder(Arc::clone(&journal) as Arc<dyn Journal>);
        let mut send = rec.begin("messages.send", json!({"text": "hi"}));
        rec.intent(&mut send, Some((1, 2))).await.expect("ok");
        rec.complete(&mut send, &json!({"id": "m1"}), Some("m1"))
            .await
            .expect("ok");
        drop(rec);
        let entry = journal.settled("run-1", 1).await;
        assert_eq!(entry.effect_id.as_deref(), Some("m1"));
    }
}
