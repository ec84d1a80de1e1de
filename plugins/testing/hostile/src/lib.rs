//! `hostile`: a plugin that misbehaves on request, for the host's isolation tests.
//!
//! The behaviour comes from the JSON payload of a `manual` event, `{"mode": "…", …}`:
//!
//! | mode             | does                                                             | the host should end it |
//! |------------------|------------------------------------------------------------------|------------------------|
//! | `ok`             | nothing (the overhead benchmark's trivial handler)               | succeeded              |
//! | `loop`           | spins forever                                                    | timed out              |
//! | `memory-bomb`    | allocates and touches 1 MiB chunks until allocation fails        | trapped (memory)       |
//! | `recursion`      | recurses without bound (not a tail call)                         | trapped (stack)        |
//! | `panic`          | panics                                                           | trapped                |
//! | `log-flood`      | logs `lines` × `line_bytes` bytes (default 2048 × 4 KiB = 8 MiB)  | succeeded, logs capped |
//! | `send-ungranted` | sends a text to `connection_id` (default 70002), `chat_id`       | denied                 |
//! | `http-ungranted` | GETs `url` (default `http://127.0.0.1:9/forbidden`)              | denied                 |
//! | `huge-output`    | returns an error of `bytes` bytes (default 8 MiB)                | failed, error capped   |
//! | `send`           | sends `text` (default `hello`) to `connection_id` (default 70001), `chat_id`; fails if the send does | succeeded (ledger tests) |
//! | `header-flood`   | GETs `url` (default `http://127.0.0.1:1/flood`) with `count` headers (default 25000) | denied, nothing sent |
//! | `clock-loop`     | calls `clock.now` `calls` times (default 100000)                 | trapped past `limits.max_host_calls` |
//! | `clocks`         | logs the WASI wall clock, two WASI monotonic reads and `clock.now` | succeeded, one instant |
//! | `empty-log-flood`| logs `lines` empty lines (default 1000000)                       | succeeded, logs capped |
//! | `newline-flood`  | writes `lines` newlines to stdout (default 1000000)              | succeeded, logs capped |
//! | `random`         | asks `wasi:random` for `bytes` bytes (default 2^40)              | trapped, nothing allocated |
//! | `send-oversized` | sends a template with `count` body params (default 100000)       | failed `invalid`, or trapped when too large to lift |
//!
//! Other events are ignored. It imports `messages` and `http`, so a manifest that does not grant
//! `http` is refused at load (the "ungranted import" case).

use serde::Deserialize;
use std::hint::black_box;
use switchboard_plugin::http::Request;
use switchboard_plugin::{Event, Plugin, RunInfo, messages};

/// The manual payload.
#[derive(Debug, Deserialize)]
struct Payload {
    mode: String,
    #[serde(default)]
    connection_id: Option<i64>,
    #[serde(default)]
    chat_id: Option<i64>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    bytes: Option<usize>,
    #[serde(default)]
    lines: Option<usize>,
    #[serde(default)]
    line_bytes: Option<usize>,
    #[serde(default)]
    calls: Option<usize>,
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    text: Option<String>,
}

/// `wasi:random` straight from the WIT, so `random` can ask for any length (std never does).
mod wasi_random {
    wit_bindgen::generate!({
        inline: "package wasi:random@0.2.0;
                 interface random {
                     get-random-bytes: func(len: u64) -> list<u8>;
                     get-random-u64: func() -> u64;
                 }
                 world imports { import random; }",
        world: "imports",
    });
}

struct Hostile;

impl Plugin for Hostile {
    fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
        let Some(payload) = event.manual_json::<Payload>() else {
            return Ok(());
        };
        let payload = payload?;
        match payload.mode.as_str() {
            "ok" => Ok(()),
            "loop" => spin(),
            "memory-bomb" => memory_bomb(),
            "recursion" => Err(format!("recursion ended at depth {}", recurse(0))),
            "panic" => panic!("hostile plugin panicked on purpose"),
            "log-flood" => log_flood(
                payload.lines.unwrap_or(2048),
                payload.line_bytes.unwrap_or(4096),
            ),
            "send-ungranted" => send_ungranted(&payload),
            "http-ungranted" => http_ungranted(&payload),
            "huge-output" => Err("x".repeat(payload.bytes.unwrap_or(8 << 20))),
            "send" => send(&payload),
            "header-flood" => header_flood(&payload),
            "clock-loop" => clock_loop(payload.calls.unwrap_or(100_000)),
            "clocks" => clocks(),
            "empty-log-flood" => empty_log_flood(payload.lines.unwrap_or(1_000_000)),
            "newline-flood" => newline_flood(payload.lines.unwrap_or(1_000_000)),
            "random" => random(payload.bytes.map_or(1 << 40, |b| b as u64)),
            "send-oversized" => send_oversized(&payload),
            other => Err(format!("unknown mode `{other}`")),
        }
    }
}

