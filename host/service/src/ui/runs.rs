//! The runs page (`/ui/` and `/ui/runs`): filters kept in the URL, counts per status, keyset
//! pages, and a live region fed by server-sent events; and bulk replay by the same filter, which
//! shows the exact filter and the number of runs before anything is queued.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use switchboard_store::{MAX_PAGE, RecentCounts, RunFilter, RunStatus, RunSummary};

use super::filter::{COUNT_WINDOW, PAGE, RunsQuery};
use super::pages::{Nav, RunRow};
use super::{UiState, failure, html, store_failure};

/// How often the live stream looks for changes: at most one DOM update per tick, however many
/// runs arrive in between.
const LIVE_TICK: Duration = Duration::from_secs(1);
/// How often an idle live stream writes a comment: a tab that closed its stream (hidden, or
/// gone) is noticed at the next write, so its polling ends within this.
const LIVE_KEEP_ALIVE: Duration = Duration::from_secs(3);

/// One open live stream: counted in `Ui::live_streams` and the `switchboard_ui_live_streams`
/// gauge while it lives.
struct Watcher(UiState);

impl Watcher {
    fn new(ui: UiState) -> Self {
        let open = ui.live_streams.fetch_add(1, Ordering::AcqRel) + 1;
        metrics::gauge!("switchboard_ui_live_streams").set(open as f64);
        Watcher(ui)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let open = self.0.live_streams.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!("switchboard_ui_live_streams").set(open as f64);
    }
}

/// One status tab: its name, count and link.
pub struct Tab {
    pub label: String,
    pub runs: u64,
    /// Older runs were not counted: `runs` is a lower bound.
    pub more: bool,
    pub href: String,
    pub here: bool,
}

#[derive(Template)]
#[template(path = "ui/runs.html")]
pub struct RunsPage {
    pub nav: Nav,
    pub q: RunsQuery,
    pub plugins: Vec<String>,
    pub statuses: Vec<&'static str>,
    /// Trigger kinds the kind filter offers.
    pub kinds: Vec<&'static str>,
    pub tabs: Vec<Tab>,
    /// The window the tabs counted, when older runs exist.
    pub counted: Option<u64>,
    pub runs: Vec<RunRow>,
    /// The next page's query string, when this page is full.
    pub older: Option<String>,
    /// The SSE URL without `after`, on the first page only.
    pub live: Option<String>,
    pub filtered: String,
}

#[derive(Template)]
#[template(path = "ui/run_rows.html")]
pub struct RunRows {
    pub runs: Vec<RunRow>,
}

/// `GET /ui/` and `GET /ui/runs`.
/// The response says how long the server took in a `Server-Timing` header (the benchmark reads it).
pub async fn page(State(ui): State<UiState>, Query(q): Query<RunsQuery>) -> Response {
    let started = std::time::Instant::now();
    let mut response = match render(&ui, q).await {
        Ok(page) => html(&page),
        Err(response) => response,
    };
    let timing = format!("render;dur={:.3}", started.elapsed().as_secs_f64() * 1e3);
    if let Ok(value) = axum::http::HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

/// The runs page for a query.
async fn render(ui: &UiState, q: RunsQuery) -> Result<RunsPage, Response> {
    let filter = q
        .filter(PAGE)
        .map_err(|m| failure(StatusCode::BAD_REQUEST, &m))?;
    let store = &ui.admin.store;
    let runs = store
        .list_runs(filter)
        .await
        .map_err(|e| store_failure(&e))?;
    let all = q
        .without_status()
        .filter(PAGE)
        .map_err(|m| failure(StatusCode::BAD_REQUEST, &m))?;
    let counts = store
        .count_recent_runs(all, COUNT_WINDOW)
        .await
        .map_err(|e| store_failure(&e))?;
    let older = (runs.len() == PAGE)
        .then(|| runs.last().map(|r| q.older_than(r.run_id)))
        .flatten();
    let live = q
        .before
        .is_none()
        .then(|| format!("/ui/runs/live?{}", q.query_string()));
    Ok(RunsPage {
        nav: Nav::Runs,
        plugins: ui
            .admin
            .plugins
            .current()
            .iter()
            .map(|p| p.manifest.plugin.name.as_str().to_owned())
            .collect(),
        statuses: RunStatus::ALL.iter().map(|s| s.as_str()).collect(),
        kinds: trigger_kinds(),
        tabs: tabs(&q, &counts),
        counted: (!counts.complete).then_some(counts.window),
        runs: runs.iter().map(RunRow::of).collect(),
        older,
        live,
        filtered: q.query_string(),
        q,
    })
}

/// Every event kind a run can start from: the webhook and manual kinds, and schedule slots.
fn trigger_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = switchboard_manifest::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    kinds.push("schedule.fired"); // as `serve/scheduler.rs` stores a slot's event

    kinds
}

