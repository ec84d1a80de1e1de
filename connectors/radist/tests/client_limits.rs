//! Response-size cap: a 2xx body over `max_response_bytes` fails with `ResponseTooLarge`
//! whether it announces its size (`Content-Length`) or streams without one, and is not
//! retried; a body of exactly the cap is read. Served by a local axum app on 127.0.0.1:0.

mod client_support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use axum::routing::get;
use client_support::config_at;
use radist_connector::{RadistClient, RadistError};

/// The cap the tests configure.
const CAP: u64 = 64 * 1024;

/// `{"count": 0, "companies": []}` padded with spaces to `size` bytes.
fn companies_body(size: usize) -> Vec<u8> {
    let mut body = br#"{"count": 0, "companies": []}"#.to_vec();
    body.resize(size.max(body.len()), b' ');
    body
}

/// A body of `size` bytes in 4 KiB chunks, with or without a `Content-Length`.
fn answer(size: usize, sized: bool) -> Response {
    let body = companies_body(size);
    let chunks: Vec<Result<Bytes, Infallible>> = body
        .chunks(4096)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, "application/json".parse().expect("mime"));
    if sized {
        headers.insert(CONTENT_LENGTH, body.len().into());
    }
    response
}

/// Serves `/{mode}/{size}/companies/` (mode `sized` or `streamed`) and counts the requests.
async fn server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let handler = |State(hits): State<Arc<AtomicUsize>>,
                   Path((mode, size)): Path<(String, usize)>| async move {
        hits.fetch_add(1, Ordering::SeqCst);
        answer(size, mode == "sized")
    };
    let app = axum::Router::new()
        .route("/{mode}/{size}/companies/", get(handler))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn client(base: &str, mode: &str, size: u64) -> RadistClient {
    let config = config_at(&format!("{base}/{mode}/{size}"), "key").with_max_response_bytes(CAP);
    RadistClient::new(config).expect("client")
}

#[tokio::test]
async fn oversized_2xx_bodies_fail_with_response_too_large_and_are_not_retried() {
    let (base, hits) = server().await;
    for mode in ["sized", "streamed"] {
        let before = hits.load(Ordering::SeqCst);
        let err = client(&base, mode, 4 * CAP)
            .list_companies(10, 0)
            .await
            .expect_err("over the cap");
        assert!(
            matches!(err, RadistError::ResponseTooLarge { limit: CAP }),
            "{mode}: {err}"
        );
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "radist response exceeds 65536 bytes; raise `max_response_bytes` if this is expected"
        );
        assert_eq!(hits.load(Ordering::SeqCst) - before, 1, "{mode}: retried");
    }
}

#[tokio::test]
async fn a_body_of_exactly_the_cap_is_read() {
    let (base, _) = server().await;
    for mode in ["sized", "streamed"] {
        let companies = client(&base, mode, CAP).list_companies(10, 0).await;
        assert_eq!(companies.expect(mode).count, 0);
        let over = client(&base, mode, CAP + 1).list_companies(10, 0).await;
        assert!(
            matches!(over, Err(RadistError::ResponseTooLarge { .. })),
            "{mode}"
        );
    }
}
