//! The front door through the real binary: which addresses may serve the admin surface, what a
//! browser on another site can and cannot do to it, and the bounds on every connection
//! (timeouts, the open-file limit, a shutdown with a deadline).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Service, Workdir};

const BOUND: Duration = Duration::from_secs(60);

fn port_of(url: &str) -> u16 {
    let rest = url.split("://").nth(1).expect("a URL");
    let authority = rest.split('/').next().expect("an authority");
    authority
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

/// `http://127.0.0.1:PORT` of the admin API line.
fn admin_base(service: &Service) -> String {
    service.api.trim_end_matches("/api/").to_owned()
}

fn one_run(service: &Service) -> i64 {
    service.inbound(70001, "79000000001", "price?");
    let runs = service.wait_for(BOUND, || {
        let (_, runs) = service.get_json(&format!("{}runs?status=succeeded", service.api));
        runs.as_array().filter(|r| !r.is_empty()).cloned()
    });
    runs[0]["run_id"].as_i64().expect("a run id")
}

fn attempts(service: &Service, run: i64) -> usize {
    let (_, detail) = service.get_json(&format!("{}runs/{run}", service.api));
    detail["attempts"].as_array().map_or(0, Vec::len)
}

#[test]
fn an_open_address_without_a_token_is_refused_whichever_flag_chose_it() {
    let work = Workdir::shipped();
    for args in [
        vec!["serve", "--listen", "0.0.0.0:0"],
        vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "0.0.0.0:0",
        ],
    ] {
        let out = work.switchboard(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} must be refused");
        assert!(stderr.contains("server.admin_token"), "{args:?}: {stderr}");
        assert!(stderr.contains("0.0.0.0"), "{args:?}: {stderr}");
    }
    // Webhooks may face the network while the admin API stays on loopback.
    let service = work.serve_with(
        &["--listen", "0.0.0.0:0", "--admin-listen", "127.0.0.1:0"],
        &[],
    );
    let hooks = port_of(&service.webhook);
    let admin = port_of(&service.api);
    assert_ne!(hooks, admin);
    let (status, _) = service.get_json(&format!("http://127.0.0.1:{hooks}/api/runs"));
    assert_eq!(status, 404, "the admin API is not on the webhook listener");
    let (status, _) = service.get_json(&format!("http://127.0.0.1:{admin}/api/runs"));
    assert_eq!(status, 200);
    let (status, _) = service.get_json(&format!("http://127.0.0.1:{hooks}/healthz"));
    assert_eq!(status, 200, "health stays beside the webhooks");
    service.stop();
}

#[test]
fn with_a_token_an_open_address_serves_the_admin_api_and_metrics_only_to_the_token() {
    let token = "a-long-admin-token-for-the-test-0123";
    let (_work, service) = support::serve_with_admin_token("0.0.0.0:0", token);
    let base = format!("http://127.0.0.1:{}", port_of(&service.api));
    // The status of `GET base+path`, with the token when given.
    let status = |path: &str, bearer: Option<&str>| {
        let request = service.http.get(format!("{base}{path}"));
        let request = match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().expect("get").status()
    };
    for path in ["/api/runs", "/metrics"] {
        assert_eq!(status(path, None), 401, "{path} without the token");
        assert_eq!(status(path, Some(token)), 200, "{path} with the token");
    }
    assert_eq!(status("/healthz", None), 200, "health needs no token");
    service.stop();
}

#[test]
fn another_site_can_neither_read_through_its_own_host_name_nor_change_state() {
    let work = Workdir::shipped();
    let service = work.serve();
    let run = one_run(&service);
    let base = admin_base(&service);
    let http = &service.http;

    let rebound = http
        .get(format!("{base}/api/events"))
        .header("host", "evil.example:8080")
        .send()
        .expect("get");
    assert_eq!(
        rebound.status(),
        403,
        "a foreign Host (DNS rebinding) is refused"
    );

    let replay = format!("{base}/api/runs/{run}/replay");
    let cross_site = [
        ("origin", "http://evil.example", "a cross-origin POST"),
        ("sec-fetch-site", "cross-site", "a cross-site fetch"),
    ];
    for (header, value, what) in cross_site {
        let forged = http.post(&replay).header(header, value).json(&json!({}));
        let forged = forged.send().expect("post");
        assert_eq!(forged.status(), 403, "{what} is refused");
    }
    let query_only = http
        .post(format!("{base}/api/runs/replay?plugin=auto-reply"))
        .send()
        .expect("post");
    assert_eq!(query_only.status(), 415, "state changes take a JSON body");
    assert_eq!(attempts(&service, run), 1, "nothing was replayed");

    let own = http
        .post(&replay)
        .header("origin", &base)
        .json(&json!({}))
        .send()
        .expect("post");
    assert_eq!(own.status(), 200, "{:?}", own.text());
    service.wait_for(BOUND, || (attempts(&service, run) == 2).then_some(()));
    let by_filter: Value = http
        .post(format!("{base}/api/runs/replay"))
        .json(&json!({"plugin": "auto-reply", "status": "succeeded"}))
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert!(by_filter["replayed"].is_array(), "{by_filter}");
    service.stop();
}

