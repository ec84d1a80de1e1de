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
