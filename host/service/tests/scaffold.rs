//! `switchboard new plugin` → `plugins build` → `run --manifest`, through the real binary, for
//! Rust, JavaScript and Python: in a scratch directory without a host config, the scaffolded
//! greeter builds with its language's pinned toolchain, runs against the embedded sandbox and
//! the sandbox receives its reply; the same component under a manifest that does not grant
//! `messages` is refused at load with the key to add. These tests need Node.js (with npm) and
//! Python 3 with venv: without them they fail, saying how to install them.

use std::path::Path;
use std::process::{Command, Output};

/// The greeting in the scaffold's `[config]`.
const GREETING: &str = "Hello! How can we help?";

fn switchboard(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(dir)
        .args(args)
        .env_remove("SWITCHBOARD_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("switchboard runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(out: &Output, what: &str) -> String {
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed\nstdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    stdout
}

/// Asserts the command failed and its stderr says `why`.
fn refused(out: &Output, why: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "expected a refusal: {stderr}");
    assert!(stderr.contains(why), "{stderr}");
}

/// new → build → run, then the refusal of an ungranted import.
fn new_build_run(lang: &str) {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let created = switchboard(dir, &["new", "plugin", "greeter", "--lang", lang]);
    succeeded(&created, "new plugin");
    for file in [
        "manifest.toml",
        "README.md",
        "events/message.json",
        "wit/world.wit",
    ] {
        assert!(
            dir.join("greeter").join(file).is_file(),
            "{lang}: no {file}"
        );
    }
    let built = switchboard(dir, &["plugins", "build", "greeter"]);
    let stdout = succeeded(&built, "plugins build");
    assert!(stdout.contains("built "), "{stdout}");

    let run = [
        "run",
        "--manifest",
        "greeter/manifest.toml",
        "--event",
        "greeter/events/message.json",
    ];
    let stdout = succeeded(&switchboard(dir, &run), "run --manifest");
    assert!(stdout.contains("status   succeeded"), "{lang}:\n{stdout}");
    assert!(
        stdout.contains("the sandbox received 1 message"),
        "{lang}:\n{stdout}"
    );
    let received = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("chat "))
        .unwrap_or_else(|| panic!("{lang}: no received message:\n{stdout}"));
    assert!(received.contains(GREETING), "{lang}: {received}");

    refused_without_the_grant(dir, lang);
}

/// The built component imports `messages`; a manifest without that grant is refused at load.
fn refused_without_the_grant(dir: &Path, lang: &str) {
    let manifest = std::fs::read_to_string(dir.join("greeter/manifest.toml")).expect("manifest");
    let ungranted: String = manifest
        .lines()
        .filter(|l| !l.starts_with("messages = "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(ungranted, manifest, "{lang}: the scaffold grants messages");
    std::fs::write(dir.join("greeter/ungranted.toml"), ungranted).expect("write");
    let out = switchboard(
        dir,
        &[
            "run",
            "--manifest",
            "greeter/ungranted.toml",
            "--event",
            "greeter/events/message.json",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{lang}: {stderr}");
    assert!(
        stderr.contains("does not grant it; add `[capabilities] messages = {"),
        "{lang}: {stderr}"
    );
}

#[test]
fn a_new_rust_plugin_builds_and_replies_in_the_sandbox() {
    new_build_run("rust");
}

#[test]
fn a_new_javascript_plugin_builds_and_replies_in_the_sandbox() {
    new_build_run("js");
}

#[test]
fn a_new_python_plugin_builds_and_replies_in_the_sandbox() {
    new_build_run("python");
}

#[test]
fn building_without_node_or_python_says_how_to_install_them() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    for (lang, tool, hint) in [
        ("js", "node", "install Node.js"),
        ("python", "python3", "install Python"),
    ] {
        let name = format!("no-{lang}");
        succeeded(
            &switchboard(dir, &["new", "plugin", &name, "--lang", lang]),
            "new plugin",
        );
        let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .current_dir(dir)
            .args(["plugins", "build", &name])
            .env("PATH", dir.join("empty-path"))
            .output()
            .expect("switchboard runs");
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{lang}: {stderr}");
        assert!(
            stderr.contains(&format!("`{tool}` is not installed")),
            "{lang}: {stderr}"
        );
        assert!(stderr.contains(hint), "{lang}: {stderr}");
    }
}

#[test]
fn new_plugin_refuses_a_bad_name_and_an_existing_directory() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let bad = switchboard(dir, &["new", "plugin", "Bad_Name", "--lang", "js"]);
    refused(&bad, "lowercase words");
    succeeded(
        &switchboard(dir, &["new", "plugin", "twice", "--lang", "python"]),
        "new",
    );
    let again = switchboard(dir, &["new", "plugin", "twice", "--lang", "python"]);
    refused(&again, "already exists");
}
