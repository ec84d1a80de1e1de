//! Replays the `manifest_parse` and `host_config_parse` fuzz corpora (`fuzz/corpus/…`) on
//! stable: every saved input parses or fails without a panic, and every problem has a position
//! inside the text.

use std::path::PathBuf;

use switchboard_manifest::{Problems, parse_host_config, parse_manifest};

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Every file of a corpus as text (lossy, as the fuzz targets only see UTF-8), sorted; fails
/// when the directory is missing or empty.
fn inputs(target: &str) -> Vec<(PathBuf, String)> {
    let dir = corpus(target);
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
            (path, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
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
    for (path, text) in inputs(target) {
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
