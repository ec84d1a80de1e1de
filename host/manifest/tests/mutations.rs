//! Robustness: damaged manifests and host configs are refused with problems, never a panic.
//!
//! Every golden input is parsed again with one character deleted (every fifth position, to keep
//! the test quick in debug builds) and with each line duplicated; any outcome is fine as long as
//! parsing returns and a refusal names a problem.

use std::fs;
use std::path::Path;

use switchboard_manifest::{parse_host_config, parse_manifest};

#[test]
fn damaged_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut parsed = 0;
    for dir in [root.clone(), root.join("host-config")] {
        for entry in fs::read_dir(&dir).expect("readable golden directory") {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = fs::read_to_string(&path).expect("readable case");
                parsed += damage(&text).map(|damaged| check(&damaged)).count();
            }
        }
    }
    assert!(parsed > 500, "only {parsed} damaged inputs");
}

/// Every variant of `text` with one character deleted or one line duplicated.
fn damage(text: &str) -> impl Iterator<Item = String> + '_ {
    let deletions = text.char_indices().step_by(5).map(move |(at, c)| {
        let mut damaged = text.to_owned();
        damaged.replace_range(at..at + c.len_utf8(), "");
        damaged
    });
    let lines: Vec<&str> = text.lines().collect();
    let duplications = (0..lines.len()).map(move |i| {
        let mut damaged = lines.clone();
        damaged.insert(i, lines[i]);
        damaged.join("\n")
    });
    deletions.chain(duplications)
}

fn check(text: &str) {
    if let Err(problems) = parse_manifest("m.toml", text) {
        assert!(!problems.is_empty(), "refused without a problem: {text}");
    }
    if let Err(problems) = parse_host_config("c.toml", text) {
        assert!(!problems.is_empty(), "refused without a problem: {text}");
    }
}
