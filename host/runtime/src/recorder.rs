//! The [`ActionRecorder`]: the one place every host call of a run is recorded — kind, sequence
//! number, redacted request summary, outcome, latency — and where effectful calls consult the
//! [`Journal`] so a completed action is answered from it rather than repeated.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::journal::{Journal, JournalKey, fingerprint};
use crate::redact::Redactor;

/// Strings longer than this are elided in request summaries.
const MAX_SUMMARY_STRING: usize = 512;

/// One host call made by a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionRecord {
    /// Position in the run, from 1.
    pub seq: u32,
    /// `<interface>.<function>`, e.g. `messages.send`.
    pub kind: String,
    /// The request, secrets redacted and large values elided.
    pub request: Value,
    pub outcome: ActionOutcome,
    #[serde(with = "duration_micros")]
    pub latency: Duration,
    /// Answered with synthetic data because the run was a dry run.
    pub dry_run: bool,
    /// Answered from the journal: completed in an earlier attempt, not repeated.
    pub replayed: bool,
    /// sha256 of the canonical request, for the action ledger.
    pub fingerprint: String,
}

/// How a host call ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum ActionOutcome {
    /// Succeeded; a short summary of the result.
    Ok(Value),
    /// Failed with the error the guest was given (or a host error).
    Error(String),
    /// Refused by the manifest's grants or scopes.
    Denied(String),
}

/// An action between `begin` and `finish`.
pub(crate) struct Pending {
    seq: u32,
    kind: &'static str,
    request: Value,
    key: JournalKey,
    started: Instant,
}

impl Pending {
    /// The action's sequence number within the run, from 1.
    pub(crate) fn seq(&self) -> u32 {
        self.seq
    }
}

/// Records the host calls of one run.
pub(crate) struct ActionRecorder {
    run_key: String,
    journal: Arc<dyn Journal>,
    redactor: Redactor,
    dry_run: bool,
    next_seq: u32,
    records: Vec<ActionRecord>,
}

impl ActionRecorder {
    pub(crate) fn new(
        run_key: String,
        journal: Arc<dyn Journal>,
        redactor: Redactor,
        dry_run: bool,
    ) -> Self {
        ActionRecorder {
            run_key,
            journal,
            redactor,
            dry_run,
            next_seq: 1,
            records: Vec::new(),
        }
    }

    /// Starts recording a call; `request` is the full request (fingerprinted before redaction).
    pub(crate) fn begin(&mut self, kind: &'static str, request: Value) -> Pending {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = JournalKey {
            run_key: self.run_key.clone(),
            seq,
            fingerprint: fingerprint(kind, &request),
        };
        let request = elide(self.redactor.redact_json(request));
        Pending {
            seq,
            kind,
            request,
            key,
            started: Instant::now(),
        }
    }

    /// A prior completion of this exact action, if the journal has one.
    pub(crate) async fn prior(&self, pending: &Pending) -> wasmtime::Result<Option<Value>> {
        Ok(self.journal.completed(&pending.key).await?)
    }

    /// Tells the journal the action completed (before the guest sees the result).
    pub(crate) async fn complete(&self, pending: &Pending, result: &Value) -> wasmtime::Result<()> {
        if !self.dry_run {
            self.journal
                .complete(&pending.key, pending.kind, result)
                .await?;
        }
        Ok(())
    }

    /// Closes the record of a call.
    pub(crate) fn finish(&mut self, pending: Pending, outcome: ActionOutcome, replayed: bool) {
        let outcome = match outcome {
            ActionOutcome::Ok(v) => ActionOutcome::Ok(elide(self.redactor.redact_json(v))),
            ActionOutcome::Error(e) => ActionOutcome::Error(self.redactor.redact(&e)),
            ActionOutcome::Denied(e) => ActionOutcome::Denied(self.redactor.redact(&e)),
        };
        self.records.push(ActionRecord {
            seq: pending.seq,
            kind: pending.kind.to_owned(),
            request: pending.request,
            outcome,
            latency: pending.started.elapsed(),
            dry_run: self.dry_run,
            replayed,
            fingerprint: pending.key.fingerprint,
        });
    }

    /// The run's stable key (its run id).
    pub(crate) fn run_key(&self) -> &str {
        &self.run_key
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub(crate) fn into_records(self) -> Vec<ActionRecord> {
        self.records
    }
}

/// Shortens long strings so a summary stays small.
fn elide(value: Value) -> Value {
    match value {
        Value::String(s) if s.len() > MAX_SUMMARY_STRING => {
            let mut end = MAX_SUMMARY_STRING / 2;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}… ({} bytes elided)", &s[..end], s.len() - end))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(elide).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, elide(v))).collect()),
        other => other,
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

    fn recorder(journal: Arc<dyn Journal>) -> ActionRecorder {
        let mut secrets = BTreeMap::new();
        secrets.insert("token".to_owned(), "s3cr3t".to_owned());
        ActionRecorder::new("run-1".into(), journal, Redactor::new(&secrets), false)
    }

    #[tokio::test]
    async fn records_are_numbered_redacted_and_elided() {
        let mut rec = recorder(Arc::new(InMemoryJournal::default()));
        let long = "x".repeat(2000);
        let p = rec.begin("http.send", json!({"auth": "Bearer s3cr3t", "body": long}));
        rec.finish(p, ActionOutcome::Error("bad s3cr3t".into()), false);
        let p = rec.begin("kv.get", json!({"key": "a"}));
        rec.finish(p, ActionOutcome::Ok(json!(null)), false);
        let records = rec.into_records();
        assert_eq!(records[0].seq, 1);
        assert_eq!(records[1].seq, 2);
        assert_eq!(records[0].request["auth"], "Bearer [redacted:token]");
        let body = records[0].request["body"].as_str().expect("string");
        assert!(body.ends_with("(1744 bytes elided)"), "{body}");
        assert_eq!(
            records[0].outcome,
            ActionOutcome::Error("bad [redacted:token]".into())
        );
    }

    #[tokio::test]
    async fn a_second_attempt_is_answered_from_the_journal() {
        let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::default());
        let mut first = recorder(Arc::clone(&journal));
        let p = first.begin("messages.send", json!({"text": "hi"}));
        assert_eq!(first.prior(&p).await.expect("ok"), None);
        first.complete(&p, &json!({"id": "m1"})).await.expect("ok");
        let mut second = recorder(journal);
        let p = second.begin("messages.send", json!({"text": "hi"}));
        assert_eq!(
            second.prior(&p).await.expect("ok"),
            Some(json!({"id": "m1"}))
        );
        let p = second.begin("messages.send", json!({"text": "other"}));
        assert_eq!(second.prior(&p).await.expect("ok"), None);
    }
}
