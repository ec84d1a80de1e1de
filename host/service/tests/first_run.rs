//! The README's first run, as a new user makes it: from a copy of the repository root with its
//! own `switchboard.toml` and no plugin built, `switchboard serve` builds the plugins, the
//! printed `try it` line gets a reply from the sandbox, `runs list` shows the run succeeded,
//! `plugins` prints triggers in the manifest's words, and SIGTERM exits 0. Nothing here uses an
//! absolute path or a `--config`: the point is the paths of the first start.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::Service;
use switchboard_testing::repo_root;

/// The plugin build from nothing may take minutes on a cold machine (a bound, not a measure).
const FIRST_START_BOUND: Duration = Duration::from_secs(900);
const BOUND: Duration = Duration::from_secs(60);

/// Directories a checkout may hold that a fresh clone does not.
const NOT_IN_A_CLONE: &[&str] = &["target", ".git", ".switchboard", "node_modules", ".venv"];

fn copy_checkout(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if NOT_IN_A_CLONE.iter().any(|skip| name == *skip) {
            continue;
        }
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_checkout(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

fn switchboard(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .current_dir(root)
        .args(args)
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("CRM_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("CARGO_TARGET_DIR");
    command
}

/// The URL and the `-d` body of the printed `try it: curl -s URL -H '...' -d '{...}'` line.
fn try_it(line: &str) -> (String, Value) {
    let rest = line
        .strip_prefix("try it: curl -s ")
        .expect("a try-it line");
    let url = rest.split(' ').next().expect("a URL").to_owned();
    let body = rest
        .split_once(" -d '")
        .and_then(|(_, body)| body.strip_suffix('\''))
        .expect("a -d body");
    (url, serde_json::from_str(body).expect("the body is JSON"))
}

#[test]
fn the_readme_first_run_works_from_a_fresh_copy_of_the_repository_root() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let root = scratch.path().join("switchboard");
    copy_checkout(&repo_root(), &root);
    assert!(
        !root.join("plugins/target").exists(),
        "no plugin is built yet"
    );

    let service = Service::start(
        switchboard(&root, &["serve", "--listen", "127.0.0.1:0"]),
        FIRST_START_BOUND,
    );
    let line = service.try_it.clone().expect("serve printed a try-it line");
    let (url, body) = try_it(&line);
    let answer = service.http.post(&url).json(&body).send().expect("try it");
    assert!(answer.status().is_success(), "{:?}", answer.text());
    let reply = service.wait_for(BOUND, || service.sent().into_iter().next());
    assert_eq!(
        reply["request"]["message_type"], "waba_interactive",
        "{reply}"
    );

    let runs = service.wait_for(BOUND, || {
        let args = ["runs", "list", "--json"];
        let out = switchboard(&root, &args).output().expect("runs list");
        let runs = support::json_of(&args, &out);
        let done = runs.as_array()?.iter().any(|r| r["status"] == "succeeded");
        done.then_some(runs)
    });
    assert_eq!(runs[0]["plugin"], "auto-reply", "{runs}");

    let plugins = switchboard(&root, &["plugins"]).output().expect("plugins");
    let listing = String::from_utf8_lossy(&plugins.stdout);
    assert!(
        listing.contains(
            r#"trigger  on = ["message.received"], connections = [70001, 70002, 70003, 70004]"#
        ),
        "{listing}"
    );
    assert!(!listing.contains("EventTrigger"), "{listing}");

    let (status, stderr) = service.terminate();
    assert!(
        status.success(),
        "serve exited {status:?}:\n{}",
        stderr.join("\n")
    );
    assert!(
        root.join("plugins/target/wasm32-wasip2/release/auto_reply.wasm")
            .is_file(),
        "the plugins were built into the plugins workspace's own target directory"
    );
    assert!(
        !root.join("plugins/plugins").exists(),
        "no stray nested target directory"
    );
    let all = stderr.join("\n");
    assert!(
        !all.contains('\u{1b}'),
        "no colour escapes when stderr is not a terminal:\n{all}"
    );
}
