//! `http.send` against axum servers on 127.0.0.1:0: the granted origin answers (status, headers,
//! body), other origins are denied (also as a redirect target, before it is requested), redirect
//! chains within the origin are followed up to five hops, credentials are dropped when a
//! redirect leaves the origin, headers are capped and the host's own refused, bodies are capped
//! both ways (a declared oversized response before it is read), the grant's timeout is honoured,
//! and names resolving to loopback are refused unless the allow list names the address or
//! `localhost` (through an injected lookup, so no DNS is needed).
use std::net::SocketAddr;
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
use crate::capabilities::http::AddressLookup;
use crate::capabilities::plugin_client;
use crate::capabilities::wit::http::{Host as _, Method, Request as HttpRequest, Response};
use crate::capabilities::wit::types::UpstreamError;
use crate::digest::DigestKey;
use crate::state::{HostServices, HostState, PluginShared, SharedCaches};

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
        let (origin, task) = serve(app).await;
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
        .route("/declared-huge", get(declared_huge))
        .route("/streamed", get(streamed))
        .route("/creds", get(creds))
        .route("/to/{port}", get(to_port))
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

/// The CRM server (redirecting `/away` to another server, which is not granted), that other
/// server, and a run granted the CRM's origin with a 2 s timeout.
async fn granted() -> (Server, Server, HostState) {
    let (server, other) = servers().await;
    let state = state(&server.origin, 2000);
    (server, other, state)
}

/// The granted server, and another one (kept alive with it) that its redirects point to.
async fn servers() -> (Server, Server) {
    let other = Server::start(Router::new()).await;
    (crm(&other.origin).await, other)
}

/// Asserts the call (`what`) was denied with a message `check` accepts, and the run is denied.
fn run_denied(
    what: &str,
    state: &HostState,
    result: Result<Response, Error>,
    check: impl FnOnce(&str) -> bool,
) {
    match result {
        Err(Error::Denied(m)) => assert!(check(&m), "{what}: {m}"),
        other => panic!("{what}: expected denied, got {other:?}"),
    }
    let status = status_of(state);
    assert!(matches!(status, RunStatus::Denied(_)), "{what}: {status:?}");
}

/// Asserts the call (`what`) failed with an `upstream` error that is not retryable and whose
/// message `check` accepts.
fn permanent_upstream(
    what: &str,
    result: Result<Response, Error>,
    check: impl FnOnce(&str) -> bool,
) {
    let u = upstream_of(what, result);
    assert!(check(&u.message) && !u.retryable, "{what}: {u:?}");
}

/// The `upstream` error of a call that must fail with one (`what` names the case).
fn upstream_of(what: &str, result: Result<Response, Error>) -> UpstreamError {
    match result {
        Err(Error::Upstream(u)) => u,
        other => panic!("{what}: expected upstream, got {other:?}"),
    }
}

/// `GET url` with the test's token header.
async fn send_get(state: &mut HostState, url: String) -> Result<Response, Error> {
    send(state, request(Method::Get, url, None)).await
}

#[tokio::test]
async fn the_granted_origin_answers_status_headers_and_body() {
    let (server, _other, mut state) = granted().await;
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
    let (_server, other, mut state) = granted().await;
    let url = format!("{}/anything", other.origin);
    let denied = send_get(&mut state, url).await;
    run_denied("another origin", &state, denied, |m| {
        m.contains("capabilities.http.allow")
    });
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn a_redirect_out_of_the_granted_origin_is_denied_before_it_is_followed() {
    let (server, other, mut state) = granted().await;
    let url = format!("{}/away", server.origin);
    let denied = send_get(&mut state, url).await;
    run_denied("a redirect away", &state, denied, |m| {
        m.starts_with("redirect to")
    });
    assert_eq!((server.hits(), other.hits()), (1, 0));
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed_up_to_five_hops() {
    let (server, _other, mut state) = granted().await;
    let five = format!("{}/hop/5", server.origin);
    let resp = send_get(&mut state, five).await.expect("followed");
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, b"arrived".as_slice())
    );
    assert_eq!(server.hits(), 6);
    let six = format!("{}/hop/6", server.origin);
    let err = send_get(&mut state, six).await.expect_err("too many");
    assert!(
        matches!(&err, Error::Upstream(u) if u.message == "too many redirects"),
        "{err:?}"
    );
    assert_eq!(server.hits(), 6 + 6, "the sixth redirect is not followed");
    assert_eq!(status_of(&state), RunStatus::Succeeded);
}

