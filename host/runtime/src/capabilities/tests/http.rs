//! `http.send` against axum servers on 127.0.0.1:0: the granted origin answers (status, headers,
//! body), other origins are denied (also as a redirect target, before it is requested), redirect
//! chains within the origin are followed up to five hops, bodies are capped both ways, and the
//! grant's timeout is honoured.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::support::*;
use crate::RunStatus;
use crate::capabilities::wit::http::{Host as _, Method, Request as HttpRequest, Response};
use crate::state::{HostServices, HostState, SharedCaches};

/// A server on loopback: its origin and how many requests it received.
struct Server {
    origin: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(app: Router) -> Server {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let count = move |req: Request, next: Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(req)
        };
        let app = app.layer(middleware::from_fn(count));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server { origin, hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The granted server: echo, redirects (within and out of the origin), a big body, a hang.
async fn crm(elsewhere: &str) -> Server {
    let away = format!("{elsewhere}/secret");
    let app = Router::new()
        .route("/echo", post(echo))
        .route("/hop/{n}", get(hop))
        .route(
            "/away",
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, away)]) }),
        )
        .route("/big", get(|| async { vec![b'x'; 1025] }))
        .route("/hang", get(std::future::pending::<()>));
    Server::start(app).await
}

async fn echo(headers: HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
    let token = headers.get("x-token").cloned();
    let mut reply = b"got:".to_vec();
    reply.extend_from_slice(&body);
    let token = token
        .and_then(|t| t.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    (StatusCode::CREATED, [("x-echo-token", token)], reply)
}

async fn hop(Path(n): Path<u32>) -> axum::response::Response {
    if n == 0 {
        return "arrived".into_response();
    }
    let next = format!("/hop/{}", n - 1);
    (StatusCode::FOUND, [(header::LOCATION, next)]).into_response()
}

fn state(origin: &str, timeout_ms: u32) -> HostState {
    let caps = format!(
        "http = {{ allow = [\"{origin}\"], max_body_bytes = 1024, timeout_ms = {timeout_ms} }}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = crate::FileKvStore::open(dir.path()).expect("kv");
    let plugin = plugin_with(&caps, HostServices::new(Arc::new(kv)));
    let caches = SharedCaches::new(std::time::Duration::from_secs(30));
    run_state(&plugin, "r1", manual(), false, caches)
}

fn request(method: Method, url: String, body: Option<Vec<u8>>) -> HttpRequest {
    HttpRequest {
        method,
        url,
        headers: vec![("x-token".to_owned(), "t-42".to_owned())],
        body,
    }
}

async fn send(state: &mut HostState, req: HttpRequest) -> Result<Response, Error> {
    no_trap(state.send(req).await)
}

#[tokio::test]
async fn the_granted_origin_answers_status_headers_and_body() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 2000);
    let url = format!("{}/echo", server.origin);
    let resp = send(&mut state, request(Method::Post, url, Some(b"hi".to_vec()))).await;
    let resp = resp.expect("answered");
    assert_eq!(resp.status, 201);
    assert!(
        resp.headers
            .contains(&("x-echo-token".to_owned(), "t-42".to_owned())),
        "{:?}",
        resp.headers
    );
    assert_eq!(resp.body, b"got:hi");
    assert_eq!(status_of(&state), RunStatus::Succeeded);
}

#[tokio::test]
async fn other_origins_are_denied_unrequested_and_the_run_is_denied() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 2000);
    let url = format!("{}/anything", other.origin);
    let err = send(&mut state, request(Method::Get, url, None))
        .await
        .expect_err("denied");
    assert!(
        matches!(&err, Error::Denied(m) if m.contains("capabilities.http.allow")),
        "{err:?}"
    );
    assert!(matches!(status_of(&state), RunStatus::Denied(_)));
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn a_redirect_out_of_the_granted_origin_is_denied_before_it_is_followed() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 2000);
    let url = format!("{}/away", server.origin);
    let err = send(&mut state, request(Method::Get, url, None))
        .await
        .expect_err("denied");
    assert!(
        matches!(&err, Error::Denied(m) if m.starts_with("redirect to")),
        "{err:?}"
    );
    assert!(matches!(status_of(&state), RunStatus::Denied(_)));
    assert_eq!((server.hits(), other.hits()), (1, 0));
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed_up_to_five_hops() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 2000);
    let five = format!("{}/hop/5", server.origin);
    let resp = send(&mut state, request(Method::Get, five, None))
        .await
        .expect("followed");
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, b"arrived".as_slice())
    );
    assert_eq!(server.hits(), 6);
    let six = format!("{}/hop/6", server.origin);
    let err = send(&mut state, request(Method::Get, six, None))
        .await
        .expect_err("too many");
    assert!(
        matches!(&err, Error::Upstream(u) if u.message == "too many redirects"),
        "{err:?}"
    );
    assert_eq!(server.hits(), 6 + 6, "the sixth redirect is not followed");
    assert_eq!(status_of(&state), RunStatus::Succeeded);
}

#[tokio::test]
async fn bodies_over_max_body_bytes_are_refused_both_ways() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 2000);
    let url = format!("{}/echo", server.origin);
    let err = send(&mut state, request(Method::Post, url, Some(vec![1; 1025]))).await;
    assert!(
        matches!(&err, Err(Error::Denied(m)) if m.contains("max_body_bytes")),
        "{err:?}"
    );
    assert_eq!(server.hits(), 0, "an oversized request is never sent");
    let mut state = self::state(&server.origin, 2000);
    let big = format!("{}/big", server.origin);
    let err = send(&mut state, request(Method::Get, big, None))
        .await
        .expect_err("too big");
    let Error::Upstream(u) = err else {
        panic!("expected upstream, got {err:?}")
    };
    assert!(
        u.message.contains("max_body_bytes") && !u.retryable,
        "{u:?}"
    );
}

#[tokio::test]
async fn the_grant_timeout_is_honoured() {
    let other = Server::start(Router::new()).await;
    let server = crm(&other.origin).await;
    let mut state = state(&server.origin, 200);
    let url = format!("{}/hang", server.origin);
    let err = send(&mut state, request(Method::Get, url, None))
        .await
        .expect_err("timed out");
    let Error::Upstream(u) = err else {
        panic!("expected upstream, got {err:?}")
    };
    assert_eq!(
        (u.message.as_str(), u.retryable),
        ("request timed out", true)
    );
    assert_eq!(server.hits(), 1);
}
