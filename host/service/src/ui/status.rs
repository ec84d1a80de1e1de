//! The state pages: plugins (grants, limits, digest, reload problems, 24-hour outcomes),
//! connections (messenger, last status event, failed runs grouped by error), schedules and
//! nodes. Each reads what the admin API's handler of the same name reads.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{TimeDelta, Utc};
use serde_json::Value;
use switchboard_store::{MAX_PAGE, RunFilter, RunStatus, StatusCount};

use super::pages::{Nav, at, clip};
use super::{UiState, failure, html, store_failure};
use crate::output::short_imports;

/// A loaded plugin as shown.
pub struct PluginView {
    pub name: String,
    pub digest: String,
    pub file: String,
    pub imports: String,
    pub grants: String,
    pub limits: String,
    pub triggers: Vec<String>,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Template)]
#[template(path = "ui/plugins.html")]
pub struct PluginsPage {
    pub nav: Nav,
    pub plugins: Vec<PluginView>,
    pub problems: Vec<String>,
}

/// `GET /ui/plugins`.
pub async fn plugins(State(ui): State<UiState>) -> Response {
    let since = Utc::now() - TimeDelta::hours(24);
    let mut views = Vec::new();
    for p in ui.admin.plugins.current().iter() {
        let name = p.manifest.plugin.name.as_str().to_owned();
        let filter = RunFilter {
            plugin: Some(name.clone()),
            since: Some(since),
            ..RunFilter::default()
        };
        let counts = match ui.admin.store.count_runs(filter).await {
            Ok(c) => c,
            Err(err) => return store_failure(&err),
        };
        views.push(PluginView {
            digest: clip(&p.digest, 12),
            file: p.file.clone(),
            imports: short_imports(p.plugin.imports()),
            grants: format!("{:#?}", p.manifest.capabilities),
            limits: format!("{:?}", p.manifest.limits),
            triggers: p
                .manifest
                .triggers
                .iter()
                .map(|t| format!("{t:?}"))
                .collect(),
            succeeded: of(&counts, |s| s == RunStatus::Succeeded),
            failed: of(&counts, |s| !s.is_unfinished() && s != RunStatus::Succeeded),
            name,
        });
    }
    let problems = ui
        .admin
        .reload_problems
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    html(&PluginsPage {
        nav: Nav::Plugins,
        plugins: views,
        problems,
    })
}

fn of(counts: &[StatusCount], pick: impl Fn(RunStatus) -> bool) -> u64 {
    counts
        .iter()
        .filter(|c| pick(c.status))
        .map(|c| c.runs)
        .sum()
}

/// A connection as shown.
pub struct ConnectionView {
    pub id: i64,
    pub messenger: String,
    pub last_status: String,
    /// `(error, runs)`, most frequent first.
    pub failures: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "ui/connections.html")]
pub struct ConnectionsPage {
    pub nav: Nav,
    pub connections: Vec<ConnectionView>,
}

/// How far back the connections page counts failed runs ("last 24 h" on the page).
const FAILURE_WINDOW: TimeDelta = TimeDelta::hours(24);

/// `GET /ui/connections`: every connection with kept events (one store query: each one's newest
/// event and newest status event, by index), and its failed runs of the last 24 hours grouped by
/// error (one store aggregate over all of them).
pub async fn connections(State(ui): State<UiState>) -> Response {
    let store = &ui.admin.store;
    let found = match store.connections(MAX_PAGE).await {
        Ok(found) => found,
        Err(err) => return store_failure(&err),
    };
    let mut by_id: BTreeMap<i64, ConnectionView> = BTreeMap::new();
    for c in &found {
        let messenger = match ui.admin.intake.directory.source_type(c.connection_id).await {
            Some(s) => crate::stored_event::source_name(s).to_owned(),
            None => stored_messenger(&c.last_event.event.payload)
                .unwrap_or_else(|| "unknown (not in Radist's connection list yet)".to_owned()),
        };
        let last_status = c.last_status.as_ref().map_or_else(String::new, |e| {
            format!(
                "{} at {}",
                clip(&e.event.payload, 160),
                at(&e.event.received_at)
            )
        });
        let view = ConnectionView {
            id: c.connection_id,
            messenger,
            last_status,
            failures: Vec::new(),
        };
        by_id.insert(c.connection_id, view);
    }
    let since = Utc::now() - FAILURE_WINDOW;
    let groups = match store.failures_by_connection(since, MAX_PAGE).await {
        Ok(groups) => groups,
        Err(err) => return store_failure(&err),
    };
    // The store groups by the error's first characters; equal clipped texts are one group.
    let mut errors: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for g in groups {
        *errors
            .entry((g.connection_id, clip(&g.error, 200)))
            .or_default() += g.runs;
    }
    for ((id, error), runs) in errors {
        if let Some(view) = by_id.get_mut(&id) {
            view.failures.push((error, runs));
        }
    }
    for view in by_id.values_mut() {
        view.failures.sort_by_key(|f| std::cmp::Reverse(f.1));
    }
    html(&ConnectionsPage {
        nav: Nav::Connections,
        connections: by_id.into_values().collect(),
    })
}

