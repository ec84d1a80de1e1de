//! The dashboard's own security: the strict Content-Security-Policy on every response (with a
//! report endpoint that counts violations) and the login form that turns `server.admin_token`
//! into the guard's HttpOnly, SameSite=Strict cookie. The token, `Host` and `Origin` checks are
//! the admin guard's (`serve/guard.rs`), in front of these routes as of the API.

use std::sync::atomic::Ordering;

use askama::Template;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{UiState, html};
use crate::serve::guard::COOKIE;

/// The policy every dashboard response carries; violations are posted to `REPORT_PATH`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where browsers post CSP violation reports.
pub const REPORT_PATH: &str = "/ui/csp-report";

/// Adds the CSP and the other protective headers to every dashboard response. The referrer
/// policy is `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
/// with form posts, and the same-origin check could not tell the dashboard's own forms apart.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let policy = format!("{CSP}; report-uri {REPORT_PATH}");
    if let Ok(value) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage<'a> {
    nav: super::pages::Nav,
    problem: Option<&'a str>,
}

/// `GET /ui/login`.
pub async fn login_form() -> Response {
    html(&LoginPage {
        nav: super::pages::Nav::None,
        problem: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct Login {
    token: String,
}

/// `POST /ui/login` (same-origin, as the guard checks every state change): a correct token
/// sets the cookie and opens the runs page.
pub async fn login(State(ui): State<UiState>, Form(form): Form<Login>) -> Response {
    let accepted = match &ui.token {
        Some(token) => token.matches(&form.token),
        None => true,
    };
    if !accepted {
        let page = LoginPage {
            nav: super::pages::Nav::None,
            problem: Some(
                "that is not the admin token; it is `server.admin_token` of the host config",
            ),
        };
        return (StatusCode::UNAUTHORIZED, html(&page)).into_response();
    }
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", form.token);
    let mut response = Redirect::to("/ui/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /ui/csp-report`: counts a violation report (its body is not kept).
pub async fn report(State(ui): State<UiState>, body: axum::body::Bytes) -> StatusCode {
    let total = ui.csp_reports.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::warn!(
        bytes = body.len(),
        total,
        "the dashboard received a content-security-policy violation report"
    );
    StatusCode::NO_CONTENT
}

/// `GET /ui/csp-report`: how many reports arrived since start.
pub async fn report_count(State(ui): State<UiState>) -> Response {
    axum::Json(json!({"reports": ui.csp_reports.load(Ordering::Relaxed)})).into_response()
}
