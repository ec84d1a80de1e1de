//! Delivery receipts after an accepted send: `messages.delivery.delivered` then `.read` (or one
//! `messages.delivery.error`), after the configured delays, updating the stored message first.

use uuid::Uuid;

use crate::app::AppState;
use crate::state::model::Message;
use crate::time::now;
use crate::webhooks::message_events;

/// What happens to an accepted outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Delivered, then read.
    Deliver,
    /// Fails with `(error_type, error_text)`.
    Fail(&'static str, String),
}

/// Schedules the receipts of one message on the runtime.
pub fn spawn_receipts(app: AppState, message_id: Uuid, fate: Fate) {
    tokio::spawn(async move {
        let timing = app.config().delivery;
        tokio::time::sleep(timing.delivered_after).await;
        match fate {
            Fate::Fail(kind, text) => {
                update(&app, message_id, "messages.delivery.error", |m| {
                    m.error_at = Some(now());
                    m.error_type = Some(kind.to_owned());
                    m.error_text = Some(text);
                });
            }
            Fate::Deliver => {
                if !update(&app, message_id, "messages.delivery.delivered", |m| {
                    m.delivered_at = Some(now())
                }) {
                    return;
                }
                tokio::time::sleep(timing.read_after.saturating_sub(timing.delivered_after)).await;
                update(&app, message_id, "messages.delivery.read", |m| {
                    m.read_at = Some(now())
                });
            }
        }
    });
}

/// Changes the message and emits `event_type`; false when the message is gone (reset).
fn update(app: &AppState, id: Uuid, event_type: &str, change: impl FnOnce(&mut Message)) -> bool {
    let events = {
        let mut state = app.state();
        let Some((message, _)) = state.update_message(id, change) else {
            return false;
        };
        message_events(&state, event_type, &message)
    };
    app.emit(events);
    true
}