switchboard_plugin::export!(Hostile);

fn spin() -> Result<(), String> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn memory_bomb() -> Result<(), String> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used, not just reserved.
        let mut chunk = vec![0u8; 1 << 20];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        hoard.push(black_box(chunk));
        switchboard_plugin::trace!("hoarding {} MiB", hoard.len());
    }
}

fn recurse(depth: u64) -> u64 {
    // An exit the optimiser cannot see through, so this is not provably infinite.
    if black_box(depth == u64::MAX) {
        return depth;
    }
    // `black_box` around the result keeps the call out of tail position and the frames alive.
    let below = black_box(recurse(black_box(depth + 1)));
    below.wrapping_add(depth)
}

fn log_flood(lines: usize, line_bytes: usize) -> Result<(), String> {
    let line = "f".repeat(line_bytes);
    for _ in 0..lines {
        switchboard_plugin::log::info(&line);
    }
    Ok(())
}

fn send_ungranted(payload: &Payload) -> Result<(), String> {
    let connection_id = payload.connection_id.unwrap_or(70002);
    let sent = messages::send_to(
        connection_id,
        payload.chat_id.unwrap_or(1),
        "should not be sent",
    )?;
    Err(format!(
        "send to connection {connection_id} was not denied: {}",
        sent.message_id
    ))
}

fn send(payload: &Payload) -> Result<(), String> {
    let text = payload.text.as_deref().unwrap_or("hello");
    let connection_id = payload.connection_id.unwrap_or(70001);
    let sent = messages::send_to(connection_id, payload.chat_id.unwrap_or(1), text)?;
    switchboard_plugin::log::info(&format!("sent {}", sent.message_id));
    Ok(())
}

fn http_ungranted(payload: &Payload) -> Result<(), String> {
    let url = payload
        .url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:9/forbidden".to_owned());
    let resp = Request::get(&url).send()?;
    Err(format!(
        "request to {url} was not denied: status {}",
        resp.status
    ))
}

fn clock_loop(calls: usize) -> Result<(), String> {
    let mut last = 0;
    for _ in 0..calls {
        last = black_box(switchboard_plugin::clock::now().seconds);
    }
    switchboard_plugin::log::info(&format!("last clock reading {last}"));
    Ok(())
}

/// Logs `wasi-wall <s>.<ns>`, `monotonic-elapsed <ns>` and `clock <s>.<ns>`.
fn clocks() -> Result<(), String> {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    let spun = black_box((0..100_000u64).fold(0, u64::wrapping_add));
    let elapsed = start.elapsed();
    let clock = switchboard_plugin::clock::now();
    let log = switchboard_plugin::log::info;
    log(&format!(
        "wasi-wall {}.{:09}",
        wall.as_secs(),
        wall.subsec_nanos()
    ));
    log(&format!(
        "monotonic-elapsed {} (after {spun})",
        elapsed.as_nanos()
    ));
    log(&format!("clock {}.{:09}", clock.seconds, clock.nanoseconds));
    Ok(())
}

fn empty_log_flood(lines: usize) -> Result<(), String> {
    for _ in 0..lines {
        switchboard_plugin::log::info("");
    }
    Ok(())
}

fn newline_flood(lines: usize) -> Result<(), String> {
    use std::io::Write;
    let chunk = [b'\n'; 4096];
    let mut stdout = std::io::stdout();
    let mut left = lines;
    while left > 0 {
        let n = left.min(chunk.len());
        stdout.write_all(&chunk[..n]).map_err(|e| e.to_string())?;
        left -= n;
    }
    Ok(())
}

fn random(bytes: u64) -> Result<(), String> {
    let got = wasi_random::wasi::random::random::get_random_bytes(bytes);
    Err(format!("the host handed over {} random bytes", got.len()))
}

fn send_oversized(payload: &Payload) -> Result<(), String> {
    let params = vec![String::new(); payload.count.unwrap_or(100_000)];
    let template = messages::TemplateMessage::new("order_ready", "en_US").body_params(params);
    let sent = messages::send_to(70001, payload.chat_id.unwrap_or(1), template)
        .map_err(|e| e.describe())?;
    Err(format!(
        "an oversized template was sent: {}",
        sent.message_id
    ))
}

fn header_flood(payload: &Payload) -> Result<(), String> {
    let url = payload
        .url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:1/flood".to_owned());
    let mut req = Request::get(&url);
    for i in 0..payload.count.unwrap_or(25_000) {
        req = req.header(format!("x-flood-{i}"), "v");
    }
    let resp = req.send()?;
    Err(format!("a header flood was sent: status {}", resp.status))
}
