//! Webhook delivery: one worker per subscription delivers its events in order to the
//! registered URL (`{"event_type", "event"}`), retrying non-2xx answers (3xx included:
//! redirects are not followed) and connection failures with exponential backoff, and records
//! every attempt in a bounded log for `/_sandbox/webhook-deliveries`.
//!
//! Every job carries the engine's generation at the time it was queued; [`Webhooks::reset`]
//! moves to a new generation, so queued and retrying deliveries of the old one stop before
//! their next attempt (a worker waiting out a backoff wakes up at once) and are counted as
//! cancelled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::config::WebhookRetry;
use crate::ring::{Ring, RingStats};
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// RFC 3339 time of the attempt.
    pub at: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why no answer arrived (connect failure, timeout).
    pub error: Option<String>,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: u64,
    pub subscription_id: Uuid,
    pub url: String,
    pub event_type: String,
    pub message_id: Option<String>,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub payload: Value,
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued or between attempts.
    Pending,
    /// A 2xx answer arrived.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// Webhook fault switches in force when an event is emitted.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFaults {
    pub duplicate: bool,
    pub reorder: bool,
}

struct Job {
    record: u64,
    /// The engine generation the job was queued in; a reset makes it stale.
    generation: u64,
    url: String,
    payload: Value,
    reorder: bool,
}

/// The delivery engine.
pub struct Webhooks {
    client: reqwest::Client,
    retry: WebhookRetry,
    queues: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Job>>>,
    log: Arc<Mutex<Ring<DeliveryRecord>>>,
    closed: Arc<AtomicBool>,
    /// Bumped by a reset (and on close) to stop the deliveries queued before it.
    generation: watch::Sender<u64>,
    cancelled: Arc<AtomicU64>,
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
    /// A new engine with the given retry policy, keeping at most `max_log` delivery records.
    pub fn new(retry: WebhookRetry, max_log: usize) -> Self {
        // Radist posts to the registered URL only; a 3xx is a failed delivery, not a hop.
        let client = reqwest::Client::builder()
            .timeout(retry.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            client,
            retry,
            queues: Mutex::default(),
            log: Arc::new(Mutex::new(Ring::new(max_log))),
            closed: Arc::default(),
            generation: watch::Sender::new(0),
            cancelled: Arc::default(),
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
                state: DeliveryState::Pending,
                attempts: Vec::new(),
                payload: payload.clone(),
            });
            id
        };
        let job = Job {
            record,
            generation: *self.generation.borrow(),
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
            generation: self.generation.subscribe(),
            cancelled: self.cancelled.clone(),
        };
        tokio::spawn(worker.run(rx));
        tx
    }

    /// A copy of the delivery log, oldest first.
    pub fn log(&self) -> Vec<DeliveryRecord> {
        lock(&self.log).iter().cloned().collect()
    }

    /// Kept and dropped records of the delivery log.
    pub fn log_stats(&self) -> RingStats {
        lock(&self.log).stats()
    }

    /// Deliveries stopped by a reset (queued or between attempts) since the engine started.
    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Stops every queued and retrying delivery before its next attempt, and clears the queues
    /// and the log (an attempt already on the wire finishes, unrecorded).
    pub fn reset(&self) {
        self.generation.send_modify(|generation| *generation += 1);
        lock(&self.queues).clear();
        lock(&self.log).clear();
    }

    /// Stops all delivery.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
        lock(&self.queues).clear();
    }
}

struct Worker {
    client: reqwest::Client,
    retry: WebhookRetry,
    log: Arc<Mutex<Ring<DeliveryRecord>>>,
    closed: Arc<AtomicBool>,
    generation: watch::Receiver<u64>,
    cancelled: Arc<AtomicU64>,
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
            if !self.live(&job) {
                return;
            }
            if self.attempt(&job, attempt).await {
                return;
            }
            if attempt < self.retry.attempts {
                self.back_off(&job, delay).await;
                delay = delay.saturating_mul(2);
            }
        }
    }

    /// One POST, recorded; whether it was delivered (a 2xx; a 3xx is not followed).
    async fn attempt(&self, job: &Job, number: u32) -> bool {
        let result = self.client.post(&job.url).json(&job.payload).send().await;
        let (status, error) = match &result {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(err) => (None, Some(err.to_string())),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let at = format(&now());
        self.record(job.record, Attempt { at, status, error }, ok, number);
        ok
    }

    /// Waits `delay`, or less when a reset or close makes the job stale.
    async fn back_off(&self, job: &Job, delay: Duration) {
        let mut generation = self.generation.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = generation.wait_for(|current| *current != job.generation) => {}
        }
    }

    /// Whether the job may still be attempted: the engine is open and not reset since it was
    /// queued. A job stopped by a reset is counted as cancelled.
    fn live(&self, job: &Job) -> bool {
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        let live = job.generation == *self.generation.borrow();
        if !live {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        live
    }

    fn record(&self, id: u64, attempt: Attempt, ok: bool, number: u32) {
        let mut log = lock(&self.log);
        // Record ids are consecutive in the log, so the position follows from the oldest id.
        let Some(first) = log.front().map(|r| r.id) else {
            return;
        };
        let index = id.checked_sub(first).and_then(|i| usize::try_from(i).ok());
        let Some(rec) = index.and_then(|i| log.get_mut(i)).filter(|r| r.id == id) else {
            return;
        };
        rec.attempts.push(attempt);
        rec.state = if ok {
            DeliveryState::Delivered
        } else if number >= self.retry.attempts {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
    }
}