#[tokio::test]
async fn bodies_over_max_body_bytes_are_refused_both_ways() {
    let (server, _other, mut state) = granted().await;
    let url = format!("{}/echo", server.origin);
    let err = send(&mut state, request(Method::Post, url, Some(vec![1; 1025]))).await;
    assert!(
        matches!(&err, Err(Error::Denied(m)) if m.contains("max_body_bytes")),
        "{err:?}"
    );
    assert_eq!(server.hits(), 0, "an oversized request is never sent");
    let mut state = self::state(&server.origin, 2000);
    let big = format!("{}/big", server.origin);
    let refused = send_get(&mut state, big).await;
    permanent_upstream("too big", refused, |m| m.contains("max_body_bytes"));
}

#[tokio::test]
async fn the_grant_timeout_is_honoured() {
    let (server, _other) = servers().await;
    let mut state = state(&server.origin, 200);
    let url = format!("{}/hang", server.origin);
    let u = upstream_of("timed out", send_get(&mut state, url).await);
    assert_eq!(
        (u.message.as_str(), u.retryable),
        ("request timed out", true)
    );
    assert_eq!(server.hits(), 1);
}

/// A response declaring 10 MiB whose body never comes: reading it would hang until the timeout.
async fn declared_huge() -> axum::response::Response {
    let never = futures_pending_body();
    let mut response = axum::response::Response::new(never);
    let len = axum::http::HeaderValue::from(10u64 << 20);
    response.headers_mut().insert(header::CONTENT_LENGTH, len);
    response
}

fn futures_pending_body() -> axum::body::Body {
    let never = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    axum::body::Body::from_stream(never)
}

