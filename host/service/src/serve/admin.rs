//! The admin API under `/api/` (the same data as the `runs`, `events`, `quarantine` and
//! `plugins` commands, as JSON), `/metrics` and the health endpoints. The admin routes sit
//! behind [`guard`](crate::serve::guard): the token when one is configured, loopback `Host`
//! otherwise, same-origin and JSON bodies for every state change. `/healthz` and `/readyz` are
//! open (load balancers call them); `/readyz` says 503 when the store cannot write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_store::{EventId, QuarantineId, RunId, StoreError, role};

use crate::serve::intake::Intake;
use crate::serve::plugins::SharedPlugins;
use crate::views::{self, EventQuery, RunQuery, page_limit};

/// What the admin handlers (and the dashboard's) read.
pub struct Admin {
    /// The roles of the store the admin surface uses (never the ledger nor uploads).
    pub store: Arc<dyn role::Console>,
    pub plugins: SharedPlugins,
    /// Plugins loaded and store open.
    pub ready: Arc<AtomicBool>,
    /// Problems of the last live reload (the previous versions of those plugins keep serving).
    pub reload_problems: Arc<std::sync::RwLock<Vec<String>>>,
    /// Re-ingests quarantined bodies (decoding, matching and storing as a webhook would be).
    pub intake: Arc<Intake>,
    /// The Prometheus exporter's handle (`None` when another recorder was installed first).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// When `/readyz` last wrote to the store, and how that went.
    pub probe: tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

/// `/api/...` and `/metrics`; `serve` puts them behind the gate ([`crate::serve::guard`]).
pub fn routes(admin: Arc<Admin>) -> Router {
    let api = Router::new()
        .route("/runs", get(list_runs))
        .route("/runs/replay", post(replay_where))
        .route("/runs/{id}", get(show_run))
        .route("/runs/{id}/replay", post(replay_one))
        .route("/events", get(list_events))
        .route("/events/{id}", get(show_event))
        .route("/quarantine", get(list_quarantine))
        .route("/quarantine/{id}", get(show_quarantine))
        .route("/quarantine/{id}/retry", post(retry_quarantine))
        .route("/plugins", get(plugins))
        .route("/schedules", get(schedules))
        .route("/nodes", get(nodes))
        .route("/queue", get(queue));
    let metrics = admin.metrics.clone();
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(move || render(metrics.clone())))
        .with_state(admin)
}

/// `/healthz` and `/readyz`: open, for load balancers and orchestrators.
pub fn health_routes(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .with_state(admin)
}

/// `GET /metrics`: every series in the Prometheus text format.
async fn render(handle: Option<metrics_exporter_prometheus::PrometheusHandle>) -> String {
    handle.map(|h| h.render()).unwrap_or_default()
}

