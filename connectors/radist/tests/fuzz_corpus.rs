//! Replays the `webhook_decode` fuzz corpus (`fuzz/corpus/webhook_decode`) on stable: every
//! saved input decodes or fails without a panic, and a failure's message stays short however
//! large the input.

use std::path::PathBuf;

use radist_connector::error::INPUT_EXCERPT_CHARS;
use radist_connector::webhook::decode;

/// An error quotes at most two excerpts of the input (path and message) plus its own words.
const MAX_ERROR_CHARS: usize = 2 * INPUT_EXCERPT_CHARS + 200;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/webhook_decode")
}

/// Every file of the corpus, sorted; fails when the directory is missing or empty.
fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("fuzz corpus {dir:?} is missing ({e}); restore fuzz/corpus/webhook_decode from git")
    });
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz corpus {dir:?} is empty");
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read corpus file");
            (path, bytes)
        })
        .collect()
}

#[test]
fn every_corpus_input_decodes_or_fails_with_a_short_error() {
    let mut failures = 0;
    for (path, body) in inputs() {
        let outcome = std::panic::catch_unwind(|| decode(&body));
        let decoded = outcome.unwrap_or_else(|_| panic!("decode panicked on {path:?}"));
        if let Err(err) = decoded {
            failures += 1;
            let chars = err.to_string().chars().count();
            assert!(chars <= MAX_ERROR_CHARS, "{path:?}: {chars} chars: {err}");
        }
    }
    assert!(failures > 0, "the corpus holds malformed bodies too");
}

#[test]
fn an_oversized_body_still_gets_a_short_error() {
    let key = "k".repeat(100_000);
    let body =
        format!(r#"{{"event_type":"messages.create","event":{{"{key}":1,"connection_id":"x"}}}}"#);
    let err = decode(body.as_bytes()).expect_err("connection_id is a string");
    assert!(err.to_string().chars().count() <= MAX_ERROR_CHARS, "{err}");
}
