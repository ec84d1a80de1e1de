//! Webhook delivery: one worker per subscription delivers its events in order to the
//! registered URL (`{"event_type", "event"}`), retrying non-2xx answers and connection failures
//! with exponential backoff, and records every attempt in a log for `/_sandbox/webhook-deliveries`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::WebhookRetry;
use crate::state::State;
use crate::state::model::{Message, Subscription};
use crate::time::{format, now};

/// One event for one subscription.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub subscription: Subscription,
    pub event_type: String,
    pub event: Value,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: u64,
    pub subscription_id: Uuid,
    pub url: String,
    pub event_type: String,
    pub message_id: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
    pub attempts: Vec<Attempt>,
    pub payload: Value,
}

/// Webhook fault switches in force when an event is emitted.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFaults {
    pub duplicate: bool,
    pub reorder: bool,
}

struct Job {
    record: u64,
    url: String,
    payload: Value,
    reorder: bool,
}

/// The delivery engine.
pub struct Webhooks {
    client: reqwest::Client,
    retry: WebhookRetry,
    queues: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Job>>>,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
    closed: Arc<AtomicBool>,
    next_record: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `messages.*` events for every subscriber of the message's connection.
pub fn message_events(state: &State, event_type: &str, message: &Message) -> Vec<Outgoing> {
    let Some(chat) = state.chats.get(&message.chat_id) else {
        return Vec::new();
    };
    let event = json!({"connection_id": chat.connection_id, "chat_id": chat.id, "contact_id": chat.contact_id,
        "chat": chat.to_event_chat(), "message": message.to_json(false)});
    outgoing(state, chat.connection_id, event_type, &event)
}

/// `connections.status_changed` for every subscriber of the connection.
pub fn status_events(state: &State, connection_id: i64, status: (&str, &str)) -> Vec<Outgoing> {
    let event = json!({"connection_id": connection_id,
        "status": {"status_type": status.0, "status_subtype": status.1}});
    outgoing(state, connection_id, "connections.status_changed", &event)
}

fn outgoing(state: &State, connection_id: i64, event_type: &str, event: &Value) -> Vec<Outgoing> {
    let subs = state.subscribers(connection_id, event_type);
    subs.into_iter()
        .map(|subscription| Outgoing {
            subscription,
            event_type: event_type.to_owned(),
            event: event.clone(),
        })
        .collect()
}

impl Webhooks {
    /// A new engine with the given retry policy.
    pub fn new(retry: WebhookRetry) -> Self {
        let client = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .unwrap_or_default();
        let (queues, log, closed) = (Mutex::default(), Arc::default(), Arc::default());
        Self {
            client,
            retry,
            queues,
            log,
            closed,
            next_record: AtomicU64::new(1),
        }
    }

    /// Queues events (call without holding the state lock; needs a tokio runtime).
    pub fn emit(&self, events: Vec<Outgoing>, faults: WebhookFaults) {
        for event in events {
            let copies = if faults.duplicate { 2 } else { 1 };
            for _ in 0..copies {
                self.enqueue(&event, faults.reorder);
            }
        }
    }

    fn enqueue(&self, event: &Outgoing, reorder: bool) {
        let payload = json!({"event_type": event.event_type, "event": event.event});
        let message_id = event.event["message"]["message_id"]
            .as_str()
            .map(str::to_owned);
        let record = {
            let mut log = lock(&self.log);
            let id = self.next_record.fetch_add(1, Ordering::Relaxed);
            log.push(DeliveryRecord {
                id,
                subscription_id: event.subscription.id,
                url: event.subscription.url.clone(),
                event_type: event.event_type.clone(),
                message_id,
                state: "pending",
                attempts: Vec::new(),
                payload: payload.clone(),
            });
            id
        };
        let job = Job {
            record,
            url: event.subscription.url.clone(),
            payload,
            reorder,
        };
        let mut queues = lock(&self.queues);
        let sender = queues
            .entry(event.subscription.id)
            .or_insert_with(|| self.spawn_worker());
        if let Err(mpsc::error::SendError(job)) = sender.send(job) {
            let fresh = self.spawn_worker();
            let _ = fresh.send(job);
            queues.insert(event.subscription.id, fresh);
        }
    }

    fn spawn_worker(&self) -> mpsc::UnboundedSender<Job> {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            client: self.client.clone(),
            retry: self.retry,
            log: self.log.clone(),
            closed: self.closed.clone(),
        };
        tokio::spawn(worker.run(rx));
        tx
    }

    /// A copy of the delivery log.
    pub fn log(&self) -> Vec<DeliveryRecord> {
        lock(&self.log).clone()
    }

    /// Drops all queues and the log (workers finish their current job and stop).
    pub fn reset(&self) {
        lock(&self.queues).clear();
        lock(&self.log).clear();
    }

    /// Stops all delivery.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        lock(&self.queues).clear();
    }
}

struct Worker {
    client: reqwest::Client,
    retry: WebhookRetry,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
    closed: Arc<AtomicBool>,
}

/// How long a reordering worker waits for a second event to swap with.
const REORDER_WAIT: Duration = Duration::from_millis(100);

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = rx.recv().await {
            if job.reorder
                && let Ok(Some(next)) = tokio::time::timeout(REORDER_WAIT, rx.recv()).await
            {
                self.deliver(next).await;
            }
            self.deliver(job).await;
        }
    }

    async fn deliver(&self, job: Job) {
        let mut delay = self.retry.base_delay;
        for attempt in 1..=self.retry.attempts.max(1) {
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            let result = self.client.post(&job.url).json(&job.payload).send().await;
            let (status, error) = match &result {
                Ok(resp) => (Some(resp.status().as_u16()), None),
                Err(err) => (None, Some(err.to_string())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            self.record(
                job.record,
                Attempt {
                    at: format(&now()),
                    status,
                    error,
                },
                ok,
                attempt,
            );
            if ok {
                return;
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
    }

    fn record(&self, id: u64, attempt: Attempt, ok: bool, number: u32) {
        let mut log = lock(&self.log);
        if let Some(rec) = log.iter_mut().rev().find(|r| r.id == id) {
            rec.attempts.push(attempt);
            rec.state = if ok {
                "delivered"
            } else if number >= self.retry.attempts {
                "failed"
            } else {
                "pending"
            };
        }
    }
}
