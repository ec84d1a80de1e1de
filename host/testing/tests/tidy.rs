//! The repository's invariants, checked as tests (rust-analyzer's `tidy` is the model) instead
//! of by memory: every Rust file opens with a module doc; crate boundaries hold (only the
//! runtime names wasmtime, only the store writes SQL, only the service reads the environment,
//! each with its named exceptions); no `unwrap()` in code that is not a test; no file-level
//! import circle in any crate (re-exports followed to the file behind them).

#[path = "tidy/imports.rs"]
mod imports;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use switchboard_testing::repo_root;

/// Directories that hold no source of ours.
const SKIPPED_DIRS: &[&str] = &[
    "target",
    ".git",
    "node_modules",
    ".venv",
    ".switchboard",
    "corpus",
    "artifacts",
];

/// Every `.rs` file of the repository (both cargo workspaces, the fuzz targets included), as
/// paths relative to the repository root with `/` separators.
fn rust_files() -> Vec<String> {
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "found only {} Rust files under {}",
        files.len(),
        root.display()
    );
    files
}

fn walk(root: &Path, dir: &Path, into: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                walk(root, &path, into);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            into.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn read(file: &str) -> String {
    std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Test and bench code: files under `tests/`, `benches/` or a `support` directory, and
/// `tests.rs` / `*_tests.rs` modules (compiled only under `#[cfg(test)]`).
fn is_test_code(file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    parts.iter().any(|p| matches!(*p, "tests" | "benches"))
        || file.ends_with("/tests.rs")
        || file.ends_with("_tests.rs")
        || file.starts_with("fuzz/")
}

/// The lines of `text` before its first `#[cfg(test)]` (the unit tests that follow may do what
/// production code may not).
fn production_part(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"))
        .map(|(i, line)| (i + 1, line))
}

/// Lines of production code (outside the allowed files) that contain any of `needles`.
fn offenders(needles: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files() {
        if is_test_code(&file) || allowed.iter().any(|a| file.starts_with(a)) {
            continue;
        }
        let text = read(&file);
        for (n, line) in production_part(&text) {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("{file}:{n}: {}", line.trim()));
            }
        }
    }
    found
}

fn dependencies_of(manifest: &str) -> Vec<String> {
    let text = read(manifest);
    let value: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{manifest}: {e}"));
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| value.get(section).and_then(toml::Value::as_table))
        .flat_map(|table| table.keys().cloned())
        .collect()
}

