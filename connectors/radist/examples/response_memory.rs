//! Measures how much the process's peak resident memory (`VmHWM`) grows while the client reads
//! an oversized 2xx answer: a local server streams 200 MiB to `GET /v2/companies/`, first
//! without a `Content-Length` (or with one, given `sized`). Linux only (reads
//! `/proc/self/status`); run each case in its own process, since the peak never goes down:
//!
//! `cargo run -p radist-connector --example response_memory [-- sized]`
#![allow(clippy::print_stdout)]

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_LENGTH;
use axum::response::Response;
use axum::routing::get;
use radist_connector::models::CompanyId;
use radist_connector::{ClientConfig, RadistClient, RetryPolicy};

/// The size of the answer.
const ANSWER_BYTES: usize = 200 * 1024 * 1024;
/// The size of one streamed chunk.
const CHUNK_BYTES: usize = 64 * 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let app = axum::Router::new()
        .route("/v2/companies/", get(|| async { answer(false) }))
        .route("/v2/sized/companies/", get(|| async { answer(true) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sized = std::env::args().nth(1).is_some_and(|arg| arg == "sized");
    let (label, base) = match sized {
        true => ("content-length", "v2/sized"),
        false => ("streamed", "v2"),
    };
    {
        let config = ClientConfig::new("key", CompanyId(1))
            .with_base_url(format!("http://{addr}/{base}").parse().expect("url"))
            .with_retry(RetryPolicy::none());
        let client = RadistClient::new(config).expect("client");
        let before = peak_kib();
        let outcome = client.list_companies(100, 0).await;
        let after = peak_kib();
        let verdict = match &outcome {
            Ok(_) => "decoded".to_owned(),
            Err(err) => err.to_string().chars().take(100).collect(),
        };
        println!(
            "{label}: VmHWM {before} KiB -> {after} KiB (+{} KiB); {verdict}",
            after.saturating_sub(before)
        );
    }
}

/// `[` and 200 MiB of spaces: valid JSON up to its (missing) end, so reading dominates.
fn answer(sized: bool) -> Response {
    let chunks = ANSWER_BYTES / CHUNK_BYTES;
    let stream = futures::stream::iter((0..chunks).map(|i| {
        let mut chunk = vec![b' '; CHUNK_BYTES];
        if i == 0 {
            chunk[0] = b'[';
        }
        Ok::<Bytes, Infallible>(Bytes::from(chunk))
    }));
    let mut response = Response::new(Body::from_stream(stream));
    if sized {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, ANSWER_BYTES.into());
    }
    response
}

/// Peak resident set size of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
