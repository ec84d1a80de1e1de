//! Replays the fuzz corpora (`fuzz/corpus/…`) on stable, one reader for all three targets:
//! every saved `webhook_decode` input decodes or fails without a panic and with a short message
//! however large the input; every `manifest_parse` and `host_config_parse` input parses or fails
//! without a panic, and every problem has a position inside the text.

use std::path::PathBuf;

use radist_connector::error::INPUT_EXCERPT_CHARS;
use radist_connector::webhook::decode;
use switchboard_manifest::{Problems, parse_host_config, parse_manifest};
use switchboard_testing::repo_root;

/// An error quotes at most two excerpts of the input (path and message) plus its own words.
const MAX_ERROR_CHARS: usize = 2 * INPUT_EXCERPT_CHARS + 200;

/// Every file of the corpus of `target`, sorted; fails when the directory is missing or empty.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo_root().join("fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("fuzz corpus {dir:?} is missing ({e}); restore fuzz/corpus/{target} from git")
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
    for (path, body) in inputs("webhook_decode") {
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

/// Every problem is at a 1-based line and column within `text`.
fn assert_positioned(path: &PathBuf, text: &str, problems: &Problems) {
    assert!(!problems.is_empty(), "{path:?}: an error without problems");
    let lines = text.split('\n').count();
    for problem in problems.as_slice() {
        assert!(
            problem.line >= 1 && problem.column >= 1,
            "{path:?}: {problem}"
        );
        assert!(
            problem.line <= lines,
            "{path:?}: line past the end: {problem}"
        );
    }
}

/// Parses every input of `target` with `parse`; returns how many failed.
fn replay<T>(target: &str, parse: fn(&str, &str) -> Result<T, Problems>) -> usize {
    let mut failed = 0;
    for (path, bytes) in inputs(target) {
        // Lossy, as the fuzz target only sees UTF-8.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = std::panic::catch_unwind(|| parse("fuzz.toml", &text).err());
        let problems = outcome.unwrap_or_else(|_| panic!("{target} panicked on {path:?}"));
        if let Some(problems) = problems {
            assert_positioned(&path, &text, &problems);
            failed += 1;
        }
    }
    failed
}

#[test]
fn every_manifest_corpus_input_parses_or_has_positioned_problems() {
    let failed = replay("manifest_parse", parse_manifest);
    assert!(failed > 0, "the corpus holds broken manifests too");
}

#[test]
fn every_host_config_corpus_input_parses_or_has_positioned_problems() {
    let failed = replay("host_config_parse", parse_host_config);
    assert!(failed > 0, "the corpus holds broken host configs too");
}
