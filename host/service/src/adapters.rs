//! The runtime's storage traits on the store: the action ledger ([`StoreJournal`] for
//! `Journal`), per-plugin kv ([`StoreKv`] for `KvStore`, quota checked in the write's
//! transaction) and uploaded-file links ([`StoreUploads`] for `UploadCache`). Thin: every rule
//! lives in the runtime or the store; these only translate.

use std::sync::Arc;

use serde_json::Value;
use switchboard_runtime::{
    Completion, Intent, Journal, JournalError, JournalKey, KvError, KvStore, Prior, UploadCache,
};
use switchboard_store::{
    LedgerBegin, LedgerIntent, LedgerRecord, LedgerResult, RunId, StoreError, role,
};

/// The durable action ledger. [`StoreJournal::new`] writes every completion as it happens;
/// [`StoreJournal::deferring`] leaves a run's last ones to its `finish` (see
/// [`Journal::defers`]).
pub struct StoreJournal {
    ledger: Arc<dyn role::Ledger>,
    defers: bool,
}

impl StoreJournal {
    /// A journal whose every write is its own store write.
    pub fn new(ledger: Arc<dyn role::Ledger>) -> Self {
        StoreJournal {
            ledger,
            defers: false,
        }
    }

    /// A journal for runs whose owner writes [`RunOutcome::ledger`] with the run's `finish`
    /// ([`ledger_records`] turns it into the store's records), as the dispatcher does.
    ///
    /// [`RunOutcome::ledger`]: switchboard_runtime::RunOutcome::ledger
    pub fn deferring(ledger: Arc<dyn role::Ledger>) -> Self {
        StoreJournal {
            ledger,
            defers: true,
        }
    }
}

/// Plugin kv in the store, one namespace per plugin.
pub struct StoreKv(pub Arc<dyn role::Kv>);

/// Uploaded-file links by company and content hash.
pub struct StoreUploads(pub Arc<dyn role::Uploads>);

fn run_id(run_key: &str) -> Result<RunId, JournalError> {
    run_key
        .parse()
        .map(RunId)
        .map_err(|_| JournalError(format!("run key `{run_key}` is not a stored run id")))
}

fn journal_error(err: StoreError) -> JournalError {
    JournalError(err.to_string())
}

fn ledger_intent(intent: &Intent) -> Result<LedgerIntent, JournalError> {
    Ok(LedgerIntent {
        run_id: run_id(&intent.key.run_key)?,
        seq: intent.key.seq,
        kind: intent.kind.clone(),
        fingerprint: intent.key.fingerprint.clone(),
        request: intent.summary.to_string(),
        chat: intent.chat,
        at: intent.at,
    })
}

fn prior(found: LedgerBegin) -> Prior {
    match found {
        LedgerBegin::Fresh => Prior::Fresh,
        LedgerBegin::Completed { result, effect_id } => Prior::Completed {
            result: serde_json::from_str(&result).unwrap_or(Value::Null),
            effect_id,
        },
        LedgerBegin::Pending { intent_at } => Prior::Pending { intent_at },
        LedgerBegin::Mismatch { kind, .. } => Prior::Mismatch {
            recorded_kind: kind,
        },
    }
}

/// A run's journal completions as the store's ledger records.
pub fn ledger_records(completions: &[Completion]) -> Result<Vec<LedgerRecord>, JournalError> {
    completions
        .iter()
        .map(|c| {
            Ok(LedgerRecord {
                intent: c.intent.as_ref().map(ledger_intent).transpose()?,
                done: LedgerResult {
                    run_id: run_id(&c.key.run_key)?,
                    seq: c.key.seq,
                    result: c.result.to_string(),
                    effect_id: c.effect_id.clone(),
                },
            })
        })
        .collect()
}

#[async_trait::async_trait]
impl Journal for StoreJournal {
    async fn begin(&self, intent: &Intent) -> Result<Prior, JournalError> {
        self.begin_after(&[], intent).await
    }

    async fn begin_after(
        &self,
        earlier: &[Completion],
        intent: &Intent,
    ) -> Result<Prior, JournalError> {
        let earlier = ledger_records(earlier)?;
        let begun = self
            .ledger
            .ledger_begin_after(earlier, ledger_intent(intent)?);
        Ok(prior(begun.await.map_err(journal_error)?))
    }

    async fn lookup(&self, intent: &Intent) -> Result<Prior, JournalError> {
        let found = self.ledger.ledger_lookup(ledger_intent(intent)?);
        Ok(prior(found.await.map_err(journal_error)?))
    }

    async fn record(&self, completions: Vec<Completion>) -> Result<(), JournalError> {
        if completions.is_empty() {
            return Ok(());
        }
        let records = ledger_records(&completions)?;
        self.ledger
            .ledger_record(records)
            .await
            .map_err(journal_error)
    }

    fn defers(&self) -> bool {
        self.defers
    }

    async fn decide(&self, key: &JournalKey, decision: &str) -> Result<(), JournalError> {
        let run = run_id(&key.run_key)?;
        self.ledger
            .ledger_decide(run, key.seq, decision.to_owned())
            .await
            .map_err(journal_error)
    }

    async fn effect_claimed(&self, effect_id: &str) -> Result<bool, JournalError> {
        self.ledger
            .is_own_effect(effect_id)
            .await
            .map_err(journal_error)
    }

    /// The ledger is history (`runs show` prints it); retention removes it with the run.
    async fn release(&self, _run_key: &str) -> Result<(), JournalError> {
        Ok(())
    }
}

fn kv_error(err: StoreError) -> KvError {
    match err {
        StoreError::KvQuota { max_keys, .. } => KvError::Quota { max_keys },
        other => KvError::Store(other.to_string()),
    }
}

/// The most keys `list_keys` returns.
const MAX_LISTED_KEYS: usize = 10_000;

#[async_trait::async_trait]
impl KvStore for StoreKv {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.kv_get(plugin, key).await.map_err(kv_error)
    }

    async fn set(
        &self,
        plugin: &str,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<(), KvError> {
        self.0
            .kv_set(plugin, key, value, Some(max_keys))
            .await
            .map_err(kv_error)
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError> {
        self.0.kv_delete(plugin, key).await.map_err(kv_error)
    }

    async fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        self.0
            .kv_list(plugin, prefix, MAX_LISTED_KEYS)
            .await
            .map_err(kv_error)
    }
}

#[async_trait::async_trait]
impl UploadCache for StoreUploads {
    async fn get(&self, company_id: i64, sha256: &str) -> Option<String> {
        self.0.upload_get(company_id, sha256).await.ok().flatten()
    }

    async fn put(&self, company_id: i64, sha256: &str, url: &str) {
        if let Err(err) = self.0.upload_put(company_id, sha256, url).await {
            tracing::warn!(error = %err, "cannot remember an uploaded file's link");
        }
    }
}