/// Reads from `stream` until EOF; `true` when the server closed it within `bound`.
fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    stream.set_read_timeout(Some(bound)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

fn timeouts_workdir() -> Workdir {
    switchboard_testing::build_plugins().expect("plugins build");
    Workdir::with_manifests(
        &switchboard_testing::repo_root().join("manifests"),
        "[server]\nheader_timeout_ms = 300\nrequest_timeout_ms = 1000\n",
    )
}

#[test]
fn idle_sockets_and_half_sent_requests_are_closed() {
    let work = timeouts_workdir();
    let service = work.serve();
    let port = port_of(&service.webhook);
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    assert!(closed_within(&mut idle, BOUND), "a silent socket is closed");

    let mut kept_alive = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    assert!(
        closed_within(&mut kept_alive, BOUND),
        "an idle keep-alive socket is closed"
    );

    let mut half = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let path = service
        .webhook
        .split_once(&port.to_string())
        .expect("path")
        .1
        .to_owned();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"event"
    );
    half.write_all(head.as_bytes()).expect("write");
    assert!(
        closed_within(&mut half, BOUND),
        "a half-sent body is cut off"
    );
    service.stop();
}

/// `serve` under a shell that lowered the open-file limit first (`ulimit_flags`: `-n` for soft
/// and hard, `-Sn` for the soft limit only).
fn serve_under_ulimit(work: &Workdir, ulimit_flags: &str, limit: u32) -> Service {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit {ulimit_flags} {limit} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(work.path("switchboard.toml"))
        .args(["serve", "--listen", "127.0.0.1:0", "--drain-ms", "2000"])
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("CRM_TOKEN")
        .env("RUST_LOG", "warn");
    Service::start(command, BOUND)
}

fn healthz_answers_despite_idle_sockets(service: &Service, idle: usize) {
    let port = port_of(&service.webhook);
    let sockets: Vec<TcpStream> = (0..idle)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(BOUND)
        .build()
        .expect("client");
    let status = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .expect("healthz answers")
        .status();
    assert_eq!(status, 200);
    eprintln!(
        "healthz answered {:?} after {idle} idle sockets",
        started.elapsed()
    );
    drop(sockets);
}

#[test]
fn idle_sockets_beyond_the_open_file_limit_do_not_stop_the_service() {
    // Soft limit only: the service raises it to the hard limit at start.
    let work = Workdir::shipped();
    let service = serve_under_ulimit(&work, "-Sn", 256);
    healthz_answers_despite_idle_sockets(&service, 300);
    service.stop();
    // Hard limit too: the connection cap keeps descriptors free, the header timeout frees slots.
    let work = timeouts_workdir();
    let service = serve_under_ulimit(&work, "-n", 256);
    healthz_answers_despite_idle_sockets(&service, 300);
    service.stop();
}

#[test]
fn a_half_sent_request_does_not_keep_the_process_alive_after_sigterm() {
    let work = Workdir::shipped();
    let service = work.serve();
    let port = port_of(&service.webhook);
    let mut half = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    half.write_all(
        b"POST /hooks/radist/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{",
    )
    .expect("write");
    let started = Instant::now();
    let (status, _) = service.terminate();
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    // Drain (5 s in the tests) plus the HTTP grace (5 s) bound the shutdown; the request's own
    // 30 s timeout must not be what ends it.
    assert!(took < Duration::from_secs(25), "shutdown took {took:?}");
    drop(half);
}