/// 2 × 800 bytes, chunked (no `Content-Length`).
async fn streamed() -> axum::body::Body {
    let chunks = [
        Ok::<_, std::io::Error>(vec![b'y'; 800]),
        Ok(vec![b'y'; 800]),
    ];
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

/// Which credential headers arrived: `authorization,cookie,x-token` present or `-`.
async fn creds(headers: HeaderMap) -> String {
    ["authorization", "cookie", "x-token"]
        .map(|h| if headers.contains_key(h) { h } else { "-" })
        .join(",")
}

/// Redirects to `/creds` on 127.0.0.1:`port` (another origin when the port differs).
async fn to_port(Path(port): Path<u16>) -> axum::response::Response {
    let target = format!("http://127.0.0.1:{port}/creds");
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

fn with_headers(url: String, headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: None,
    }
}

#[tokio::test]
async fn host_hop_by_hop_and_framing_headers_are_denied_by_name_unsent() {
    let (server, _other) = servers().await;
    for name in [
        "Host",
        "Connection",
        "Transfer-Encoding",
        "Content-Length",
        "Proxy-Authorization",
    ] {
        let mut state = state(&server.origin, 2000);
        let req = with_headers(format!("{}/creds", server.origin), &[(name, "x")]);
        let lower = format!("`{}`", name.to_ascii_lowercase());
        let denied = send(&mut state, req).await;
        run_denied(name, &state, denied, |m| m.contains(&lower));
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn malformed_headers_are_invalid_and_do_not_panic() {
    let (server, _other, mut state) = granted().await;
    let url = format!("{}/creds", server.origin);
    for headers in [[("bad name", "v")], [("x-a", "line\r\nx-injected: 1")]] {
        let err = send(&mut state, with_headers(url.clone(), &headers)).await;
        let Err(Error::Invalid(fields)) = err else {
            panic!("expected invalid, got {err:?}")
        };
        assert_eq!(fields[0].path, "headers[0]");
        assert!(
            !fields[0].message.contains("injected"),
            "the value is not echoed"
        );
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_header_flood_is_denied_before_a_header_map_is_built() {
    let (server, _other, mut state) = granted().await;
    // 25,000 distinct names made `HeaderMap::append` panic the host before the cap.
    let headers = (0..25_000)
        .map(|i| (format!("x-h{i}"), "v".to_owned()))
        .collect();
    let mut req = request(Method::Get, format!("{}/creds", server.origin), None);
    req.headers = headers;
    let err = send(&mut state, req).await.expect_err("denied");
    assert!(
        matches!(&err, Error::Denied(m) if m.contains("25000 request headers")),
        "{err:?}"
    );
    assert_eq!(server.hits(), 0);
    let records = state.ctx.recorder.into_records();
    assert_eq!(records[0].request["header_count"], 25_000);
}

#[tokio::test]
async fn credentials_are_dropped_when_a_redirect_leaves_the_origin() {
    let other = Server::start(Router::new().route("/creds", get(creds))).await;
    let server = crm(&other.origin).await;
    let allow = [server.origin.clone(), other.origin.clone()];
    let mut state = state_allowing(&allow, crate::capabilities::system_lookup());
    let secret = [
        ("Authorization", "Bearer s"),
        ("Cookie", "a=b"),
        ("x-token", "t"),
    ];
    let same = format!("{}/to/{}", server.origin, port_of(&server.origin));
    let resp = send(&mut state, with_headers(same, &secret))
        .await
        .expect("same origin");
    assert_eq!(resp.body, b"authorization,cookie,x-token");
    let away = format!("{}/to/{}", server.origin, port_of(&other.origin));
    let resp = send(&mut state, with_headers(away, &secret))
        .await
        .expect("other origin");
    assert_eq!(resp.body, b"-,-,x-token");
    assert_eq!(other.hits(), 1);
}

#[tokio::test]
async fn an_oversized_response_is_refused_on_its_length_or_cut_while_streaming() {
    let (server, _other, mut state) = granted().await;
    for path in ["declared-huge", "streamed"] {
        let url = format!("{}/{path}", server.origin);
        let refused = send_get(&mut state, url).await;
        permanent_upstream(path, refused, |m| m.starts_with("response too large"));
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_the_address_is_listed() {
    let (server, _other) = servers().await;
    let port = port_of(&server.origin);
    let named = format!("http://crm.test:{port}");
    let lookup = table(&[("crm.test", "127.0.0.1")]);
    let mut state = state_allowing(std::slice::from_ref(&named), lookup.clone());
    let url = format!("{named}/creds");
    let denied = send(&mut state, with_headers(url.clone(), &[])).await;
    run_denied("a name on loopback", &state, denied, |m| {
        m.contains("`crm.test` resolves to 127.0.0.1")
    });
    assert_eq!(server.hits(), 0);
    let listed = [named, server.origin.clone()];
    let mut state = state_allowing(&listed, lookup);
    let resp = send(&mut state, with_headers(url, &[]))
        .await
        .expect("allowed");
    assert_eq!((resp.status, server.hits()), (200, 1));
}

#[tokio::test]
async fn localhost_in_the_allow_list_allows_loopback() {
    let (server, _other) = servers().await;
    let origin = format!("http://localhost:{}", port_of(&server.origin));
    let lookup = table(&[("localhost", "127.0.0.1")]);
    let mut state = state_allowing(std::slice::from_ref(&origin), lookup);
    let resp = send(&mut state, with_headers(format!("{origin}/creds"), &[])).await;
    assert_eq!(resp.expect("allowed").status, 200);
}

#[tokio::test]
async fn the_recorded_request_holds_keyed_digests_not_values() {
    use sha2::Digest;
    let (server, _other, mut state) = granted().await;
    let url = format!("{}/echo", server.origin);
    send(
        &mut state,
        request(Method::Post, url, Some(b"1234".to_vec())),
    )
    .await
    .expect("sent");
    let records = state.ctx.recorder.into_records();
    let record = &records[0];
    let text = record.request.to_string();
    assert!(!text.contains("t-42"), "{text}");
    let digest = record.request["body"]["hmac_sha256"]
        .as_str()
        .expect("digest");
    assert_eq!(digest, DigestKey::process().hex_mac(b"1234"));
    assert_ne!(digest, crate::digest::hex(&sha2::Sha256::digest(b"1234")));
}

fn port_of(origin: &str) -> u16 {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.port())
        .expect("port")
}

/// A lookup answering from a fixed table; other names have no addresses.
fn table(entries: &[(&str, &str)]) -> AddressLookup {
    let entries: Vec<(String, SocketAddr)> = entries
        .iter()
        .map(|(name, ip)| {
            (
                (*name).to_owned(),
                SocketAddr::new(ip.parse().expect("ip"), 0),
            )
        })
        .collect();
    Arc::new(move |host: String| {
        let found = entries
            .iter()
            .filter(|(n, _)| *n == host)
            .map(|(_, a)| *a)
            .collect();
        Box::pin(async move { Ok(found) })
    })
}

/// A run of a plugin allowed `allow`, whose client resolves names with `lookup`.
fn state_allowing(allow: &[String], lookup: AddressLookup) -> HostState {
    let list: Vec<String> = allow.iter().map(|a| format!("\"{a}\"")).collect();
    let caps = format!(
        "http = {{ allow = [{}], max_body_bytes = 1024 }}",
        list.join(", ")
    );
    let manifest = crate::test_support::manifest(&caps);
    let http = plugin_client(manifest.capabilities.http.as_ref(), lookup).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = crate::FileKvStore::open(dir.path()).expect("kv");
    let services = HostServices::new(Arc::new(kv));
    let file = "manifests/crm-sync.toml";
    let plugin = PluginShared::new(&manifest, file, services, Some(http), DigestKey::process());
    let caches = SharedCaches::new(std::time::Duration::from_secs(30));
    run_state(&Arc::new(plugin), "r1", manual(), false, caches)
}
