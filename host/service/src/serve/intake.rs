//! Webhook intake: a body that passed the HTTP checks ([`hook`](crate::serve::hook)) is decoded,
//! enriched (source type, own echo), matched against every plugin's triggers, and stored with
//! one queued run per subscribed plugin in one transaction. The answer is typed ([`Intook`]):
//! the HTTP layer makes the response from it, `quarantine retry` a line. A body that is not a
//! Radist webhook is kept in quarantine with the reason. The decoded event of a stored webhook
//! waits in the [`Handoff`] for the runs of this process's dispatcher.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::Utc;
use radist_connector::webhook::{Decoded, EventKind, NormalizedEvent, decode};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_runtime::ConnectionDirectory;
use switchboard_runtime::event::WebhookContext;
use switchboard_runtime::subscription;
use switchboard_store::{EventId, NewEvent, NewQuarantine, NewRun, QuarantineId, StoreError, role};

use crate::serve::handoff::Handoff;
use crate::serve::plugins::SharedPlugins;
use crate::serve::token::Token;
use crate::stored_event::StoredEvent;
use crate::telemetry;

/// What intake did with one body: the HTTP layer ([`hook`](crate::serve::hook)) turns it into a
/// response, `quarantine retry` into a line.
#[derive(Debug)]
pub enum Intook {
    /// Stored with one queued run per subscribed plugin (or found already stored).
    Stored(Stored),
    /// Refused and kept in quarantine under `id`.
    Quarantined { refusal: Refusal, id: QuarantineId },
    /// The store could not write it; `unavailable` when that is a passing condition (disk
    /// full, read-only, connection lost), so Radist should redeliver.
    NotStored { unavailable: bool },
}

/// An event intake stored.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stored {
    pub event_id: EventId,
    /// The event was stored before (same dedupe key); no new runs.
    pub duplicate: bool,
    /// Runs queued for it.
    pub runs: usize,
}

/// Why intake refused a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The content type is not JSON.
    ContentType,
    /// The body is over `webhook.max_body_bytes`.
    TooLarge,
    /// The body does not decode as a Radist webhook.
    NotRadist,
}

/// A refusal and the message saying why, for people.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

/// What the intake handler needs.
pub struct Intake {
    /// Where events, their runs and quarantined requests are stored.
    pub store: Arc<dyn role::Intake>,
    /// The action ledger, read to recognise our own sends coming back as webhooks.
    pub ledger: Arc<dyn role::Ledger>,
    pub plugins: SharedPlugins,
    pub directory: Arc<ConnectionDirectory>,
    pub token: Token,
    pub max_body_bytes: usize,
    /// How long a `messages.send` intent without a result marks its chat's outbound messages
    /// as our own echoes (`webhook.own_echo_window_s`).
    pub own_echo_window: std::time::Duration,
    /// False once shutdown started: answer 503 so Radist redelivers to the next process.
    pub accepting: Arc<AtomicBool>,
    /// The queue as last sampled: past its bounds, answer 503 with `Retry-After`.
    pub backlog: Arc<crate::serve::backlog::Backlog>,
    /// Where the decoded event waits for this process's dispatcher.
    pub handoff: Arc<Handoff>,
}

impl Intake {
    /// Decodes a body that passed the HTTP checks and stores it; a body that is not a Radist
    /// webhook is quarantined with `headers` (already stripped of credentials).
    pub async fn take(&self, headers: String, body: Vec<u8>) -> Intook {
        match decode(&body) {
            Ok(Decoded::Event(event)) => self.accept(event).await,
            Ok(Decoded::Unsupported { event_type }) => self.unsupported(&event_type, &body).await,
            Err(err) => {
                let refusal = Refusal {
                    kind: RefusalKind::NotRadist,
                    message: format!("the body is not a Radist webhook: {err}"),
                };
                self.quarantine(headers, body, refusal).await
            }
        }
    }

    /// Re-ingests a body that was quarantined (e.g. after an upgrade taught intake its shape):
    /// the stored event, or why it still cannot be taken.
    pub async fn retry(&self, body: &[u8]) -> Result<Stored, String> {
        let taken = match decode(body) {
            Ok(Decoded::Event(event)) => self.accept(event).await,
            Ok(Decoded::Unsupported { event_type }) => self.unsupported(&event_type, body).await,
            Err(err) => return Err(format!("still not a Radist webhook: {err}")),
        };
        match taken {
            Intook::Stored(stored) => Ok(stored),
            Intook::NotStored { unavailable: true } => {
                Err("cannot store it: the store is unavailable; retry later".to_owned())
            }
            Intook::NotStored { .. } | Intook::Quarantined { .. } => {
                Err("cannot store it: the store refused it; see the service log".to_owned())
            }
        }
    }