fn tabs(q: &RunsQuery, recent: &RecentCounts) -> Vec<Tab> {
    let (counts, more) = (&recent.counts, !recent.complete);
    let total = counts.iter().map(|c| c.runs).sum();
    let mut tabs = vec![Tab {
        label: "all".to_owned(),
        runs: total,
        more,
        href: q.with_status(""),
        here: q.status.trim().is_empty(),
    }];
    for status in RunStatus::ALL {
        let runs = counts
            .iter()
            .find(|c| c.status == status)
            .map_or(0, |c| c.runs);
        let here = q.status.trim() == status.as_str();
        if runs > 0 || here {
            tabs.push(Tab {
                label: status.as_str().to_owned(),
                runs,
                more,
                href: q.with_status(status.as_str()),
                here,
            });
        }
    }
    tabs
}

/// `GET /ui/runs/live?<filter>`: server-sent `runs` events, each the first page's rows, sent
/// when the page changed since the last tick (new runs, or a status change), at most once a
/// tick. The stream ends when the service shuts down, so it never holds the shutdown up.
pub async fn live(State(ui): State<UiState>, Query(q): Query<RunsQuery>) -> Response {
    let filter = match q.filter(PAGE) {
        Ok(f) => f,
        Err(m) => return failure(StatusCode::BAD_REQUEST, &m),
    };
    Sse::new(changes(Watcher::new(ui), filter))
        .keep_alive(KeepAlive::new().interval(LIVE_KEEP_ALIVE))
        .into_response()
}

/// What identifies a page's content: every row's id, status and last update.
fn fingerprint(runs: &[RunSummary]) -> Vec<(i64, RunStatus, i64)> {
    runs.iter()
        .map(|r| (r.run_id.0, r.status, r.updated_at.timestamp_micros()))
        .collect()
}

fn changes(watcher: Watcher, filter: RunFilter) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = (watcher, filter, None::<Vec<(i64, RunStatus, i64)>>);
    futures::stream::unfold(state, |(watcher, filter, mut seen)| async move {
        let ui = &watcher.0;
        loop {
            if !ui.admin.intake.accepting.load(Ordering::Acquire) {
                return None;
            }
            let runs = ui
                .admin
                .store
                .list_runs(filter.clone())
                .await
                .unwrap_or_default();
            let now = fingerprint(&runs);
            if seen.as_ref() != Some(&now) {
                seen = Some(now);
                let rows = RunRows {
                    runs: runs.iter().map(RunRow::of).collect(),
                };
                let body = rows.render().unwrap_or_default();
                let event = Event::default().event("runs").data(body);
                return Some((Ok(event), (watcher, filter, seen)));
            }
            tokio::time::sleep(LIVE_TICK).await;
        }
    })
}

