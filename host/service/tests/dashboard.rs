//! The dashboard in a real headless Chromium against the real `switchboard serve` (embedded
//! sandbox, SQLite file, the example plugins built from source): filters in the URL, a run's
//! ledger, replay with its dry run appearing live, bulk replay's count, the chat timeline, and
//! customer text that never runs as script under the strict CSP. Screenshots of every page go to
//! `docs/screenshots/`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::PathBuf;
use std::time::Duration;
use switchboard_store::prelude::*;

use browser::Browser;
use serde_json::Value;
use support::{Service, Workdir};
use switchboard_store::{
    AttemptStatus, FinishedAttempt, LogRow, NewEvent, Next, SqliteConfig, SqliteStore,
};
use switchboard_testing::ingest;

const BOUND: Duration = Duration::from_secs(60);
const XSS: &str = "<img src=x onerror=window.__xss=1>";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn screenshots() -> PathBuf {
    switchboard_testing::repo_root().join("docs/screenshots")
}

/// The runs of `plugin` once none is unfinished and at least `n` exist.
fn settled_runs(work: &Workdir, service: &Service, plugin: &str, n: usize) -> Vec<Value> {
    service.wait_for(BOUND, || {
        let runs = work.json(&["runs", "list", "--plugin", plugin]);
        let list = runs.as_array().cloned().unwrap_or_default();
        let settled = list.iter().all(|r| {
            !matches!(
                r["status"].as_str(),
                Some("queued" | "running" | "retrying")
            )
        });
        (list.len() >= n && settled).then_some(list)
    })
}

/// How many CSP violation reports the dashboard received.
fn csp_reports(service: &Service) -> u64 {
    let (status, body) = service.get_json(&format!("{}csp-report", service.dashboard));
    assert_eq!(status, 200, "{body}");
    body["reports"].as_u64().expect("a count")
}

