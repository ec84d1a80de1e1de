//! Golden tests: every `tests/golden/*.toml` (plugin manifests) and
//! `tests/golden/host-config/*.toml` (host configs) is parsed, and the outcome (the pretty-printed
//! value, or the rendered problems) is compared with the `.expected` file beside it.
//!
//! `BLESS=1 cargo test -p switchboard-manifest --test golden` rewrites the expected files; review
//! the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use switchboard_manifest::{parse_host_config, parse_manifest};

#[test]
fn manifests() {
    check_dir("golden", |file, text| render(parse_manifest(file, text)));
}

#[test]
fn host_configs() {
    check_dir("golden/host-config", |file, text| {
        render(parse_host_config(file, text))
    });
}

fn render<T: std::fmt::Debug>(outcome: Result<T, switchboard_manifest::Problems>) -> String {
    match outcome {
        Ok(value) => format!("{value:#?}\n"),
        Err(problems) => format!("{problems}\n"),
    }
}

/// Compares every case in `tests/{dir}` with its expected outcome, reporting all mismatches.
fn check_dir(dir: &str, render: impl Fn(&str, &str) -> String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let bless = std::env::var_os("BLESS").is_some_and(|value| value == "1");
    let cases = files_with_extension(&root, "toml");
    assert!(!cases.is_empty(), "no cases in {}", root.display());
    let mut failures = Vec::new();
    for input in &cases {
        let name = input
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        let text = fs::read_to_string(input).expect("readable case");
        let actual = render(&format!("{dir}/{name}"), &text);
        let expected_path = input.with_extension("expected");
        if bless {
            fs::write(&expected_path, &actual).expect("writable expected file");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{dir}/{name}: outcome differs\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!("{dir}/{name}: no .expected file; run with BLESS=1")),
        }
    }
    for expected in files_with_extension(&root, "expected") {
        if !expected.with_extension("toml").exists() {
            failures.push(format!(
                "{}: no .toml beside it; delete it",
                expected.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).expect("readable golden directory");
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}
