//! The dashboard's security: the strict Content-Security-Policy (with a report endpoint that
//! counts violations), the login form that turns `server.admin_token` into an HttpOnly,
//! SameSite=Strict cookie, and the check of that cookie on every page. Without an admin token the
//! server only listens on loopback (the host config refuses anything else), like the API.

use std::sync::atomic::Ordering;

use askama::Template;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{UiState, failure, html};

/// The policy every dashboard response carries; violations are posted to `REPORT_PATH`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where browsers post CSP violation reports.
pub const REPORT_PATH: &str = "/ui/csp-report";

/// The cookie holding the admin token (the admin API's guard accepts it too).
pub const COOKIE: &str = "switchboard_admin";

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

/// Pages need the admin token's cookie when a token is configured; state changes also need
/// an `Origin` of this server.
pub async fn require_login(State(ui): State<UiState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && !same_origin(request.headers()) {
        let message = "a state change must come from a dashboard page (the Origin header is missing or foreign); reload the page and try again";
        return failure(StatusCode::FORBIDDEN, message);
    }
    let Some(token) = &ui.admin.token else {
        return next.run(request).await;
    };
    if cookie(request.headers(), COOKIE).is_some_and(|c| token.matches(c)) {
        return next.run(request).await;
    }
    if request.method() == Method::GET {
        return Redirect::to("/ui/login").into_response();
    }
    failure(
        StatusCode::UNAUTHORIZED,
        "sign in first: open /ui/login and enter the admin token",
    )
}

/// True when `Origin` names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            authority == Some(host)
        }
        _ => false,
    }
}

/// The value of a cookie in the `Cookie` header.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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

/// `POST /ui/login`: a correct token sets the cookie and opens the runs page.
pub async fn login(
    State(ui): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<Login>,
) -> Response {
    if !same_origin(&headers) {
        return failure(
            StatusCode::FORBIDDEN,
            "sign in from the dashboard's own login page",
        );
    }
    let accepted = match &ui.admin.token {
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
