//! A disk that fills up and a data directory that turns read-only, through the real binary:
//! intake answers 503 (Radist redelivers) instead of acknowledging a webhook it cannot keep,
//! loses nothing it did acknowledge, and answers 200 again once space or write access returns;
//! `/readyz` says 503 while the store cannot write.
//!
//! The tests run as root, which ignores permission bits, so `chmod` cannot make anything
//! read-only. "Full" is a small tmpfs mounted on the data directory and filled with a file;
//! "read-only" is the immutable attribute (`chattr +i`) on the database and its WAL, which makes
//! every write to them fail (EPERM, SQLite's `SQLITE_IOERR_WRITE`). Each test sets up and removes
//! its own mount or attribute, also when it fails.

mod support;

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Service, Workdir};

/// Distinct webhooks posted to a full disk before one must be refused: SQLite may still fit a
/// few in WAL pages it reuses after a checkpoint (and those are kept, so that is fine).
const MAX_POSTS_WHILE_FULL: usize = 200;

/// A tmpfs mounted on a directory, unmounted on drop (lazily, so a failed test never leaves it).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size_mib: u32) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("create mount point");
        let size = format!("size={size_mib}m");
        run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs"], dir);
        Tmpfs {
            dir: dir.to_owned(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Files with the immutable attribute set, cleared again on drop.
struct Immutable {
    files: Vec<PathBuf>,
}

impl Immutable {
    fn set(files: &[PathBuf]) -> Immutable {
        let mut guard = Immutable { files: Vec::new() };
        for file in files {
            run("chattr", &["+i"], file);
            guard.files.push(file.clone());
        }
        guard
    }

    fn clear(&mut self) {
        for file in self.files.drain(..) {
            run("chattr", &["-i"], &file);
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = Command::new("chattr").arg("-i").arg(file).status();
        }
    }
}

/// Runs `program args path`, failing the test with its stderr when it fails.
fn run(program: &str, args: &[&str], path: &Path) {
    let out = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} {path:?} failed (this test needs root and an ext4 /tmp): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes zeros to `path` until the file system is full; returns the bytes written.
fn fill(path: &Path) -> usize {
    let mut file = File::create(path).expect("create filler");
    let page = [0u8; 4096];
    let mut written = 0;
    loop {
        match file.write(&page) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {path:?}: {e}"),
        }
    }
    written
}

/// An inbound text message with a message id unique to `n`.
fn inbound(n: usize) -> Vec<u8> {
    json!({
        "event_type": "messages.create",
        "event": {
            "connection_id": 70002, "chat_id": 41, "contact_id": 1,
            "chat": {"phone": "79000000002"},
            "message": {
                "message_id": format!("5f0e8f5e-2222-4b55-9d6a-{n:012}"),
                "chat_id": "79000000002", "direction": "inbound",
                "message_type": "text", "created_at": "2026-12-01T10:00:00Z",
                "text": {"text": format!("message {n}")}
            }
        }
    })
    .to_string()
    .into_bytes()
}

fn post(service: &Service, n: usize) -> (u16, Value) {
    service.post_webhook(&service.webhook, "application/json", inbound(n))
}

/// Posts `n`, which must be acknowledged; returns its event id.
fn acknowledged(service: &Service, n: usize) -> Value {
    let (status, body) = post(service, n);
    assert_eq!(status, 200, "webhook {n}: {body}");
    assert!(!body["event_id"].is_null(), "{body}");
    body["event_id"].clone()
}

/// Every acknowledged webhook, redelivered to a restarted service, is a duplicate of the event
/// that was stored: nothing acknowledged was lost.
fn assert_kept(work: &Workdir, acked: &[(usize, Value)]) {
    let service = work.serve();
    for (n, event_id) in acked {
        let (status, body) = post(&service, *n);
        assert_eq!(status, 200, "webhook {n} after restart: {body}");
        assert_eq!(body["duplicate"], true, "webhook {n} was lost: {body}");
        assert_eq!(&body["event_id"], event_id, "webhook {n}: {body}");
    }
    service.stop();
}

#[test]
fn a_full_disk_gets_503_and_loses_nothing_acknowledged_until_space_returns() {
    let work = Workdir::shipped();
    let data = work.path("data");
    let _tmpfs = Tmpfs::mount(&data, 16);
    let service = work.serve();
    let mut acked = vec![(0, acknowledged(&service, 0))];
    let filler = data.join("filler");
    assert!(fill(&filler) > 0, "the tmpfs had room to fill");
    let mut refused = None;
    for n in 1..=MAX_POSTS_WHILE_FULL {
        let (status, body) = post(&service, n);
        match status {
            200 => acked.push((n, body["event_id"].clone())),
            503 => {
                refused = Some(n);
                break;
            }
            other => panic!("a full disk must answer 503, got {other}: {body}"),
        }
    }
    let refused = refused.expect("a full disk refuses webhooks with 503");
    eprintln!(
        "full disk: {} webhooks kept before the first 503",
        refused - 1
    );
    // Sent again while the disk is still full, the refused webhook may be refused again or
    // accepted: the failed write may have been a bigger batch (the background word indexer's
    // rows beside it), and a checkpoint may let SQLite reuse its WAL file's room. Either way,
    // the refused one was not kept: accepted, it is not a duplicate.
    let (status, body) = post(&service, refused);
    let (status, body) = match status {
        503 => {
            std::fs::remove_file(&filler).expect("free the space");
            post(&service, refused)
        }
        _ => {
            std::fs::remove_file(&filler).expect("free the space");
            (status, body)
        }
    };
    assert_eq!(status, 200, "space returned: {body}");
    assert_eq!(
        body["duplicate"], false,
        "the refused one was not kept: {body}"
    );
    acked.push((refused, body["event_id"].clone()));
    acked.push((refused + 1, acknowledged(&service, refused + 1)));
    service.stop();
    assert_kept(&work, &acked);
}

#[test]
fn a_read_only_database_gets_503_and_loses_nothing_acknowledged_until_writable() {
    let work = Workdir::shipped();
    let service = work.serve();
    let mut acked = vec![(0, acknowledged(&service, 0))];
    let files = ["switchboard.db", "switchboard.db-wal"].map(|f| work.path("data").join(f));
    let mut immutable = Immutable::set(&files);
    for n in 1..=2 {
        let (status, body) = post(&service, n);
        assert_eq!(status, 503, "read-only, webhook {n}: {body}");
    }
    let readyz = service.api.replace("/api/", "/readyz");
    let (status, body) = service.get_json(&readyz);
    assert_eq!(
        status, 503,
        "/readyz reports a store that cannot write: {body}"
    );
    assert_eq!(body["status"], "store cannot write", "{body}");
    immutable.clear();
    service.wait_for(std::time::Duration::from_secs(30), || {
        (service.get_json(&readyz).0 == 200).then_some(())
    });
    for n in 1..=3 {
        acked.push((n, acknowledged(&service, n)));
    }
    service.stop();
    assert_kept(&work, &acked);
}

/// Customer 1 (of the sandbox's connection 70001, chat `chat`) asks for a price again.
fn asks_price_again(chat: i64) -> Vec<u8> {
    json!({
        "event_type": "messages.create",
        "event": {
            "connection_id": 70001, "chat_id": chat,
            "chat": {"phone": "79000000101"},
            "message": {
                "message_id": "5f0e8f5e-3333-4b55-9d6a-000000000101",
                "chat_id": "79000000101", "direction": "inbound",
                "message_type": "text", "created_at": "2026-12-01T10:00:00Z",
                "text": {"text": "price?"}
            }
        }
    })
    .to_string()
    .into_bytes()
}

/// One worker, and Radist slow to take sends: customers' runs wait for the worker. Once the
/// longest wait passes `webhook.max_queue_age_s`, intake answers 503 with `Retry-After` (and says
/// so in `/api/queue` and `/metrics`); when the queue drains it takes the refused webhook, and
/// every message gets its reply.
#[test]
fn past_the_backlog_bound_intake_answers_503_with_retry_after_and_nothing_is_lost() {
    let work = Workdir::shipped();
    let config = std::fs::read_to_string(work.path("switchboard.toml")).expect("config");
    let config = config.replace("[runtime]\n", "[runtime]\nmax_concurrent_runs = 1\n")
        + "[webhook]\nmax_queue_age_s = 1\nbacklog_retry_after_s = 2\n";
    std::fs::write(work.path("switchboard.toml"), config).expect("config");
    let service = work.serve();
    let faults = json!({"latency_ms": 1000, "paths": ["/messages/"]});
    service.faults(&faults);
    let first = service.inbound(70001, "79000000101", "price?");
    for n in 102..=108 {
        service.inbound(70001, &format!("79000000{n}"), "price?");
    }
    let queue = format!("{}queue", service.api);
    service.wait_for(Duration::from_secs(60), || {
        let (_, q) = service.get_json(&queue);
        (q["intake"] == "refusing").then_some(())
    });
    let again = asks_price_again(first["chat_id"].as_i64().expect("chat id"));
    let refused = service
        .http
        .post(&service.webhook)
        .header("content-type", "application/json")
        .body(again.clone())
        .send()
        .expect("post");
    assert_eq!(refused.status().as_u16(), 503);
    let retry_after = refused
        .headers()
        .get("retry-after")
        .map(|v| v.as_bytes().to_vec());
    assert_eq!(retry_after.as_deref(), Some(&b"2"[..]));
    let body: Value = refused.json().expect("json");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("webhook.max_queue_age_s"), "{body}");
    let metrics = service
        .http
        .get(service.api.replace("/api/", "/metrics"))
        .send();
    let metrics = metrics.expect("metrics").text().expect("text");
    assert!(
        metrics.contains("switchboard_webhooks_refused_total{reason=\"backlog\"}"),
        "{metrics}"
    );
    service.faults(&json!({}));
    service.wait_for(Duration::from_secs(60), || {
        let (_, q) = service.get_json(&queue);
        (q["intake"] == "accepting" && q["queued"] == 0).then_some(())
    });
    let (status, body) = service.post_webhook(&service.webhook, "application/json", again);
    assert_eq!(status, 200, "redelivered after the backlog drained: {body}");
    assert_eq!(
        body["duplicate"], false,
        "the refused one was not kept: {body}"
    );
    let replied = service.wait_for(Duration::from_secs(60), || {
        let sent = service.sent();
        (sent.len() >= 9).then_some(sent)
    });
    assert_eq!(replied.len(), 9, "one reply per message: {replied:?}");
}