/// The messenger intake recorded in a stored webhook event (`source_type`), if any.
fn stored_messenger(payload: &str) -> Option<String> {
    let stored: Value = serde_json::from_str(payload).ok()?;
    let name = stored.get("source_type")?.as_str()?;
    Some(format!("{name} (as of its newest event)"))
}

#[derive(Template)]
#[template(path = "ui/schedules.html")]
pub struct SchedulesPage {
    pub nav: Nav,
    /// `(name, value)` lines of each schedule, as `/api/schedules` has them.
    pub schedules: Vec<Vec<(&'static str, String)>>,
}

/// `GET /ui/schedules`.
pub async fn schedules(State(ui): State<UiState>) -> Response {
    let now = Utc::now();
    let mut views = Vec::new();
    for p in ui.admin.plugins.current().iter() {
        for entry in crate::serve::scheduler::entries_of(&p.manifest) {
            match crate::views::schedule_view(&ui.admin.store, &entry, now).await {
                Ok(v) => views.push(schedule_lines(&v)),
                Err(err) => {
                    return failure(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("{err:#}"),
                    );
                }
            }
        }
    }
    html(&SchedulesPage {
        nav: Nav::Schedules,
        schedules: views,
    })
}

fn schedule_lines(v: &Value) -> Vec<(&'static str, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let last_run = match v["last_run"]["run_id"].as_i64() {
        Some(id) => format!("{id} ({})", v["last_run"]["status"].as_str().unwrap_or("")),
        None => "-".to_owned(),
    };
    let mut lines: Vec<(&'static str, String)> = [
        "schedule",
        "plugin",
        "cron",
        "timezone",
        "overlap",
        "catch_up",
        "last_slot",
    ]
    .into_iter()
    .map(|k| (k, text(&v[k])))
    .collect();
    lines.push(("last run", last_run));
    for k in ["fired", "caught_up", "skipped", "missed", "next"] {
        lines.push((k, text(&v[k])));
    }
    lines
}

/// A node as shown.
pub struct NodeView {
    pub node: String,
    pub live: bool,
    pub started: String,
    pub heartbeat: String,
    pub lease_until: String,
    pub running: u64,
    pub lanes: Vec<String>,
}

#[derive(Template)]
#[template(path = "ui/nodes.html")]
pub struct NodesPage {
    pub nav: Nav,
    pub nodes: Vec<NodeView>,
}

/// `GET /ui/nodes`.
pub async fn nodes(State(ui): State<UiState>) -> Response {
    // Live or not on the store's clock (the database server's), as the leases and the API judge it.
    let listed = match ui.admin.store.clock().await {
        Ok(now) => ui.admin.store.nodes(now).await,
        Err(err) => Err(err),
    };
    let nodes = match listed {
        Ok(n) => n,
        Err(err) => return store_failure(&err),
    };
    let nodes = nodes
        .into_iter()
        .map(|n| NodeView {
            live: n.live,
            started: at(&n.started_at),
            heartbeat: at(&n.heartbeat_at),
            lease_until: at(&n.lease_until),
            running: n.running,
            lanes: n.lanes,
            node: n.node,
        })
        .collect();
    html(&NodesPage {
        nav: Nav::Nodes,
        nodes,
    })
}