#[test]
fn the_dashboard_filters_shows_the_ledger_replays_live_and_draws_the_chat() {
    let work = Workdir::shipped();
    let service = work.serve();
    assert!(
        service.dashboard.ends_with("/ui/"),
        "serve prints the dashboard URL: {}",
        service.dashboard
    );
    service.inbound(70001, "79000000001", "price?");
    let runs = settled_runs(&work, &service, "auto-reply", 1);
    let run_id = runs[0]["run_id"].as_i64().expect("run id");
    let chat = format!("{}/{}", runs[0]["connection_id"], runs[0]["chat_id"]);
    let shots = screenshots();
    let b = Browser::start();

    // Filters change the URL and the rows.
    b.goto(&service.dashboard);
    b.wait_until("the run is listed", |b| {
        !b.texts(&format!("tr[data-run='{run_id}']")).is_empty()
    });
    b.screenshot(&shots, "runs");
    b.select("#f-status", "failed");
    apply_filter(&b, &["status=failed"]);
    assert!(
        b.texts("tr[data-run]").is_empty(),
        "no failed run is listed"
    );
    b.select("#f-status", "succeeded");
    b.select("#f-plugin", "auto-reply");
    apply_filter(&b, &["status=succeeded", "plugin=auto-reply"]);
    let statuses = b.texts("tr[data-run] .badge[class*='s-']");
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == "succeeded"),
        "{statuses:?}"
    );
    let tabs = b.text("#tabs");
    assert!(tabs.contains("succeeded 1"), "counts per status: {tabs}");
    kind_until_and_text_filters(&b, &service, run_id);
    cli_takes_the_same_filters(&work, run_id);

    // A run's page shows the ledger: the send, done, with Radist's message id.
    b.click(&format!("tr[data-run='{run_id}'] a"));
    b.wait_until("the run page", |b| {
        b.url().ends_with(&format!("/ui/runs/{run_id}"))
    });
    b.assert_shows("#ledger", &["messages.send", "done"], "the send is done");
    let states = b.texts(".ledger-state");
    assert!(
        states.iter().any(|s| s == "intent, then done"),
        "the send's action row names its ledger state: {states:?}"
    );
    b.screenshot(&shots, "run");

    // Replay: a dry run first, then the run is queued and the list shows it change live.
    b.click("#replay");
    b.wait_until("the dry run", |b| b.url().ends_with("/replay"));
    assert!(
        b.text("#answered").contains("messages.send"),
        "the send is answered from the ledger"
    );
    b.screenshot(&shots, "replay-preview");
    b.click("#confirm");
    b.wait_until("back on the run", |b| {
        b.url().ends_with(&format!("/ui/runs/{run_id}"))
    });
    b.goto(&service.dashboard);
    b.wait_until("the live stream is open", |b| {
        b.eval("return document.body.getAttribute('data-live')") == "on"
    });
    b.eval("window.__stay = 1; return null");
    service.inbound(70001, "79000000005", "price?");
    b.wait_until("a new run appears without a reload", |b| {
        b.texts("tr[data-run]").len() >= 2
    });
    b.wait_until("the replayed run shows as a replay", |b| {
        b.text(&format!("tr[data-run='{run_id}']"))
            .contains("replay")
    });
    assert_eq!(
        b.eval("return window.__stay"),
        1,
        "the page was not reloaded"
    );
    live_updates_pause_while_hidden(&b, &work, &service);
    let after = settled_runs(&work, &service, "auto-reply", 2);

    // Bulk replay shows the exact filter and the count before anything runs.
    b.goto(&format!(
        "{}runs?plugin=auto-reply&status=succeeded",
        service.dashboard
    ));
    b.click("#bulk");
    b.wait_until("the bulk preview", |b| b.url().contains("/ui/replay?"));
    let why = "the filter is shown";
    b.assert_shows("#filter", &["auto-reply", "succeeded"], why);
    let count = b.text("#count b");
    assert_eq!(
        count,
        after.len().to_string(),
        "every succeeded auto-reply run"
    );
    b.screenshot(&shots, "bulk-replay");
    b.click("#confirm");
    b.wait_until("the bulk replay's result", |b| !b.texts("#done").is_empty());
    assert!(
        b.text("#done")
            .starts_with(&format!("{} run(s) queued", after.len()))
    );
    settled_runs(&work, &service, "auto-reply", 2);

    // The chat timeline: the customer's message, then the plugin's reply from the ledger.
    b.goto(&format!("{}chats/{chat}", service.dashboard));
    let kinds = b.texts("#timeline li .text");
    let classes: Vec<String> = (1..=kinds.len())
        .map(|i| {
            b.eval(&format!(
                "return document.querySelector('#timeline li:nth-child({i})').className"
            ))
            .as_str()
            .unwrap_or_default()
            .to_owned()
        })
        .collect();
    let customer = classes
        .iter()
        .position(|c| c == "customer")
        .expect("the customer's message");
    let reply = classes
        .iter()
        .position(|c| c == "reply")
        .expect("the plugin's reply");
    assert!(
        customer < reply,
        "the message comes before its reply: {classes:?}"
    );
    assert_eq!(kinds[customer], "price?");
    assert!(kinds[reply].contains("Доставка от 990"), "{kinds:?}");
    assert!(
        b.text("#window").contains("window open until"),
        "70001 is a WABA connection"
    );
    b.screenshot(&shots, "chat");

    for page in [
        "events",
        "quarantine",
        "plugins",
        "connections",
        "schedules",
        "nodes",
        "overview",
    ] {
        b.goto(&format!("{}{page}", service.dashboard));
        b.wait_until("the page", |b| {
            b.text("h1").to_lowercase().contains(&page[..4])
        });
        b.screenshot(&shots, page);
    }
    b.goto(&format!("{}overview", service.dashboard));
    let why = "the default retention policy";
    b.assert_shows("#retention", &["7 day(s)", "30 day(s)"], why);
    assert!(
        b.text("#oldest").contains(&format!("run {run_id},")),
        "the first run is the oldest kept: {}",
        b.text("#oldest")
    );
    assert_eq!(
        b.eval("return typeof window.htmx"),
        "object",
        "htmx loaded under the CSP"
    );
    assert_eq!(
        csp_reports(&service),
        0,
        "no page violated the content security policy"
    );
}

