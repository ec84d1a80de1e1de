//! The gate in front of the admin surface (`/api/`, `/metrics`, the dashboard under `/ui/`).
//!
//! - With `server.admin_token` every request needs the token: `Authorization: Bearer <token>`
//!   (CLI, scripts, Prometheus) or the dashboard's HttpOnly, SameSite=Strict cookie
//!   [`COOKIE`].
//! - Without a token the admin surface only listens on loopback (refused otherwise at start, see
//!   `switchboard_manifest::admin_exposure`), and a request must name a loopback host in `Host`:
//!   a page on another site that rebinds its DNS name to 127.0.0.1 sends its own name, and is
//!   refused (DNS rebinding).
//! - Every state-changing request (any method but GET, HEAD, OPTIONS) made by a browser must be
//!   same-origin: `Origin` equal to the request's own origin, or `Sec-Fetch-Site: same-origin`
//!   (or `none`, typed by the user). Clients that send neither are not browsers (curl, the CLI)
//!   and cannot be forged by a web page. Cross-site request forgery is refused in both modes.
//! - State changes under `/api/` take a JSON body (`Content-Type: application/json`), never
//!   query parameters alone: a cross-site form cannot send that type without a CORS preflight,
//!   which this server never grants.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::serve::token::Token;

/// The dashboard's session cookie: the admin token, HttpOnly and SameSite=Strict.
pub const COOKIE: &str = "switchboard_admin";

/// Paths served without the token (still same-origin checked): the dashboard's login form and
/// its static assets.
const PUBLIC_PREFIXES: &[&str] = &["/ui/login", "/ui/assets/"];

/// What the gate knows.
pub struct Gate {
    pub token: Option<Token>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or the wrong one.
    Unauthorized,
    /// Token-less mode and `Host` is not a loopback name.
    ForeignHost(String),
    /// A state change from another origin.
    CrossOrigin(String),
    /// A state change under `/api/` without a JSON body.
    NotJson,
}

/// `router` behind the gate: every route in it (admin API, metrics, dashboard) is checked.
pub fn protect(router: axum::Router, gate: Gate) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(Arc::new(gate), guard))
}

/// The axum middleware: refuses what [`Gate::check`] refuses.
pub async fn guard(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match gate.check(request.method(), &path, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.response(&path),
    }
}

impl Gate {
    /// Whether this request may pass.
    pub fn check(&self, method: &Method, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
        let public = PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p));
        match &self.token {
            Some(token) if !public && !carries(token, headers) => {
                return Err(Refusal::Unauthorized);
            }
            Some(_) => {}
            None => loopback_host(headers)?,
        }
        if changes_state(method) {
            same_origin(headers)?;
            if path.starts_with("/api/") && !is_json(headers) {
                return Err(Refusal::NotJson);
            }
        }
        Ok(())
    }
}

impl Refusal {
    fn response(&self, path: &str) -> Response {
        let (status, message) = match self {
            Refusal::Unauthorized if path.starts_with("/ui") => {
                return Redirect::to("/ui/login").into_response();
            }
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "the admin API needs `Authorization: Bearer <server.admin_token>`".to_owned(),
            ),
            Refusal::ForeignHost(host) => (
                StatusCode::FORBIDDEN,
                format!(
                    "`Host: {host}` is not a loopback name; without `server.admin_token` the admin API \
                     answers only requests to localhost, 127.0.0.1 or [::1]"
                ),
            ),
            Refusal::CrossOrigin(origin) => (
                StatusCode::FORBIDDEN,
                format!(
                    "a state change from another origin ({origin}) is refused; send it from the dashboard \
                     itself or from a client that is not a browser"
                ),
            ),
            Refusal::NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "state changes take a JSON body: send `Content-Type: application/json` with the \
                 filter or `{}` in the body"
                    .to_owned(),
            ),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// Whether the request carries `token` as a bearer token or in the dashboard cookie.
fn carries(token: &Token, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|given| token.matches(given)) {
        return true;
    }
    cookie(headers, COOKIE).is_some_and(|given| token.matches(given))
}

