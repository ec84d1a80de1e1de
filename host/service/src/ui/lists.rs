//! Events (`/ui/events`, one event with its runs) and quarantine (`/ui/quarantine`: reason,
//! headers and body of each refused request, and retry, which ingests it as the webhook
//! endpoint would).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_store::{EventId, QuarantineEntry, QuarantineId};

use super::pages::{Nav, RunRow, at, clip, pretty};
use super::{UiState, failure, found, html, store_failure};
use crate::views::EventQuery;

/// An event row.
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub chat: Option<(i64, i64)>,
    pub received: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "ui/events.html")]
pub struct EventsPage {
    pub nav: Nav,
    pub kind: String,
    pub events: Vec<EventRow>,
    pub older: Option<i64>,
}

/// Query of `/ui/events`.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    pub kind: String,
    pub before: Option<i64>,
}

const PAGE: usize = 50;

/// `GET /ui/events`.
pub async fn events(State(ui): State<UiState>, Query(q): Query<EventsQuery>) -> Response {
    let kind = q.kind.trim();
    let query = EventQuery {
        kind: (!kind.is_empty()).then(|| kind.to_owned()),
        limit: Some(PAGE),
        before: q.before,
        ..EventQuery::default()
    };
    let filter = match query.filter() {
        Ok(f) => f,
        Err(m) => return failure(StatusCode::BAD_REQUEST, &m),
    };
    let list = match ui.admin.store.list_events(filter).await {
        Ok(l) => l,
        Err(err) => return store_failure(&err),
    };
    html(&EventsPage {
        nav: Nav::Events,
        kind: kind.to_owned(),
        older: (list.len() == PAGE)
            .then(|| list.last().map(|e| e.id.0))
            .flatten(),
        events: list
            .iter()
            .map(|e| EventRow {
                id: e.id.0,
                kind: e.kind.clone(),
                chat: e.connection_id.zip(e.chat_id),
                received: at(&e.received_at),
                key: clip(&e.dedupe_key, 60),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "ui/event.html")]
pub struct EventPage {
    pub nav: Nav,
    pub event: EventRow,
    pub payload: String,
    pub runs: Vec<RunRow>,
}

/// `GET /ui/events/{id}`.
pub async fn event(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    let detail = match found(ui.admin.store.get_event(EventId(id)), || {
        format!("no event {id}")
    })
    .await
    {
        Ok(detail) => detail,
        Err(response) => return response,
    };
    let e = &detail.event;
    html(&EventPage {
        nav: Nav::Events,
        event: EventRow {
            id: e.id.0,
            kind: e.event.kind.clone(),
            chat: e.event.connection_id.zip(e.event.chat_id),
            received: at(&e.event.received_at),
            key: e.event.dedupe_key.clone(),
        },
        payload: pretty(&e.event.payload),
        runs: detail.runs.iter().map(RunRow::of).collect(),
    })
}

/// A quarantined request as listed or shown.
pub struct QuarantineRow {
    pub id: i64,
    pub received: String,
    pub reason: String,
    pub bytes: u64,
    pub headers: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "ui/quarantine.html")]
pub struct QuarantinePage {
    pub nav: Nav,
    pub entries: Vec<QuarantineRow>,
    /// One entry in full (`/ui/quarantine/{id}`).
    pub single: bool,
    pub problem: Option<String>,
}

/// `GET /ui/quarantine`.
pub async fn quarantine(State(ui): State<UiState>) -> Response {
    let list = match ui.admin.store.quarantine_list(PAGE, None).await {
        Ok(l) => l,
        Err(err) => return store_failure(&err),
    };
    let entries = list
        .iter()
        .map(|q| QuarantineRow {
            id: q.id.0,
            received: at(&q.received_at),
            reason: q.reason.clone(),
            bytes: q.body_len,
            headers: String::new(),
            body: String::new(),
        })
        .collect();
    html(&QuarantinePage {
        nav: Nav::Quarantine,
        entries,
        single: false,
        problem: None,
    })
}

/// `GET /ui/quarantine/{id}`.
pub async fn quarantined(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    one(&ui, id, None).await
}

async fn one(ui: &UiState, id: i64, problem: Option<String>) -> Response {
    let entry = match quarantined_entry(ui, id).await {
        Ok(entry) => entry,
        Err(response) => return response,
    };
    let row = QuarantineRow {
        id: entry.id.0,
        received: at(&entry.received_at),
        reason: entry.reason.clone(),
        bytes: entry.body.len() as u64,
        headers: pretty(&entry.headers),
        body: pretty(&String::from_utf8_lossy(&entry.body)),
    };
    html(&QuarantinePage {
        nav: Nav::Quarantine,
        entries: vec![row],
        single: true,
        problem,
    })
}

/// The quarantined request `id`, or the page saying it is not there (404) or the store failed.
async fn quarantined_entry(ui: &UiState, id: i64) -> Result<QuarantineEntry, Response> {
    let entry = ui.admin.store.quarantine_get(QuarantineId(id));
    found(entry, || format!("no quarantined request {id}")).await
}

/// `POST /ui/quarantine/{id}/retry`: ingests the body again; on success it leaves quarantine.
pub async fn retry(State(ui): State<UiState>, Path(id): Path<i64>) -> Response {
    let entry = match quarantined_entry(&ui, id).await {
        Ok(entry) => entry,
        Err(response) => return response,
    };
    match ui.admin.intake.retry(&entry.body).await {
        Ok(_) => match ui.admin.store.quarantine_delete(QuarantineId(id)).await {
            Ok(_) => Redirect::to("/ui/quarantine").into_response(),
            Err(err) => store_failure(&err),
        },
        Err(message) => one(&ui, id, Some(message)).await,
    }
}