/// Applies the runs filter form and waits until the page's URL holds every one of `params`.
fn apply_filter(b: &Browser, params: &[&str]) {
    b.click("#apply");
    b.wait_until(&format!("the URL holds {params:?}"), |b| {
        let url = b.url();
        params.iter().all(|p| url.contains(p))
    });
}

/// Trigger kind, `until` and payload text filter the rows and stay in the URL; `/api/runs`
/// takes the same filter.
fn kind_until_and_text_filters(b: &Browser, service: &Service, run_id: i64) {
    let row = format!("tr[data-run='{run_id}']");
    b.goto(&format!("{}runs", service.dashboard));
    b.select("#f-kind", "message.received");
    b.type_into("#f-text", "PRICE");
    apply_filter(b, &["kind=message.received", "text=PRICE"]);
    assert_eq!(b.texts(&row).len(), 1, "the customer wrote `price?`");
    b.type_into("#f-until", "2000-01-01T00:00:00Z");
    apply_filter(b, &["until=2000"]);
    assert!(b.texts("tr[data-run]").is_empty(), "no run before 2000");
    for (query, rows) in [
        ("text=price", 1),
        ("text=prices", 0),
        ("kind=message.read", 0),
    ] {
        b.goto(&format!("{}runs?{query}", service.dashboard));
        assert_eq!(b.texts(&row).len(), rows, "{query}");
        let (status, listed) = service.get_json(&format!("{}runs?{query}", service.api));
        assert_eq!(status, 200, "{listed}");
        let ids: Vec<i64> = listed
            .as_array()
            .map(|l| l.iter().filter_map(|r| r["run_id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(
            ids.contains(&run_id),
            rows == 1,
            "/api/runs?{query}: {listed}"
        );
    }
    let (status, refused) = service.get_json(&format!("{}runs?text=%3F%21", service.api));
    assert_eq!(status, 400, "a text without a word is refused: {refused}");
    b.goto(&format!("{}runs", service.dashboard));
}

/// `runs list` takes the dashboard's kind, until and text filters too (one source of data).
fn cli_takes_the_same_filters(work: &Workdir, run_id: i64) {
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["runs", "list"];
        all.extend_from_slice(args);
        let listed = work.json(&all);
        let rows = listed.as_array().cloned().unwrap_or_default();
        rows.iter().filter_map(|r| r["run_id"].as_i64()).collect()
    };
    assert!(ids(&["--text", "PRICE", "--kind", "message.received"]).contains(&run_id));
    assert!(!ids(&["--text", "prices"]).contains(&run_id));
    assert!(ids(&["--until", "2000-01-01T00:00:00Z"]).is_empty());
    let refused = work.switchboard(&["runs", "list", "--text", "?!"]);
    assert!(
        !refused.status.success(),
        "a text without a word is refused"
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("has no word to look for"), "{said}");
}

/// How many live runs streams the service holds open (its `/metrics` gauge).
fn live_streams(service: &Service) -> f64 {
    let base = service.api.trim_end_matches("api/");
    let text = service
        .http
        .get(format!("{base}metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    let name = "switchboard_ui_live_streams ";
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.parse().ok())
        .unwrap_or(0.0)
}

/// Tells the page its tab is hidden (or visible again), as the browser would.
fn set_hidden(b: &Browser, hidden: bool) {
    let state = if hidden { "hidden" } else { "visible" };
    b.eval(&format!(
        "Object.defineProperty(document, 'visibilityState', {{configurable: true, get: () => '{state}'}});
         Object.defineProperty(document, 'hidden', {{configurable: true, get: () => {hidden}}});
         document.dispatchEvent(new Event('visibilitychange'));
         return null"
    ));
}

/// On the live runs page: hiding the tab closes its stream (the service holds none open), a run
/// arriving meanwhile changes nothing on the page, and showing the tab brings the run in.
fn live_updates_pause_while_hidden(b: &Browser, work: &Workdir, service: &Service) {
    assert!(live_streams(service) >= 1.0, "the visible page streams");
    set_hidden(b, true);
    service.wait_for(BOUND, || {
        let paused = b.eval("return document.body.getAttribute('data-live')") == "paused";
        (paused && live_streams(service) == 0.0).then_some(())
    });
    let before = settled_runs(work, service, "auto-reply", 1).len();
    service.inbound(70001, "79000000006", "price?");
    let newest = settled_runs(work, service, "auto-reply", before + 1)[0]["run_id"]
        .as_i64()
        .expect("run id");
    let row = format!("tr[data-run='{newest}']");
    assert_eq!(
        live_streams(service),
        0.0,
        "nothing reconnected while hidden"
    );
    assert!(b.texts(&row).is_empty(), "no update while hidden");
    set_hidden(b, false);
    b.wait_until("the run arrives once visible", |b| {
        !b.texts(&row).is_empty()
    });
    assert_eq!(live_streams(service), 1.0, "one stream again");
}

/// A finished run of a plugin that logged `XSS`, stored before `serve` starts.
fn seed_logged_run(work: &Workdir) -> i64 {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(work.path("data/switchboard.db")))
            .await
            .expect("store");
        let event = ingest::manual_event("manual-xss".into(), XSS);
        let run = ingest::one_attempt("logger", "logger/manual".into(), "manual");
        store.ingest(event, vec![run]).await.expect("ingest");
        let claimed = store
            .claim("seed", 1, chrono::Utc::now())
            .await
            .expect("claim")
            .remove(0);
        let attempt = FinishedAttempt {
            attempt: claimed.attempt,
            status: AttemptStatus::Failed,
            error: Some(format!("the plugin said {XSS}")),
            started_at: chrono::Utc::now(),
            duration_us: 1200,
            node: "seed".into(),
            plugin_digest: None,
            actions: Vec::new(),
            logs: vec![LogRow {
                level: "info".into(),
                source: "plugin".into(),
                message: XSS.into(),
            }],
        };
        store
            .finish(claimed.run_id, attempt, Next::Final)
            .await
            .expect("finish");
        claimed.run_id.0
    })
}