/// The value of the cookie `name`, if the request sent it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `Host` names loopback: `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn loopback_host(headers: &HeaderMap) -> Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if is_loopback_name(host) {
        Ok(())
    } else {
        Err(Refusal::ForeignHost(cut(host)))
    }
}

fn is_loopback_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A browser's state change must come from this server's own pages.
fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = text(header::HOST).unwrap_or("");
        let own = ["http://", "https://"]
            .iter()
            .any(|scheme| origin.strip_prefix(scheme) == Some(host));
        return if own && !host.is_empty() {
            Ok(())
        } else {
            Err(Refusal::CrossOrigin(cut(origin)))
        };
    }
    match text(header::HeaderName::from_static("sec-fetch-site")) {
        None | Some("same-origin" | "none") => Ok(()),
        Some(other) => Err(Refusal::CrossOrigin(format!(
            "Sec-Fetch-Site: {}",
            cut(other)
        ))),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A header value quoted in an error, cut to a sane length.
fn cut(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("a header value"));
        }
        map
    }

    fn open() -> Gate {
        Gate { token: None }
    }

    fn locked() -> Gate {
        Gate {
            token: Some(Token::new("s3cret-token-0123456789".to_owned())),
        }
    }

    #[test]
    fn without_a_token_only_loopback_hosts_pass() {
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "localhost",
            "[::1]:8080",
            "127.1.2.3",
        ] {
            let h = headers(&[("host", host)]);
            assert_eq!(
                open().check(&Method::GET, "/api/runs", &h),
                Ok(()),
                "{host}"
            );
        }
        for host in [
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
            "",
        ] {
            let h = headers(&[("host", host)]);
            assert!(
                matches!(
                    open().check(&Method::GET, "/api/runs", &h),
                    Err(Refusal::ForeignHost(_))
                ),
                "{host}"
            );
        }
    }

    #[test]
    fn state_changes_must_be_same_origin_and_json() {
        let gate = open();
        let post = |pairs: &[(&'static str, &str)]| {
            gate.check(&Method::POST, "/api/runs/replay", &headers(pairs))
        };
        let json = ("content-type", "application/json");
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(post(&[host, json]), Ok(()));
        assert_eq!(
            post(&[host, json, ("origin", "http://127.0.0.1:8080")]),
            Ok(())
        );
        assert_eq!(
            post(&[host, json, ("sec-fetch-site", "same-origin")]),
            Ok(())
        );
        assert!(matches!(
            post(&[host, json, ("origin", "http://evil.example")]),
            Err(Refusal::CrossOrigin(_))
        ));
        assert!(matches!(
            post(&[host, json, ("origin", "null")]),
            Err(Refusal::CrossOrigin(_))
        ));
        assert!(matches!(
            post(&[host, json, ("sec-fetch-site", "cross-site")]),
            Err(Refusal::CrossOrigin(_))
        ));
        assert_eq!(post(&[host]), Err(Refusal::NotJson));
        assert_eq!(
            post(&[host, ("content-type", "text/plain")]),
            Err(Refusal::NotJson)
        );
    }

    #[test]
    fn with_a_token_the_bearer_or_the_cookie_is_needed() {
        let gate = locked();
        let get =
            |pairs: &[(&'static str, &str)]| gate.check(&Method::GET, "/api/runs", &headers(pairs));
        assert_eq!(get(&[("host", "sb.example")]), Err(Refusal::Unauthorized));
        assert_eq!(
            get(&[("authorization", "Bearer wrong")]),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            get(&[("authorization", "Bearer s3cret-token-0123456789")]),
            Ok(())
        );
        assert_eq!(
            get(&[("cookie", "a=b; switchboard_admin=s3cret-token-0123456789")]),
            Ok(())
        );
        assert_eq!(
            get(&[("cookie", "switchboard_admin=nope")]),
            Err(Refusal::Unauthorized)
        );
        let login = headers(&[("host", "sb.example"), ("origin", "https://evil.example")]);
        assert!(matches!(
            gate.check(&Method::POST, "/ui/login", &login),
            Err(Refusal::CrossOrigin(_))
        ));
        assert_eq!(gate.check(&Method::GET, "/ui/login", &headers(&[])), Ok(()));
    }
}
