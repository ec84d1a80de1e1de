//! The overview (`/ui/overview`): runs per minute by outcome over the last hour and the p95
//! time from queued to finished, drawn as SVG on the server (no script, no inline style), the
//! queue depth, the database's size, the retention policy (from the host config) and the
//! oldest run it kept.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use switchboard_store::{MAX_PAGE, RunFilter, RunSummary};

use switchboard_manifest::RetentionConfig;

use super::pages::{Nav, at};
use super::{UiState, html, store_failure};

/// Minutes drawn.
const MINUTES: usize = 60;
/// Chart geometry (SVG user units).
const WIDTH: u64 = 600;
const HEIGHT: u64 = 150;

/// One stacked bar: x, the succeeded part and the failed part (y and height each).
pub struct Bar {
    pub x: u64,
    pub ok: (u64, u64),
    pub bad: (u64, u64),
}

#[derive(Template)]
#[template(path = "ui/overview.html")]
pub struct OverviewPage {
    pub nav: Nav,
    pub bars: Vec<Bar>,
    pub bar_width: u64,
    pub peak: u64,
    /// The p95 line's points, `x,y x,y ...`.
    pub p95_points: String,
    pub p95_peak_ms: u64,
    pub runs: usize,
    pub queued: u64,
    pub running: u64,
    pub retrying: u64,
    pub tables: Vec<(String, u64)>,
    pub db_mib: String,
    /// `(what, how long)` lines of `[retention]`.
    pub retention: Vec<(&'static str, String)>,
    /// The oldest run kept: `(id, created, age in days)`.
    pub oldest: Option<(i64, String, i64)>,
}

/// The retention policy as the overview states it.
fn retention_lines(config: &RetentionConfig) -> Vec<(&'static str, String)> {
    let days = |d: u32| format!("{d} day(s)");
    let cap = config
        .max_db_mib
        .map_or_else(|| "none".to_owned(), |mib| format!("{mib} MiB"));
    vec![
        ("succeeded", days(config.succeeded_days)),
        ("other endings", days(config.failed_days)),
        ("quarantine", days(config.failed_days)),
        ("runless events", days(config.succeeded_days)),
        ("size cap", cap),
        ("pass every", format!("{} s", config.interval_s)),
    ]
}

/// `GET /ui/overview`.
pub async fn page(State(ui): State<UiState>) -> Response {
    let store = &ui.admin.store;
    let now = Utc::now();
    let filter = RunFilter {
        since: Some(now - TimeDelta::minutes(MINUTES as i64)),
        limit: MAX_PAGE,
        ..RunFilter::default()
    };
    let (runs, depth, stats) = match (
        store.list_runs(filter).await,
        store.queue_depth().await,
        store.stats().await,
    ) {
        (Ok(r), Ok(d), Ok(s)) => (r, d, s),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return store_failure(&e),
    };
    let oldest = match store.oldest_run().await {
        Ok(oldest) => oldest.map(|r| {
            (
                r.run_id.0,
                at(&r.created_at),
                (now - r.created_at).num_days(),
            )
        }),
        Err(e) => return store_failure(&e),
    };
    let minutes = per_minute(&runs, now);
    let peak = minutes.iter().map(|m| m.0 + m.1).max().unwrap_or(0).max(1);
    let bar_width = WIDTH / MINUTES as u64;
    let bars = minutes
        .iter()
        .enumerate()
        .map(|(i, &(ok, bad))| {
            let ok_h = ok * HEIGHT / peak;
            let bad_h = bad * HEIGHT / peak;
            Bar {
                x: i as u64 * bar_width,
                ok: (HEIGHT - ok_h, ok_h),
                bad: (HEIGHT - ok_h - bad_h, bad_h),
            }
        })
        .collect();
    let p95 = p95_per_minute(&runs, now);
    let p95_peak = p95.iter().copied().max().unwrap_or(0).max(1);
    let p95_points = p95
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            format!(
                "{},{}",
                i as u64 * bar_width + bar_width / 2,
                HEIGHT - v * HEIGHT / p95_peak
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    html(&OverviewPage {
        nav: Nav::Overview,
        bars,
        bar_width: bar_width.saturating_sub(1).max(1),
        peak,
        p95_points,
        p95_peak_ms: p95_peak,
        runs: runs.len(),
        queued: depth.queued,
        running: depth.running,
        retrying: depth.retrying,
        tables: stats.rows.clone(),
        db_mib: format!(
            "{:.2}",
            (stats.file_bytes + stats.wal_bytes) as f64 / (1024.0 * 1024.0)
        ),
        retention: retention_lines(&ui.retention),
        oldest,
    })
}

/// Minute index (0 = oldest) of a time in the last hour.
fn minute(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<usize> {
    let back = usize::try_from((now - t).num_minutes()).ok()?;
    (back < MINUTES).then(|| MINUTES - 1 - back)
}

/// `(succeeded, failed)` finished runs created in each minute.
fn per_minute(runs: &[RunSummary], now: DateTime<Utc>) -> Vec<(u64, u64)> {
    let mut minutes = vec![(0, 0); MINUTES];
    for r in runs.iter().filter(|r| !r.status.is_unfinished()) {
        if let Some(i) = minute(r.created_at, now) {
            if r.status == switchboard_store::RunStatus::Succeeded {
                minutes[i].0 += 1;
            } else {
                minutes[i].1 += 1;
            }
        }
    }
    minutes
}

/// The p95 of queued-to-finished milliseconds of the runs created in each minute (0 when none).
fn p95_per_minute(runs: &[RunSummary], now: DateTime<Utc>) -> Vec<u64> {
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); MINUTES];
    for r in runs.iter().filter(|r| !r.status.is_unfinished()) {
        if let Some(i) = minute(r.created_at, now) {
            let ms = (r.updated_at - r.created_at).num_milliseconds();
            times[i].push(u64::try_from(ms).unwrap_or(0));
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_unstable();
            t.get((t.len() * 95).div_ceil(100).saturating_sub(1))
                .copied()
                .unwrap_or(0)
        })
        .collect()
}