#[test]
fn customer_text_renders_as_text_and_never_runs() {
    let work = Workdir::shipped();
    std::fs::create_dir_all(work.path("data")).expect("data dir");
    let logged = seed_logged_run(&work);
    let service = work.serve();
    service.inbound(70001, "79000000009", XSS);
    let (status, body) = service.post_webhook(
        &service.webhook,
        "application/json",
        XSS.as_bytes().to_vec(),
    );
    assert_eq!(status, 400, "{body}");
    let quarantined = body["quarantine_id"].as_i64().expect("kept in quarantine");
    let runs = settled_runs(&work, &service, "auto-reply", 1);
    let run = runs[0]["run_id"].as_i64().expect("run id");
    let chat = format!("{}/{}", runs[0]["connection_id"], runs[0]["chat_id"]);
    let b = Browser::start();
    let pages = [
        (format!("chats/{chat}"), "#timeline"),
        (format!("runs/{run}"), "#raw"),
        (format!("runs/{logged}"), ".log-line"),
        (format!("quarantine/{quarantined}"), "#body"),
    ];
    for (page, css) in &pages {
        b.goto(&format!("{}{page}", service.dashboard));
        let text = b.text(css);
        assert!(
            text.contains(XSS),
            "{page}: the text is shown as written: {text}"
        );
        assert_eq!(
            b.eval("return typeof window.__xss"),
            "undefined",
            "{page} ran customer text"
        );
        assert_eq!(
            b.eval("return document.querySelectorAll('main img').length"),
            0,
            "{page}"
        );
    }
    b.goto(&format!("{}runs/{logged}", service.dashboard));
    assert!(b.text("#error").contains(XSS));
    b.screenshot(&screenshots(), "xss-as-text");
    let response = service
        .http
        .get(format!("{}runs/{run}", service.dashboard))
        .send()
        .expect("page");
    let policy = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(policy.starts_with(CSP), "{policy}");
    assert!(policy.contains("report-uri /ui/csp-report"), "{policy}");
    assert_eq!(
        csp_reports(&service),
        0,
        "no page violated the content security policy"
    );
}