/// Crates of the host workspace that depend on any of `crates`, other than `allowed`.
fn crates_depending_on(crates: &[&str], allowed: &[&str]) -> Vec<String> {
    let root: toml::Value = toml::from_str(&read("Cargo.toml")).expect("root Cargo.toml");
    let members = root["workspace"]["members"].as_array().expect("members");
    members
        .iter()
        .filter_map(toml::Value::as_str)
        .filter(|member| !allowed.contains(member))
        .filter(|member| {
            dependencies_of(&format!("{member}/Cargo.toml"))
                .iter()
                .any(|dep| crates.contains(&dep.as_str()))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let missing: Vec<String> = rust_files()
        .into_iter()
        .filter(|file| {
            let text = read(file);
            let first = text
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with("#!["));
            !first.is_some_and(|line| line.starts_with("//!"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc:\n{}",
        missing.join("\n")
    );
}

#[test]
fn only_the_runtime_names_wasmtime() {
    let crates = crates_depending_on(&["wasmtime", "wasmtime-wasi"], &["host/runtime"]);
    assert!(
        crates.is_empty(),
        "crates depending on wasmtime besides the runtime: {crates:?}"
    );
    let uses = offenders(
        &["wasmtime::", "wasmtime_wasi::"],
        &["host/runtime/", "plugins/"],
    );
    assert!(
        uses.is_empty(),
        "wasmtime named outside the runtime:\n{}",
        uses.join("\n")
    );
}

#[test]
fn only_the_store_writes_sql() {
    // The bench reads PostgreSQL's own statistics (commits, WAL) to report them; it owns no data.
    let sql_crates = [
        "rusqlite",
        "tokio-postgres",
        "deadpool-postgres",
        "sqlx",
        "postgres",
    ];
    let crates = crates_depending_on(&sql_crates, &["host/store", "bench"]);
    assert!(
        crates.is_empty(),
        "crates with a database driver besides the store: {crates:?}"
    );
    let sql = offenders(
        &[
            "INSERT INTO",
            "UPDATE ",
            "DELETE FROM",
            "CREATE TABLE",
            "SELECT ",
        ],
        &["host/store/", "bench/src/pg.rs", "plugins/"],
    );
    let sql: Vec<String> = sql.into_iter().filter(|line| line.contains('"')).collect();
    assert!(sql.is_empty(), "SQL outside the store:\n{}", sql.join("\n"));
}

#[test]
fn only_the_service_reads_the_environment() {
    // Named exceptions: the plugin build runs the toolchain that runs us (`CARGO`, `RUSTC`);
    // the store's throwaway PostgreSQL for tests finds its binaries (`SWITCHBOARD_PG_BIN`);
    // the bench is a tool of its own with its own flags and variables.
    let allowed = [
        "host/service/",
        "host/plugin-build/src/",
        "host/store/src/pg_test_server.rs",
        "host/testing/src/",
        "bench/",
    ];
    let reads = offenders(&["env::var(", "env::var_os(", "env::vars("], &allowed);
    assert!(
        reads.is_empty(),
        "environment read outside the service:\n{}",
        reads.join("\n")
    );
}

#[test]
fn only_the_assembly_opens_the_store() {
    // The store's own crate opens itself; the bench is a tool of its own.
    let allowed = ["host/store/", "host/service/src/assembly.rs", "bench/"];
    let opens = offenders(&["SqliteStore::open(", "PostgresStore::connect("], &allowed);
    assert!(
        opens.is_empty(),
        "the store opened outside `host/service/src/assembly.rs` (open it there, so every \
         command gets the store the host config names, with its durability and lock):\n{}",
        opens.join("\n")
    );
}

/// Consumers of the store that take only the roles they use (`dyn role::X`, or the combination
/// `role.rs` defines for them), not the whole `Store`: the runtime's journal, kv and upload
/// adapters, the webhook intake, the dispatcher, the scheduler, the node leases, retention, the
/// queue sampler, the views shared by the CLI, the admin API and the dashboard, the admin API and
/// the dashboard (`ui/`). A path ending in `/` covers every file under it.
const ROLE_CONSUMERS: &[&str] = &[
    "host/service/src/adapters.rs",
    "host/service/src/serve/admin.rs",
    "host/service/src/serve/backlog.rs",
    "host/service/src/serve/dispatcher.rs",
    "host/service/src/serve/intake.rs",
    "host/service/src/serve/nodes.rs",
    "host/service/src/serve/retention.rs",
    "host/service/src/serve/scheduler.rs",
    "host/service/src/views.rs",
    "host/service/src/ui/",
];

/// True when `code` names the store's `Store` trait: the whole word `Store` (`dyn Store`,
/// `switchboard_store::Store`, `S: Store`), not a variant such as `KvError::Store` nor a longer
/// name such as `SqliteStore`.
fn names_the_whole_store(code: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices("Store").any(|(at, word)| {
        let (before, after) = (&code[..at], &code[at + word.len()..]);
        let variant = before.strip_suffix("::").is_some_and(|path| {
            let segment = path.rsplit(|c: char| !is_ident(c)).next().unwrap_or("");
            segment.starts_with(char::is_uppercase)
        });
        !before.ends_with(is_ident) && !after.starts_with(is_ident) && !variant
    })
}

#[test]
fn store_consumers_name_the_roles_they_use() {
    let files = rust_files();
    let mut whole = Vec::new();
    for consumer in ROLE_CONSUMERS {
        let mine: Vec<&String> = files.iter().filter(|f| f.starts_with(consumer)).collect();
        assert!(
            !mine.is_empty(),
            "no file at {consumer}; update ROLE_CONSUMERS"
        );
        for file in mine.into_iter().filter(|f| !is_test_code(f)) {
            let text = read(file);
            for (n, line) in production_part(&text) {
                let code = line.split("//").next().unwrap_or("");
                if names_the_whole_store(code) {
                    whole.push(format!("{file}:{n}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        whole.is_empty(),
        "these consumers take the whole store; name the roles they use (`dyn role::Dispatch`, \
         `&Arc<S>` with `S: role::Schedules + role::History`, or a combination of roles defined \
         in `host/store/src/role.rs` and listed by `Store`):\n{}",
        whole.join("\n")
    );
}

#[test]
fn the_role_check_sees_the_whole_store() {
    for whole in [
        "    pub store: Arc<dyn Store>,",
        "use switchboard_store::{QueueDepth, Store};",
        "async fn pass<S: Store + ?Sized>(store: &S) {",
        "fn f(store: &dyn switchboard_store::Store) {}",
    ] {
        assert!(names_the_whole_store(whole), "missed: {whole}");
    }
    for roles in [
        "    pub store: Arc<dyn role::Console>,",
        "        other => KvError::Store(other.to_string()),",
        "let store = SqliteStore::open(config);",
        "pub struct StoreJournal(pub Arc<dyn role::Ledger>);",
    ] {
        assert!(!names_the_whole_store(roles), "flagged: {roles}");
    }
}

#[test]
fn a_messenger_is_spelled_in_one_table() {
    // The table: the manifest's `SourceType` (the host's messenger type; the runtime maps it onto
    // the WIT's and the connector's types by these names). Named exceptions: the connector's
    // Radist connection, tagged by its `type` because each messenger's params differ; the
    // sandbox, which emulates Radist from the spec and shares no code with the client; plugins.
    let allowed = [
        "host/manifest/src/manifest/trigger.rs",
        "connectors/radist/src/models/connection.rs",
        "connectors/radist-sandbox/",
        "plugins/",
    ];
    let names: Vec<String> = switchboard_manifest::SourceType::ALL
        .iter()
        .map(|m| format!("\"{}\"", m.as_str()))
        .collect();
    let needles: Vec<&str> = names.iter().map(String::as_str).collect();
    let spelled = offenders(&needles, &allowed);
    assert!(
        spelled.is_empty(),
        "a messenger spelled outside its table (take the name from `SourceType::as_str`, or \
         from the connector's `ChatSourceType` by serde, instead of a table of your own):\n{}",
        spelled.join("\n")
    );
}

#[test]
fn no_unwrap_outside_tests() {
    let found = offenders(&[".unwrap()"], &[]);
    assert!(
        found.is_empty(),
        "`unwrap()` in production code (use `?`, or `expect` with the invariant that makes it \
         safe):\n{}",
        found.join("\n")
    );
}

/// Circles known today, to be opened (each a named exception, like the boundary rules'): none.
/// A circle found is opened by moving what both sides need into a third file.
const KNOWN_CIRCLES: &[&str] = &[];

/// Every crate's `src` directory: where a Rust file's path has `/src/`.
fn crate_sources(files: &[String]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| {
            f.split_once("/src/")
                .map(|(krate, _)| format!("{krate}/src"))
        })
        .collect()
}

#[test]
fn no_import_circle_between_files() {
    let files = rust_files();
    let sources = crate_sources(&files);
    for named in ["host/service/src", "host/runtime/src", "host/store/src"] {
        assert!(sources.contains(named), "{named} not among {sources:?}");
    }
    let mut circles = Vec::new();
    for src in &sources {
        let graph = imports::Graph::of_crate(src, &files, read);
        assert!(graph.file_count() > 0, "{src} holds no Rust files");
        let found = graph.circles().into_iter().map(|c| c.join(" <-> "));
        circles.extend(found.filter(|c| !KNOWN_CIRCLES.contains(&c.as_str())));
    }
    assert!(
        circles.is_empty(),
        "files that import each other in a circle (move what both need into a third file, or \
         have one side take it as a parameter):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_import_graph_sees_a_circle() {
    let texts = [
        ("x/src/lib.rs", "//! root\nmod a;\nmod b;\n"),
        ("x/src/a.rs", "//! a\nuse crate::b::{self, Thing};\n"),
        ("x/src/b/mod.rs", "//! b\nmod c;\nuse c::Other;\n"),
        ("x/src/b/c.rs", "//! c\nfn f() { super::super::a::g() }\n"),
    ];
    assert_eq!(
        circles_of(&texts),
        [vec!["x/src/a.rs", "x/src/b/mod.rs", "x/src/b/c.rs"]]
    );
}

/// The circles among `texts`, a crate `x` given as (file, text) pairs.
fn circles_of(texts: &[(&str, &str)]) -> Vec<Vec<String>> {
    let files: Vec<String> = texts.iter().map(|(f, _)| (*f).to_owned()).collect();
    let read = |file: &str| {
        let text = texts.iter().find(|(f, _)| *f == file).map(|(_, t)| *t);
        text.unwrap_or_default().to_owned()
    };
    imports::Graph::of_crate("x/src", &files, read).circles()
}

#[test]
fn a_facade_is_no_circle_but_a_circle_through_one_is() {
    let facade = "//! m\nmod a;\nmod b;\npub use a::*;\npub(crate) use b::{\n    Bee,\n};\n";
    let apart = [
        ("x/src/lib.rs", "//! root\nmod m;\n"),
        ("x/src/m/mod.rs", facade),
        (
            "x/src/m/a.rs",
            "//! a\nuse super::Bee;\npub struct Ant(Bee);\n",
        ),
        ("x/src/m/b.rs", "//! b\npub struct Bee;\n"),
    ];
    assert!(circles_of(&apart).is_empty(), "{:?}", circles_of(&apart));
    let tangled = [
        ("x/src/lib.rs", "//! root\nmod m;\n"),
        ("x/src/m/mod.rs", facade),
        (
            "x/src/m/a.rs",
            "//! a\nuse super::Bee;\npub struct Ant(Bee);\n",
        ),
        (
            "x/src/m/b.rs",
            "//! b\npub struct Bee;\nfn f(_: crate::m::Ant) {}\n",
        ),
    ];
    assert_eq!(circles_of(&tangled), [vec!["x/src/m/a.rs", "x/src/m/b.rs"]]);
}

#[test]
fn the_repository_root_is_found() {
    let root: PathBuf = repo_root();
    assert!(root.join("ARCHITECTURE.md").is_file(), "{}", root.display());
}