    /// Enriches, matches, stores with its runs.
    async fn accept(&self, event: NormalizedEvent) -> Intook {
        let context = self.context(&event).await;
        let lane_key = lane_key(&event);
        let mut new = NewEvent {
            dedupe_key: event.dedupe_key.clone(),
            kind: event.kind.as_str().to_owned(),
            connection_id: Some(event.connection_id.0),
            chat_id: event.chat_id.map(|c| c.0),
            payload: String::new(),
            received_at: Utc::now(),
        };
        let stored = StoredEvent::webhook(event, context);
        let plugin_event = stored.plugin_event();
        let runs = self.runs_for(&lane_key, &plugin_event);
        new.payload = stored.to_payload();
        let kept = (!runs.is_empty())
            .then(|| self.handoff.reserve(&new.payload, plugin_event))
            .flatten();
        let taken = self.store_event(new, runs).await;
        if let Some(kept) = kept {
            kept.settle(new_runs(&taken));
        }
        taken
    }

    /// Source type from the connection directory; own echo from the ledger.
    async fn context(&self, event: &NormalizedEvent) -> WebhookContext {
        let source_type = self.directory.source_type(event.connection_id.0).await;
        let own_echo = event.kind == EventKind::MessageSent && self.is_own(event).await;
        WebhookContext {
            own_echo,
            source_type,
        }
    }

    /// An outbound message is ours when a send to that chat is still in flight (the echo can
    /// arrive before the send's response) or when the ledger recorded its id. The in-flight check
    /// comes first: a send that completes between the two lookups is then found by the second.
    /// "In flight" means an intent without a result recorded within `own_echo_window`: one left
    /// by a crash mid-send does not make the chat's messages ours forever.
    async fn is_own(&self, event: &NormalizedEvent) -> bool {
        if let Some(chat) = event.chat_id {
            let window =
                chrono::TimeDelta::from_std(self.own_echo_window).unwrap_or(chrono::TimeDelta::MAX);
            let since = chrono::Utc::now()
                .checked_sub_signed(window)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            let pending = self
                .ledger
                .pending_intent_for_chat(event.connection_id.0, chat.0, since);
            if pending.await.unwrap_or(false) {
                return true;
            }
        }
        let Some(message) = &event.message else {
            return false;
        };
        let id = message.message_id.to_string();
        self.ledger.is_own_effect(&id).await.unwrap_or(false)
    }

    fn runs_for(
        &self,
        lane_key: &str,
        plugin_event: &switchboard_runtime::event::PluginEvent,
    ) -> Vec<NewRun> {
        let plugins = self.plugins.current();
        plugins
            .iter()
            .filter(|p| subscription::subscribes(&p.manifest.triggers, plugin_event))
            .map(|p| NewRun {
                plugin: p.manifest.plugin.name.as_str().to_owned(),
                lane: format!("{}/{lane_key}", p.manifest.plugin.name.as_str()),
                max_attempts: p.manifest.limits.max_attempts,
                origin: "webhook".to_owned(),
            })
            .collect()
    }

    /// A well-formed webhook of a type Switchboard does not handle: stored, no runs.
    async fn unsupported(&self, event_type: &str, body: &[u8]) -> Intook {
        let digest = crate::hex(&Sha256::digest(body));
        let payload = json!({
            "source": "unsupported",
            "event_type": event_type,
            "body": String::from_utf8_lossy(body),
        });
        let new = NewEvent {
            dedupe_key: format!("unsupported:{digest}"),
            kind: "unsupported".to_owned(),
            connection_id: None,
            chat_id: None,
            payload: payload.to_string(),
            received_at: Utc::now(),
        };
        self.store_event(new, Vec::new()).await
    }

    async fn store_event(&self, event: NewEvent, runs: Vec<NewRun>) -> Intook {
        let kind = event.kind.clone();
        match self.store.ingest(event, runs).await {
            Ok(done) => {
                telemetry::event_stored(&kind, done.duplicate);
                Intook::Stored(Stored {
                    event_id: done.event_id,
                    duplicate: done.duplicate,
                    runs: done.run_ids.len(),
                })
            }
            Err(err) => not_stored(&err),
        }
    }

