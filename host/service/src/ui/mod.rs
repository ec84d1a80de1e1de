//! The dashboard under `/ui/` (`/` redirects there): server-rendered HTML from askama templates
//! (compile-time checked, every value escaped), a vendored htmx with its SSE extension for the
//! live runs list, and our own CSS, all embedded in the binary (`assets.rs`).
//!
//! It reads the store through the same queries as the admin API (`serve/admin.rs`) and shares
//! its state, so CLI, API and UI show one source of data. Every response carries the strict
//! Content-Security-Policy of `security.rs`. The routes sit behind the admin surface's guard
//! (`serve/guard.rs`): with `server.admin_token` set every page needs the token, which the login
//! form keeps in the guard's HttpOnly, SameSite=Strict cookie; every state change must be
//! same-origin; without a token only loopback is served.

mod assets;
mod chat;
mod filter;
mod lists;
mod overview;
mod pages;
mod run;
mod runs;
pub use filter::COUNT_WINDOW;
mod security;
mod status;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use switchboard_manifest::RetentionConfig;

use crate::serve::admin::Admin;
use crate::serve::token::Token;

/// What the dashboard's handlers read: the admin API's state, the admin token (for the login
/// form) and the CSP report counter.
pub struct Ui {
    pub admin: Arc<Admin>,
    pub token: Option<Token>,
    /// CSP violation reports received since start (a clean page never sends one).
    pub csp_reports: AtomicU64,
    /// Live runs streams open now (a hidden tab closes its own).
    pub live_streams: AtomicU64,
    /// What retention keeps (the overview shows it).
    pub retention: RetentionConfig,
}

/// Shared handler state.
pub type UiState = Arc<Ui>;

/// `/` and everything under `/ui/`, to be served behind the admin guard.
pub fn routes(admin: Arc<Admin>, token: Option<Token>, retention: RetentionConfig) -> Router {
    let ui = Arc::new(Ui {
        admin,
        token,
        csp_reports: AtomicU64::new(0),
        live_streams: AtomicU64::new(0),
        retention,
    });
    let pages = Router::new()
        .route("/ui/", get(runs::page))
        .route("/ui/runs", get(runs::page))
        .route("/ui/runs/live", get(runs::live))
        .route("/ui/runs/{id}", get(run::page))
        .route("/ui/runs/{id}/replay", get(run::preview).post(run::replay))
        .route(
            "/ui/replay",
            get(runs::bulk_preview).post(runs::bulk_replay),
        )
        .route("/ui/chats/{connection}/{chat}", get(chat::page))
        .route("/ui/events", get(lists::events))
        .route("/ui/events/{id}", get(lists::event))
        .route("/ui/quarantine", get(lists::quarantine))
        .route("/ui/quarantine/{id}", get(lists::quarantined))
        .route("/ui/quarantine/{id}/retry", post(lists::retry))
        .route("/ui/plugins", get(status::plugins))
        .route("/ui/connections", get(status::connections))
        .route("/ui/schedules", get(status::schedules))
        .route("/ui/nodes", get(status::nodes))
        .route("/ui/overview", get(overview::page));
    let open = Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/login", get(security::login_form).post(security::login))
        .route(
            "/ui/csp-report",
            get(security::report_count).post(security::report),
        );
    pages
        .merge(open)
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(ui)
}

/// A rendered template as an HTML response, or a 500 naming the template problem.
pub(crate) fn html<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(body) => Html(body).into_response(),
        Err(err) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot render the page: {err}"),
        ),
    }
}

/// An error page: what went wrong and what to do, escaped like every other page.
pub(crate) fn failure(status: StatusCode, message: &str) -> Response {
    let page = pages::ErrorPage {
        nav: pages::Nav::None,
        message,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| "the dashboard cannot render its error page".to_owned());
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// What the store's `lookup` finds, or the page saying it is not there (404, `missing` says
/// what) or that the store failed.
pub(crate) async fn found<T>(
    lookup: impl Future<Output = switchboard_store::StoreResult<Option<T>>>,
    missing: impl FnOnce() -> String,
) -> Result<T, Response> {
    match lookup.await {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(failure(StatusCode::NOT_FOUND, &missing())),
        Err(err) => Err(store_failure(&err)),
    }
}

/// The store said no: unavailable (503), missing (404) or broken (500).
pub(crate) fn store_failure(err: &switchboard_store::StoreError) -> Response {
    let status = if err.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    failure(
        status,
        &format!("the store failed: {err}; try again, or see the service's log"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::StoreError;

    #[tokio::test]
    async fn found_answers_the_value_a_404_naming_what_is_missing_or_a_503() {
        let value = found(async { Ok(Some(7)) }, || unreachable!()).await;
        assert_eq!(value.ok(), Some(7));
        let missing = found(async { Ok(None::<u8>) }, || "no run 9".to_owned()).await;
        let page = missing.expect_err("missing");
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .expect("body");
        assert!(String::from_utf8_lossy(&body).contains("no run 9"));
        let down = StoreError::Unavailable {
            reason: "the disk is full".to_owned(),
        };
        let failed = found(async { Err::<Option<u8>, _>(down) }, || unreachable!()).await;
        let status = failed.expect_err("failed").status();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
