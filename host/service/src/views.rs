//! The views the CLI, the admin API and the dashboard share: the list queries (`runs`,
//! `events`, `quarantine` pages) with their parsing and page cap, and the JSON shapes of a
//! quarantined request, a loaded plugin and a schedule. One place, so `switchboard runs --json`,
//! `GET /api/runs` and the dashboard agree on what a filter means and what a view holds.

use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_store::{
    EventFilter, EventId, MAX_PAGE, QuarantineEntry, RunFilter, RunId, RunStatus, role,
};

use crate::output;
use crate::serve::scheduler::Entry;
use crate::wiring::LoadedPlugin;

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

/// A quarantined request as JSON: the body as text when it is UTF-8, else base64.
pub fn quarantine_json(entry: &QuarantineEntry) -> Value {
    let headers: Value = serde_json::from_str(&entry.headers).unwrap_or(Value::Null);
    let body = match std::str::from_utf8(&entry.body) {
        Ok(text) => json!({ "text": text }),
        Err(_) => {
            json!({ "base64": base64::engine::general_purpose::STANDARD.encode(&entry.body) })
        }
    };
    json!({
        "id": entry.id,
        "received_at": entry.received_at,
        "reason": entry.reason,
        "headers": headers,
        "body": body,
    })
}

/// A loaded plugin as JSON: name, manifest, digest, imports, grants and triggers.
pub fn plugin_json(p: &LoadedPlugin) -> Value {
    json!({
        "name": p.manifest.plugin.name.as_str(),
        "manifest": p.file,
        "sha256": p.digest,
        "imports": output::short_imports(p.plugin.imports()),
        "grants": p.manifest.capabilities.grant_lines(),
        "triggers": p.manifest.triggers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "limits": p.manifest.limits.to_string(),
    })
}

/// One schedule as `switchboard schedules` and `/api/schedules` show it.
pub async fn schedule_view<S: role::Schedules + role::History + ?Sized>(
    store: &Arc<S>,
    entry: &Entry,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let states = store.schedule_states().await?;
    let state = states.iter().find(|s| s.schedule_key == entry.key);
    let lane = format!("{}/schedule/{}", entry.plugin, entry.key);
    let filter = RunFilter {
        plugin: Some(entry.plugin.clone()),
        limit: 500,
        ..RunFilter::default()
    };
    let last_run = store
        .list_runs(filter)
        .await?
        .into_iter()
        .find(|r| r.lane.starts_with(&lane));
    let next: Vec<String> = entry
        .schedule
        .fires_after(now)
        .take(5)
        .map(|t| t.with_timezone(&entry.trigger.timezone).to_rfc3339())
        .collect();
    Ok(json!({
        "schedule": entry.key,
        "plugin": entry.plugin,
        "cron": entry.trigger.cron.as_str(),
        "timezone": entry.trigger.timezone.name(),
        "overlap": entry.trigger.overlap.as_str(),
        "catch_up": entry.trigger.catch_up.as_str(),
        "last_slot": state.and_then(|s| s.last_slot),
        "last_run": last_run.map(|r| json!({"run_id": r.run_id, "status": r.status.as_str()})),
        "fired": state.map_or(0, |s| s.fired),
        "caught_up": state.map_or(0, |s| s.caught_up),
        "skipped": state.map_or(0, |s| s.skipped),
        "missed": state.map_or(0, |s| s.missed),
        "next": next,
    }))
}
