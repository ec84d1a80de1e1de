//! The load generator: `connections` HTTP/1.1 keep-alive connections posting webhooks.
//!
//! Open loop: request `i` is due at `start + i / rate`, fixed before the phase starts; a free
//! connection takes the next request, waits until it is due and sends it, and its latency is
//! measured from the due time, so a slow service cannot hide latency by slowing the generator
//! down (coordinated omission). Closed loop: each connection sends its next request as soon as
//! the previous one is answered, for `duration`; that measures the maximum rate.
//!
//! With several endpoints (nodes), request `i` goes to endpoint `i % n` (round-robin); each
//! generator task keeps one connection per endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::{MAX_REQUESTS, Pace};
use crate::traffic::{Kind, Traffic};

/// A request not answered in this long counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most response body bytes read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Latencies above this are recorded as this (µs).
const MAX_LATENCY_US: u64 = 120_000_000;

/// Where the webhooks go.
#[derive(Debug, Clone)]
pub struct Endpoint {
    addr: String,
    host: String,
    path: String,
}

impl Endpoint {
    /// An `http://host:port/path` URL (no TLS: the generator measures the service, not TLS).
    pub fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
        anyhow::ensure!(
            parsed.scheme() == "http",
            "only http:// URLs can be benchmarked (put TLS in front separately)"
        );
        let host = parsed.host_str().context("the URL has no host")?.to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let mut path = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            path = format!("{path}?{q}");
        }
        Ok(Endpoint {
            addr: format!("{host}:{port}"),
            host: format!("{host}:{port}"),
            path,
        })
    }
}

/// A webhook whose reply the harness waits for at the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub chat_id: i64,
    /// When the webhook was due (wall clock, µs since the epoch).
    pub due_us: i64,
}

/// What became of a phase's requests (the same keys in the report's JSON).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Tally {
    pub planned: u64,
    pub sent: u64,
    pub acked: u64,
    pub duplicates: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// What one phase of load did.
#[derive(Debug)]
pub struct PhaseLoad {
    pub pace: Pace,
    pub tally: Tally,
    pub elapsed: Duration,
    /// Acknowledgement latency of 200 answers, µs.
    pub ack: Histogram<u64>,
    pub expects: Vec<Expect>,
}

#[derive(Default)]
struct Counters {
    next: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
}

struct Plan {
    pace: Pace,
    total: u64,
    start: Instant,
    wall_start: DateTime<Utc>,
    /// No request starts after this.
    stop_at: Instant,
    endpoints: Vec<Endpoint>,
    traffic: Arc<Traffic>,
    counters: Counters,
}

#[derive(Default)]
struct WorkerOut {
    duplicates: u64,
    first_error: Option<String>,
    ack: Option<Histogram<u64>>,
    expects: Vec<Expect>,
}

/// Runs one phase and returns what it measured.
pub async fn run_phase(
    endpoints: &[Endpoint],
    traffic: Arc<Traffic>,
    pace: Pace,
    duration: Duration,
    connections: usize,
    bar: &ProgressBar,
) -> anyhow::Result<PhaseLoad> {
    anyhow::ensure!(!endpoints.is_empty(), "no webhook URL to send the load to");
    let plan = Arc::new(plan(endpoints, traffic, pace, duration));
    bar.set_length(match pace {
        Pace::Open(_) => plan.total,
        Pace::Closed => u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        workers.spawn(worker(Arc::clone(&plan)));
    }
    let ticker = tokio::spawn(tick(Arc::clone(&plan), bar.clone()));
    let mut outs = Vec::with_capacity(connections);
    while let Some(out) = workers.join_next().await {
        outs.push(out.context("a generator task panicked")?);
    }
    ticker.abort();
    Ok(merge(&plan, outs))
}

fn plan(endpoints: &[Endpoint], traffic: Arc<Traffic>, pace: Pace, duration: Duration) -> Plan {
    let start = Instant::now() + Duration::from_millis(50);
    let (total, stop_at) = match pace {
        Pace::Open(rate) => (
            (u64::from(rate) * duration.as_secs()).min(MAX_REQUESTS),
            start + duration * 2 + Duration::from_secs(5),
        ),
        Pace::Closed => (MAX_REQUESTS, start + duration),
    };
    Plan {
        pace,
        total,
        start,
        wall_start: Utc::now() + chrono::Duration::milliseconds(50),
        stop_at,
        endpoints: endpoints.to_vec(),
        traffic,
        counters: Counters::default(),
    }
}

async fn tick(plan: Arc<Plan>, bar: ProgressBar) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        every.tick().await;
        let c = &plan.counters;
        let position = match plan.pace {
            Pace::Open(_) => c.sent.load(Ordering::Relaxed),
            Pace::Closed => u64::try_from(plan.start.elapsed().as_millis()).unwrap_or(0),
        };
        bar.set_position(position);
        bar.set_message(format!(
            "{} acked, {} errors",
            c.acked.load(Ordering::Relaxed),
            c.errors.load(Ordering::Relaxed)
        ));
    }
}

/// The due time of request `i`, or `None` when the phase is over.
fn due(plan: &Plan, i: u64) -> Option<Instant> {
    let at = match plan.pace {
        Pace::Open(rate) => plan.start + Duration::from_secs_f64(i as f64 / f64::from(rate)),
        Pace::Closed => Instant::now().max(plan.start),
    };
    (i < plan.total && at < plan.stop_at).then_some(at)
}