#[derive(Template)]
#[template(path = "ui/bulk.html")]
pub struct BulkPage {
    pub nav: Nav,
    pub fields: Vec<(&'static str, String)>,
    pub matching: u64,
    /// Finished runs among the newest `MAX_PAGE` matches: exactly what a replay queues.
    pub replayable: usize,
    pub cap: usize,
    /// More runs match than a replay considers.
    pub capped: bool,
    pub notice: Option<String>,
    pub done: Option<usize>,
    pub filtered: String,
}

/// `GET /ui/replay?<filter>`: the filter and the count, and a button that replays them.
pub async fn bulk_preview(State(ui): State<UiState>, Query(q): Query<RunsQuery>) -> Response {
    match bulk(&ui, q, None).await {
        Ok(page) => html(&page),
        Err(response) => response,
    }
}

async fn bulk(ui: &UiState, q: RunsQuery, notice: Option<String>) -> Result<BulkPage, Response> {
    let bad = |m: String| failure(StatusCode::BAD_REQUEST, &m);
    let fields: Vec<(&'static str, String)> = q
        .fields()
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
    if fields.is_empty() {
        return Err(bad(
            "say which runs to replay: filter the runs list by plugin, status, kind, chat, time or text first"
                .to_owned(),
        ));
    }
    let store = &ui.admin.store;
    let counted = q.filter(MAX_PAGE).map_err(bad)?;
    let matching = store
        .count_runs(counted.clone())
        .await
        .map_err(|e| store_failure(&e))?;
    let newest = store
        .list_runs(counted)
        .await
        .map_err(|e| store_failure(&e))?;
    let matching: u64 = matching.iter().map(|c| c.runs).sum();
    Ok(BulkPage {
        nav: Nav::Runs,
        fields,
        capped: matching > MAX_PAGE as u64,
        matching,
        replayable: newest.iter().filter(|r| !r.status.is_unfinished()).count(),
        cap: MAX_PAGE,
        notice,
        done: None,
        filtered: q.query_string(),
    })
}

/// The confirmation of a bulk replay: the filter and the count the user saw.
#[derive(Debug, serde::Deserialize)]
pub struct BulkForm {
    #[serde(flatten)]
    pub q: RunsQuery,
    pub expected: usize,
}

/// `POST /ui/replay`: replays the runs the preview counted; when the count changed in between,
/// shows the new count and asks again instead.
pub async fn bulk_replay(State(ui): State<UiState>, Form(form): Form<BulkForm>) -> Response {
    let mut page = match bulk(&ui, form.q.clone(), None).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if page.replayable != form.expected {
        page.notice = Some(format!(
            "the number of runs changed from {} to {} since the preview; check it and confirm again",
            form.expected, page.replayable
        ));
        return html(&page);
    }
    let filter = match form.q.filter(MAX_PAGE) {
        Ok(f) => f,
        Err(m) => return failure(StatusCode::BAD_REQUEST, &m),
    };
    match ui.admin.store.requeue_where(filter, true).await {
        Ok(ids) => {
            page.done = Some(ids.len());
            html(&page)
        }
        Err(err) => store_failure(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::StatusCount;

    fn recent(complete: bool) -> RecentCounts {
        RecentCounts {
            counts: vec![
                StatusCount {
                    status: RunStatus::Failed,
                    runs: 3,
                },
                StatusCount {
                    status: RunStatus::Succeeded,
                    runs: 7,
                },
            ],
            window: 10,
            complete,
        }
    }

    #[test]
    fn tabs_mark_counts_of_a_window_that_left_older_runs_out() {
        let q = RunsQuery::default();
        let shown = |t: &[Tab]| -> Vec<(String, u64, bool)> {
            t.iter()
                .map(|t| (t.label.clone(), t.runs, t.more))
                .collect()
        };
        let all = |more| {
            vec![
                ("all".to_owned(), 10, more),
                ("succeeded".to_owned(), 7, more),
                ("failed".to_owned(), 3, more),
            ]
        };
        assert_eq!(shown(&tabs(&q, &recent(true))), all(false));
        assert_eq!(shown(&tabs(&q, &recent(false))), all(true));
        let page = RunsPage {
            nav: Nav::Runs,
            q: q.clone(),
            plugins: Vec::new(),
            statuses: Vec::new(),
            kinds: Vec::new(),
            tabs: tabs(&q, &recent(false)),
            counted: Some(10),
            runs: Vec::new(),
            older: None,
            live: None,
            filtered: String::new(),
        };
        let html = page.render().expect("render");
        assert!(html.contains("<b>10+</b>"), "{html}");
        assert!(html.contains("counted among the newest 10 runs"));
    }
}
