//! One run (`/ui/runs/{id}`): its event normalized and raw, the attempts as a timeline with
//! durations, every action with its request, result and ledger decision, the logs and the
//! error; and replay, which first shows what the ledger will answer (a dry run) and only queues
//! the run when confirmed.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use switchboard_store::{FinishedAttempt, LedgerEntry, RunDetail, RunId, StoreError};

use super::pages::{self, Nav, RunRow, at, ms, pretty};
use super::{UiState, failure, found, html, store_failure};
use crate::stored_event::StoredEvent;

/// An attempt as the timeline draws it.
pub struct AttemptView {
    pub number: u32,
    pub status: &'static str,
    pub started: String,
    pub duration: String,
    /// Bar width in percent of the longest attempt.
    pub width: u64,
    pub node: String,
    pub digest: String,
    pub error: String,
    pub actions: Vec<ActionView>,
    pub logs: Vec<(String, String, String)>,
}

/// An action with its ledger row's state.
pub struct ActionView {
    pub seq: u32,
    pub kind: String,
    pub request: String,
    pub outcome: String,
    pub latency: String,
    /// `answered from the ledger`, `done`, `reconciled: …`.
    pub ledger: String,
}

/// A ledger row as shown.
pub struct LedgerView {
    pub seq: u32,
    pub kind: String,
    pub intent: String,
    pub state: String,
    pub request: String,
    pub result: String,
    pub effect: String,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "ui/run.html")]
pub struct RunPage {
    pub nav: Nav,
    pub run: RunRow,
    pub origin: String,
    pub node: String,
    pub not_before: String,
    pub error: String,
    pub event_id: i64,
    pub event_kind: String,
    pub event_key: String,
    pub received: String,
    /// The event as a plugin receives it (Debug of the normalized event).
    pub normalized: String,
    pub raw: String,
    pub attempts: Vec<AttemptView>,
    pub ledger: Vec<LedgerView>,
    pub finished: bool,
}

/// `GET /ui/runs/{id}`.
pub async fn page(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    match detail(&ui, id).await {
        Ok(d) => html(&view(&d)),
        Err(response) => response,
    }
}

async fn detail(ui: &UiState, id: i64) -> Result<RunDetail, Response> {
    found(ui.admin.store.get_run(RunId(id)), || {
        format!("no run {id}; the runs list shows the runs kept")
    })
    .await
}

fn view(d: &RunDetail) -> RunPage {
    let e = &d.event.event;
    let r = &d.run;
    let longest = d
        .attempts
        .iter()
        .map(|a| a.duration_us)
        .max()
        .unwrap_or(0)
        .max(1);
    RunPage {
        nav: Nav::Runs,
        run: RunRow::of(r),
        origin: r.origin.clone(),
        node: r.node.clone().unwrap_or_default(),
        not_before: r.not_before.as_ref().map(at).unwrap_or_default(),
        error: r.error.clone().unwrap_or_default(),
        event_id: d.event.id.0,
        event_kind: e.kind.clone(),
        event_key: e.dedupe_key.clone(),
        received: at(&e.received_at),
        normalized: normalized(&e.payload),
        raw: pretty(&e.payload),
        attempts: d
            .attempts
            .iter()
            .map(|a| attempt(a, longest, &d.ledger))
            .collect(),
        ledger: d.ledger.iter().map(ledger).collect(),
        finished: !r.status.is_unfinished(),
    }
}

/// The event as the plugin receives it, or why it cannot be read.
fn normalized(payload: &str) -> String {
    match StoredEvent::from_payload(payload) {
        Ok(event) => format!("{:#?}", event.plugin_event()),
        Err(err) => format!("the stored payload does not read as an event: {err}"),
    }
}

fn attempt(a: &FinishedAttempt, longest: u64, ledger: &[LedgerEntry]) -> AttemptView {
    AttemptView {
        number: a.attempt,
        status: a.status.as_str(),
        started: at(&a.started_at),
        duration: ms(a.duration_us),
        width: (a.duration_us.saturating_mul(100) / longest).max(1),
        node: a.node.clone(),
        digest: a
            .plugin_digest
            .as_deref()
            .map(|d| pages::clip(d, 12))
            .unwrap_or_default(),
        error: a.error.clone().unwrap_or_default(),
        actions: a
            .actions
            .iter()
            .map(|x| {
                let row = ledger
                    .iter()
                    .find(|l| l.intent.seq == x.seq && l.intent.kind == x.kind);
                let state = match (&x.decision, x.replayed, row) {
                    (Some(d), _, _) => format!("reconciled: {d}"),
                    (None, true, _) => "answered from the ledger".to_owned(),
                    (None, false, Some(l)) if l.result.is_some() => "intent, then done".to_owned(),
                    (None, false, Some(_)) => "intent without result".to_owned(),
                    (None, false, None) => "not in the ledger (no effect)".to_owned(),
                };
                ActionView {
                    seq: x.seq,
                    kind: x.kind.clone(),
                    request: pretty(&x.request),
                    outcome: pretty(&x.outcome),
                    latency: ms(x.latency_us),
                    ledger: state,
                }
            })
            .collect(),
        logs: a
            .logs
            .iter()
            .map(|l| (l.level.clone(), l.source.clone(), l.message.clone()))
            .collect(),
    }
}

fn ledger(l: &LedgerEntry) -> LedgerView {
    LedgerView {
        seq: l.intent.seq,
        kind: l.intent.kind.clone(),
        intent: at(&l.intent.at),
        state: if l.result.is_some() {
            "done".to_owned()
        } else {
            "no result (outcome unknown; reconciled before anything is resent)".to_owned()
        },
        request: pretty(&l.intent.request),
        result: l.result.as_deref().map(pretty).unwrap_or_default(),
        effect: l.effect_id.clone().unwrap_or_default(),
        decision: l.decision.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "ui/replay.html")]
pub struct ReplayPage {
    pub nav: Nav,
    pub run: RunRow,
    pub finished: bool,
    /// Completed ledger rows: answered, not repeated.
    pub answered: Vec<LedgerView>,
    /// Intents without a result: reconciled against the chat first.
    pub pending: Vec<LedgerView>,
}

/// `GET /ui/runs/{id}/replay`: the dry run, what the replay would do, from the ledger only.
pub async fn preview(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    let d = match detail(&ui, id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let (done, open): (Vec<&LedgerEntry>, Vec<&LedgerEntry>) =
        d.ledger.iter().partition(|l| l.result.is_some());
    html(&ReplayPage {
        nav: Nav::Runs,
        run: RunRow::of(&d.run),
        finished: !d.run.status.is_unfinished(),
        answered: done.into_iter().map(ledger).collect(),
        pending: open.into_iter().map(ledger).collect(),
    })
}

/// `POST /ui/runs/{id}/replay`: queues the run again and opens it.
pub async fn replay(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    match ui.admin.store.requeue(RunId(id), true).await {
        Ok(()) => Redirect::to(&format!("/ui/runs/{id}")).into_response(),
        Err(StoreError::Conflict { .. }) => failure(
            StatusCode::CONFLICT,
            &format!("run {id} is not finished yet; replay it once it has ended"),
        ),
        Err(StoreError::NotFound { .. }) => failure(StatusCode::NOT_FOUND, &format!("no run {id}")),
        Err(err) => store_failure(&err),
    }
}
