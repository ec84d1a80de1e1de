//! The admin API under `/api/` (the same data as the `runs`, `events`, `quarantine` and
//! `plugins` commands, as JSON), `/metrics` and the health endpoints. The admin routes sit
//! behind [`guard`](crate::serve::guard): the token when one is configured, loopback `Host`
//! otherwise, same-origin and JSON bodies for every state change. `/healthz` and `/readyz` are
//! open (load balancers call them); `/readyz` says 503 when the store cannot write.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_store::{
    EventFilter, EventId, MAX_PAGE, QuarantineId, RunFilter, RunId, RunStatus, Store, StoreError,
};

use crate::serve::intake::Intake;
use crate::serve::plugins::SharedPlugins;

/// What the admin handlers read.
pub struct Admin {
    pub store: Arc<dyn Store>,
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

/// Query of `GET /api/runs` and `POST /api/runs/replay`.
#[derive(Debug, Default, Deserialize)]
pub struct RunQuery {
    pub plugin: Option<String>,
    pub status: Option<String>,
    /// RFC 3339.
    pub since: Option<String>,
    /// `<connection>:<chat>`.
    pub chat: Option<String>,
    /// The event kind (trigger), e.g. `message.received`.
    #[serde(default)]
    pub kind: Option<String>,
    /// RFC 3339; runs created before it.
    #[serde(default)]
    pub until: Option<String>,
    /// Words the event payload holds, all of them, whole, in any case.
    #[serde(default)]
    pub text: Option<String>,
    pub limit: Option<usize>,
    pub before: Option<i64>,
}

impl RunQuery {
    /// The store filter, or what is wrong with the query.
    pub fn filter(&self) -> Result<RunFilter, String> {
        Ok(RunFilter {
            plugin: self.plugin.clone(),
            status: self
                .status
                .as_deref()
                .map(RunStatus::from_str)
                .transpose()
                .map_err(|e| e.to_string())?,
            since: self.since.as_deref().map(parse_time).transpose()?,
            chat: self.chat.as_deref().map(parse_chat).transpose()?,
            kind: self.kind.clone(),
            until: self.until.as_deref().map(parse_time).transpose()?,
            text: self.text.as_deref().map(parse_text).transpose()?,
            limit: page_limit(self.limit)?,
            before: self.before.map(RunId),
        })
    }
}

/// A text filter: it must hold a word (letters or digits) to look for.
pub fn parse_text(text: &str) -> Result<String, String> {
    if switchboard_store::search::query_words(text).is_empty() {
        return Err(format!(
            "text `{text}` has no word to look for; give letters or digits, e.g. text=delivery"
        ));
    }
    Ok(text.to_owned())
}

/// A list's page size: 50 by default, refused above the store's largest page (list rows carry
/// no payloads; page on with `before`).
pub fn page_limit(limit: Option<usize>) -> Result<usize, String> {
    match limit {
        None => Ok(50),
        Some(n) if n <= MAX_PAGE => Ok(n),
        Some(n) => Err(format!(
            "limit {n} is above the largest page ({MAX_PAGE}); ask for at most {MAX_PAGE} and page on with `before` (the id of the last row)"
        )),
    }
}

/// An RFC 3339 time.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|_| format!("`{text}` is not an RFC 3339 time like 2026-12-01T09:00:00Z"))
}

/// `<connection>:<chat>`.
pub fn parse_chat(text: &str) -> Result<(i64, i64), String> {
    let parsed = text
        .split_once(':')
        .and_then(|(c, h)| Some((c.parse().ok()?, h.parse().ok()?)));
    parsed
        .ok_or_else(|| format!("`{text}` is not `<connection id>:<chat id>`, e.g. 70001:38000001"))
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

/// Query of `GET /api/events`.
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub chat: Option<String>,
    pub since: Option<String>,
    pub limit: Option<usize>,
    pub before: Option<i64>,
}

impl EventQuery {
    pub fn filter(&self) -> Result<EventFilter, String> {
        Ok(EventFilter {
            kind: self.kind.clone(),
            chat: self.chat.as_deref().map(parse_chat).transpose()?,
            since: self.since.as_deref().map(parse_time).transpose()?,
            limit: page_limit(self.limit)?,
            before: self.before.map(EventId),
        })
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
        Ok(Some(entry)) => Json(crate::history::quarantine_json(&entry)).into_response(),
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
    let list: Vec<Value> = set.iter().map(|p| crate::history::plugin_json(p)).collect();
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
            match crate::history::schedule_view(&admin.store, &entry, now).await {
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