    /// Keeps a refused request for inspection with its (credential-free) headers.
    pub async fn quarantine(&self, headers: String, body: Vec<u8>, refusal: Refusal) -> Intook {
        let entry = NewQuarantine {
            received_at: Utc::now(),
            reason: refusal.message.clone(),
            headers,
            body,
        };
        match self.store.quarantine(entry).await {
            Ok(id) => Intook::Quarantined { refusal, id },
            Err(err) => not_stored(&err),
        }
    }
}

/// Runs of one plugin for one chat share a lane (`<plugin>/<connection>/<chat>`); events
/// without a chat are their own lane (`<plugin>/<dedupe key>`).
pub fn lane_key(event: &NormalizedEvent) -> String {
    match event.chat_id {
        Some(chat) => format!("{}/{}", event.connection_id.0, chat.0),
        None => event.dedupe_key.clone(),
    }
}

/// The runs an answer says intake created: none for a duplicate or an event not stored.
fn new_runs(taken: &Intook) -> usize {
    match taken {
        Intook::Stored(stored) if !stored.duplicate => stored.runs,
        _ => 0,
    }
}

fn not_stored(err: &StoreError) -> Intook {
    tracing::error!(error = %err, "intake cannot store a webhook");
    Intook::NotStored {
        unavailable: err.is_unavailable(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use serde_json::json;
    use switchboard_store::{SqliteConfig, SqliteStore};

    use super::*;
    use crate::serve::plugins::PluginSet;

    async fn intake(dir: &std::path::Path) -> Intake {
        let store = SqliteStore::open(SqliteConfig::new(dir.join("s.db")))
            .await
            .expect("open");
        let plugins = SharedPlugins::new(PluginSet::new(Vec::new()));
        let off = Arc::new(Handoff::new(crate::serve::handoff::HandoffLimits::OFF));
        intake_over(Arc::new(store), plugins, off)
    }

    /// An intake over `store` and `plugins` keeping decoded events in `handoff`.
    pub(crate) fn intake_over(
        store: Arc<SqliteStore>,
        plugins: SharedPlugins,
        handoff: Arc<Handoff>,
    ) -> Intake {
        Intake {
            store: store.clone(),
            ledger: store,
            plugins,
            directory: Arc::new(ConnectionDirectory::new(None)),
            token: Token::new("t".to_owned()),
            max_body_bytes: 64 * 1024,
            own_echo_window: Duration::from_secs(60),
            accepting: Arc::new(AtomicBool::new(true)),
            backlog: Arc::new(crate::serve::backlog::Backlog::new(
                &switchboard_manifest::WebhookConfig::default(),
            )),
            handoff,
        }
    }

    pub(crate) fn webhook() -> Vec<u8> {
        let message = json!({"message_id": "5f0e8f5e-9d6a-4c0f-8fee-0123456789ab", "chat_id": "79000000002", "direction": "inbound",
            "message_type": "text", "created_at": "2026-12-01T10:00:00Z", "text": {"text": "hi"}});
        let event = json!({"connection_id": 70002, "chat_id": 5, "contact_id": 1,
            "chat": {"phone": "79000000002"}, "message": message});
        json!({"event_type": "messages.create", "event": event})
            .to_string()
            .into_bytes()
    }

    #[tokio::test]
    async fn a_retried_body_is_stored_once_and_the_answer_says_so_as_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let intake = intake(dir.path()).await;
        let first = intake.retry(&webhook()).await.expect("stored");
        assert!(!first.duplicate);
        let again = intake.retry(&webhook()).await.expect("stored");
        assert_eq!((again.event_id, again.duplicate), (first.event_id, true));
        let refused = intake.retry(b"{\"nope\": 1}").await;
        assert!(refused.is_err(), "{refused:?}");
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_webhook_is_quarantined_with_its_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let intake = intake(dir.path()).await;
        let taken = intake.take("{}".to_owned(), b"[1, 2]".to_vec()).await;
        let Intook::Quarantined { refusal, id } = taken else {
            panic!("not quarantined: {taken:?}");
        };
        assert_eq!(refusal.kind, RefusalKind::NotRadist);
        let kept = intake.store.quarantine_get(id).await.expect("read");
        assert_eq!(kept.map(|q| q.body), Some(b"[1, 2]".to_vec()));
    }
}
