//! Golden tests of webhook decoding: every `tests/webhooks/<case>.json` body beside its
//! `<case>.expected` output (pretty JSON of the `Decoded`, or the error's Display text).
//! `BLESS=1 cargo test -p radist-connector --test webhook_golden` rewrites the expected files.

use std::fs;
use std::path::{Path, PathBuf};

use radist_connector::webhook::{Decoded, decode};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks")
}

/// Every `*.json` input, sorted by name.
fn inputs() -> Vec<PathBuf> {
    let entries = fs::read_dir(cases_dir()).expect("tests/webhooks exists");
    let mut inputs: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    inputs.sort();
    inputs
}

/// What the golden file holds for one body.
fn render(body: &[u8]) -> String {
    match decode(body) {
        Ok(decoded) => {
            let text = serde_json::to_string_pretty(&decoded).expect("decoded serializes");
            let back: Decoded = serde_json::from_str(&text).expect("decoded deserializes");
            assert_eq!(back, decoded, "serialized event does not round-trip");
            text + "\n"
        }
        Err(err) => format!("{err}\n"),
    }
}

/// Compares one case; returns a description of the mismatch, if any.
fn check(input: &Path, bless: bool) -> Option<String> {
    let body = fs::read(input).expect("input readable");
    let actual = render(&body);
    let expected_path = input.with_extension("expected");
    if bless {
        fs::write(&expected_path, &actual).expect("expected file writable");
        return None;
    }
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    match fs::read_to_string(&expected_path) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => Some(format!(
            "{name}: output differs\n--- expected\n{expected}--- actual\n{actual}"
        )),
        Err(_) => Some(format!("{name}: no .expected file; run with BLESS=1")),
    }
}

#[test]
fn webhook_bodies_decode_as_their_golden_files_say() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let inputs = inputs();
    assert!(inputs.len() >= 15, "only {} golden cases", inputs.len());
    let failures: Vec<String> = inputs.iter().filter_map(|i| check(i, bless)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expected_file_has_an_input() {
    let entries = fs::read_dir(cases_dir()).expect("tests/webhooks exists");
    for entry in entries {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|ext| ext == "expected") {
            let input = path.with_extension("json");
            assert!(input.exists(), "{} has no input", path.display());
        }
    }
}