async fn worker(plan: Arc<Plan>) -> WorkerOut {
    let mut out = WorkerOut::default();
    let mut ack = histogram();
    let n = plan.endpoints.len();
    let mut conns: Vec<Option<SendRequest<Full<Bytes>>>> = (0..n).map(|_| None).collect();
    loop {
        let i = plan.counters.next.fetch_add(1, Ordering::Relaxed);
        let Some(at) = due(&plan, i) else { break };
        tokio::time::sleep_until(at.into()).await;
        plan.counters.sent.fetch_add(1, Ordering::Relaxed);
        let target = endpoint_of(i, n);
        let conn = &mut conns[target];
        let answer = post(&plan.endpoints[target], conn, plan.traffic.body(i)).await;
        let latency = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
        match answer {
            Ok((200, duplicate)) => {
                plan.counters.acked.fetch_add(1, Ordering::Relaxed);
                ack.saturating_record(latency.clamp(1, MAX_LATENCY_US));
                out.duplicates += u64::from(duplicate);
                expect(&plan, i, at, duplicate, &mut out.expects);
            }
            Ok((status, _)) => error(&plan, &mut out, format!("HTTP {status}")),
            Err(err) => {
                *conn = None;
                error(&plan, &mut out, format!("{err:#}"));
            }
        }
    }
    out.ack = Some(ack);
    out
}

/// The endpoint request `i` goes to: round-robin over `n`.
fn endpoint_of(i: u64, n: usize) -> usize {
    usize::try_from(i % n.max(1) as u64).unwrap_or(0)
}

fn error(plan: &Plan, out: &mut WorkerOut, text: String) {
    plan.counters.errors.fetch_add(1, Ordering::Relaxed);
    out.first_error.get_or_insert(text);
}

/// Remembers an acknowledged keyword message: auto-reply answers it.
fn expect(plan: &Plan, i: u64, at: Instant, duplicate: bool, into: &mut Vec<Expect>) {
    if duplicate || plan.traffic.kind(i) != Kind::Keyword {
        return;
    }
    let offset = i64::try_from(at.duration_since(plan.start).as_micros()).unwrap_or(0);
    into.push(Expect {
        chat_id: plan.traffic.chat_of(i).chat_id,
        due_us: plan.wall_start.timestamp_micros() + offset,
    });
}

/// One POST on the connection (opened when missing): the status and whether the service
/// called it a duplicate.
async fn post(
    endpoint: &Endpoint,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, bool)> {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = Some(connect(endpoint).await?);
    }
    let sender = conn.as_mut().context("no connection")?;
    sender.ready().await.context("connection lost")?;
    let request = hyper::Request::post(&endpoint.path)
        .header(hyper::header::HOST, &endpoint.host)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let exchange = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let limited = Limited::new(response.into_body(), MAX_RESPONSE_BYTES);
        let bytes = limited
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::Ok((status, bytes.to_bytes()))
    };
    let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .context("no answer within 10 s")??;
    Ok((status, is_duplicate(&bytes)))
}

fn is_duplicate(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v["duplicate"] == serde_json::Value::Bool(true))
}

async fn connect(endpoint: &Endpoint) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(&endpoint.addr)
        .await
        .with_context(|| format!("cannot connect to {}", endpoint.addr))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A latency histogram in µs, 1 µs to [`MAX_LATENCY_US`], 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant bounds are valid")
}

fn merge(plan: &Plan, outs: Vec<WorkerOut>) -> PhaseLoad {
    let c = &plan.counters;
    let mut load = PhaseLoad {
        pace: plan.pace,
        tally: Tally {
            planned: plan.total,
            sent: c.sent.load(Ordering::Relaxed),
            acked: c.acked.load(Ordering::Relaxed),
            duplicates: 0,
            errors: c.errors.load(Ordering::Relaxed),
            first_error: None,
        },
        elapsed: plan.start.elapsed(),
        ack: histogram(),
        expects: Vec::new(),
    };
    for out in outs {
        load.tally.duplicates += out.duplicates;
        if load.tally.first_error.is_none() {
            load.tally.first_error = out.first_error;
        }
        if let Some(h) = out.ack {
            let _ = load.ack.add(&h);
        }
        load.expects.extend(out.expects);
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_round_robin_over_the_endpoints() {
        let spread: Vec<usize> = (0..7).map(|i| endpoint_of(i, 3)).collect();
        assert_eq!(spread, [0, 1, 2, 0, 1, 2, 0]);
        assert!((0..5).all(|i| endpoint_of(i, 1) == 0));
    }

    /// A webhook receiver on loopback that counts what it is sent.
    async fn receiver() -> (Endpoint, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&count);
        let app = axum::Router::new().route(
            "/webhook",
            axum::routing::post(move || {
                counted.fetch_add(1, Ordering::Relaxed);
                async { "{\"ok\":true}" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/webhook");
        (Endpoint::parse(&url).expect("url"), count)
    }

    #[tokio::test]
    async fn an_open_loop_phase_spreads_its_requests_evenly_over_two_real_endpoints() {
        let (a, count_a) = receiver().await;
        let (b, count_b) = receiver().await;
        let traffic = Arc::new(Traffic::synthetic(10));
        let bar = ProgressBar::hidden();
        let load = run_phase(
            &[a, b],
            traffic,
            Pace::Open(300),
            Duration::from_secs(1),
            4,
            &bar,
        )
        .await
        .expect("phase");
        assert_eq!(
            (load.tally.sent, load.tally.acked, load.tally.errors),
            (300, 300, 0)
        );
        assert_eq!(count_a.load(Ordering::Relaxed), 150);
        assert_eq!(count_b.load(Ordering::Relaxed), 150);
    }
}