/// Ready when plugins are loaded and the store took a write within the last
/// [`WRITE_PROBE_EVERY`] (probed at most that often, so `/readyz` cannot be used to load the
/// store): a full disk or a lost database says 503 here before webhooks start failing.
async fn readyz(State(admin): State<Arc<Admin>>) -> Response {
    if !admin.ready.load(Ordering::Acquire) {
        let body = json!({"status": "starting"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    match admin.write_probe().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(err) => {
            let body = json!({"status": "store cannot write", "error": err});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// How often `/readyz` writes to the store to prove it can.
const WRITE_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Admin {
    /// The last write probe's result if recent, else a new probe (a kv write in the host's
    /// namespace).
    async fn write_probe(&self) -> Result<(), String> {
        let mut last = self.probe.lock().await;
        if let Some((at, result)) = &*last
            && at.elapsed() < WRITE_PROBE_EVERY
        {
            return result.clone();
        }
        let stamp = Utc::now().to_rfc3339().into_bytes();
        let result = self
            .store
            .kv_set(crate::wiring::HOST_NAMESPACE, "readyz-probe", stamp, None)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        *last = Some((std::time::Instant::now(), result.clone()));
        result
    }
}

async fn list_runs(State(admin): State<Arc<Admin>>, Query(q): Query<RunQuery>) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(m) => return bad_request(&m),
    };
    reply(admin.store.list_runs(filter).await)
}

async fn show_run(State(admin): State<Arc<Admin>>, Path(id): Path<i64>) -> Response {
    found(admin.store.get_run(RunId(id)).await, "run")
}

/// The body of `POST /api/runs/{id}/replay` and `POST /api/quarantine/{id}/retry`: `{}`
/// (a JSON body is what makes a state change, see the gate).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

async fn replay_one(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<i64>,
    Json(Empty {}): Json<Empty>,
) -> Response {
    match admin.store.requeue(RunId(id), true).await {
        Ok(()) => Json(json!({"replayed": [id]})).into_response(),
        Err(err) => store_error(&err),
    }
}

/// `POST /api/runs/replay` with the filter as a JSON body, e.g. `{"plugin": "auto-reply",
/// "status": "failed"}`.
async fn replay_where(State(admin): State<Arc<Admin>>, Json(q): Json<RunQuery>) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(m) => return bad_request(&m),
    };
    match admin.store.requeue_where(filter, true).await {
        Ok(ids) => Json(json!({"replayed": ids})).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn list_events(State(admin): State<Arc<Admin>>, Query(q): Query<EventQuery>) -> Response {
    match q.filter() {
        Ok(filter) => reply(admin.store.list_events(filter).await),
        Err(m) => bad_request(&m),
    }
}

async fn show_event(State(admin): State<Arc<Admin>>, Path(id): Path<i64>) -> Response {
    found(admin.store.get_event(EventId(id)).await, "event")
}

#[derive(Debug, Default, Deserialize)]
struct Page {
    limit: Option<usize>,
    before: Option<i64>,
}

async fn list_quarantine(State(admin): State<Arc<Admin>>, Query(p): Query<Page>) -> Response {
    let before = p.before.map(QuarantineId);
    match page_limit(p.limit) {
        Ok(limit) => reply(admin.store.quarantine_list(limit, before).await),
        Err(m) => bad_request(&m),
    }
}

async fn show_quarantine(State(admin): State<Arc<Admin>>, Path(id): Path<i64>) -> Response {
    match admin.store.quarantine_get(QuarantineId(id)).await {
        Ok(Some(entry)) => Json(views::quarantine_json(&entry)).into_response(),
        Ok(None) => not_found("quarantined request"),
        Err(err) => store_error(&err),
    }
}

async fn retry_quarantine(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<i64>,
    Json(Empty {}): Json<Empty>,
) -> Response {
    let entry = match admin.store.quarantine_get(QuarantineId(id)).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return not_found("quarantined request"),
        Err(err) => return store_error(&err),
    };
    match admin.intake.retry(&entry.body).await {
        Ok(result) => {
            if let Err(err) = admin.store.quarantine_delete(QuarantineId(id)).await {
                return store_error(&err);
            }
            Json(result).into_response()
        }
        Err(message) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": message})),
        )
            .into_response(),
    }
}

async fn plugins(State(admin): State<Arc<Admin>>) -> Response {
    let set = admin.plugins.current();
    let list: Vec<Value> = set.iter().map(|p| views::plugin_json(p)).collect();
    let problems = admin
        .reload_problems
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Json(json!({ "plugins": list, "problems": problems })).into_response()
}

async fn schedules(State(admin): State<Arc<Admin>>) -> Response {
    let now = Utc::now();
    let mut views = Vec::new();
    for p in admin.plugins.current().iter() {
        for entry in crate::serve::scheduler::entries_of(&p.manifest) {
            match views::schedule_view(&admin.store, &entry, now).await {
                Ok(view) => views.push(view),
                Err(err) => {
                    let body = json!({"error": format!("{err:#}")});
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
                }
            }
        }
    }
    Json(json!({ "schedules": views })).into_response()
}

/// `GET /api/nodes`: every node's lease and the runs it holds (as `switchboard nodes --json`).
/// Live or not on the store's clock (the database server's), like the leases themselves.
async fn nodes(State(admin): State<Arc<Admin>>) -> Response {
    match admin.store.clock().await {
        Ok(now) => reply(admin.store.nodes(now).await),
        Err(err) => store_error(&err),
    }
}

/// `GET /api/queue`: unfinished runs by state, the longest wait for a worker, and whether
/// intake accepts webhooks or answers 503 (with the bound it is over).
async fn queue(State(admin): State<Arc<Admin>>) -> Response {
    let depth = match admin.store.queue_depth().await {
        Ok(depth) => depth,
        Err(err) => return store_error(&err),
    };
    let backlog = &admin.intake.backlog;
    let (sampled_queued, oldest) = backlog.last();
    let (intake, reason) = match backlog.admit() {
        Ok(()) => ("accepting", None),
        Err(full) => ("refusing", Some(full.reason)),
    };
    Json(json!({
        "queued": depth.queued,
        "running": depth.running,
        "retrying": depth.retrying,
        "oldest_ready_at": depth.oldest_ready_at,
        "sampled": {"queued": sampled_queued, "oldest_wait_s": oldest.as_secs_f64()},
        "intake": intake,
        "reason": reason,
    }))
    .into_response()
}

fn reply<T: serde::Serialize>(result: Result<T, StoreError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(err) => store_error(&err),
    }
}

fn found<T: serde::Serialize>(result: Result<Option<T>, StoreError>, what: &str) -> Response {
    match result {
        Ok(Some(value)) => Json(value).into_response(),
        Ok(None) => not_found(what),
        Err(err) => store_error(&err),
    }
}

fn store_error(err: &StoreError) -> Response {
    let status = match err {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::Conflict { .. } => StatusCode::CONFLICT,
        e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({"error": err.to_string()}))).into_response()
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no such {what}")})),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}