#[test]
fn with_an_admin_token_the_dashboard_asks_once_and_keeps_an_httponly_cookie() {
    let token = "a-long-admin-token-for-the-dashboard-0123";
    let (_work, service) = support::serve_with_admin_token("127.0.0.1:0", token);
    let b = Browser::start();
    b.goto(&format!("{}runs", service.dashboard));
    b.wait_until("the login form", |b| b.url().ends_with("/ui/login"));
    b.screenshot(&screenshots(), "login");
    b.type_into("#token", "not-the-token");
    b.click("#sign-in");
    b.wait_until("the refusal", |b| !b.texts("#problem").is_empty());
    assert!(b.url().ends_with("/ui/login"));
    b.type_into("#token", token);
    b.click("#sign-in");
    b.wait_until("the runs page", |b| {
        b.url().ends_with("/ui/") && !b.texts("#tabs").is_empty()
    });
    assert_eq!(
        b.eval("return document.cookie.includes('switchboard_admin')"),
        false,
        "HttpOnly: no script reads it"
    );
    b.goto(&format!("{}plugins", service.dashboard));
    assert!(
        b.text("h1").contains("Plugins"),
        "the cookie is kept: no second login"
    );
    // A violation of the policy is reported to the dashboard's own endpoint and counted.
    b.eval("var i = document.createElement('img'); i.src = 'https://example.invalid/x.png'; document.body.appendChild(i); return null");
    let counted = || {
        let response = service
            .http
            .get(format!("{}csp-report", service.dashboard))
            .bearer_auth(token)
            .send()
            .expect("count");
        response
            .json::<Value>()
            .ok()
            .and_then(|v| v["reports"].as_u64())
            .unwrap_or(0)
    };
    service.wait_for(BOUND, || (counted() >= 1).then_some(()));
}

/// Stores a status change of connection 70555 (unknown to Radist's list, so its messenger comes
/// from the stored event), then `newer` events of connection 70001 after it.
fn seed_connection_status(work: &Workdir, newer: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(work.path("data/switchboard.db")))
            .await
            .expect("store");
        let event = |key: String, kind: &str, connection: i64, payload: Value| NewEvent {
            dedupe_key: key,
            kind: kind.into(),
            connection_id: Some(connection),
            chat_id: None,
            payload: payload.to_string(),
            received_at: chrono::Utc::now(),
        };
        let status = serde_json::json!({
            "source": "webhook",
            "event": {"kind": "connection.status-changed", "status": "disconnected"},
            "source_type": "telegram",
        });
        let first = event(
            "status-70555".into(),
            "connection.status-changed",
            70555,
            status,
        );
        store.ingest(first, Vec::new()).await.expect("ingest");
        let later = (0..newer).map(|i| {
            let payload = serde_json::json!({"source": "manual", "payload": i});
            store.ingest(
                event(format!("later-{i}"), "manual", 70001, payload),
                Vec::new(),
            )
        });
        for done in futures::future::join_all(later).await {
            done.expect("ingest");
        }
    });
}

#[test]
fn connections_show_the_last_status_however_many_events_came_after() {
    let work = Workdir::shipped();
    std::fs::create_dir_all(work.path("data")).expect("data dir");
    seed_connection_status(&work, 1_500);
    let service = work.serve();
    let b = Browser::start();
    b.goto(&format!("{}connections", service.dashboard));
    let rows = b.texts("#connections tbody tr");
    let row = rows
        .iter()
        .find(|r| r.starts_with("70555"))
        .unwrap_or_else(|| panic!("connection 70555 is listed: {rows:?}"));
    assert!(
        row.contains("telegram (as of its newest event)") && row.contains("disconnected"),
        "{row}"
    );
    assert!(rows.iter().any(|r| r.starts_with("70001")), "{rows:?}");
    assert_eq!(csp_reports(&service), 0);
}
