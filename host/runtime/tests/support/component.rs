//! Tiny test components: a core WAT module with the real `plugin` world's metadata, encoded
//! with wit-component, its manifest, kv and run input. Shared by the runtime's unit tests
//! (`src/plugin_tests.rs`) and its integration tests (`tests/guest_limits.rs`), each including
//! this file by path; the runtime's types come from the including module (`super::`), which
//! names them by its own path (`crate::` or `switchboard_runtime::`).

use std::sync::Arc;

use super::{FileKvStore, HostServices, PluginEvent, RunInfo, RunInput};

/// Where the test manifest says it lives (load errors name it).
pub const MANIFEST_FILE: &str = "manifests/t.toml";

/// `handle` returning `ok`: the return area at 64 holds discriminant 0.
pub const RETURN_OK: &str = "(i32.store8 (i32.const 64) (i32.const 0)) (i32.const 64)";

/// A component whose core module imports `imports`, holds `data` at address 128 and runs
/// `body` as `handle`, over a bump allocator and one page of memory.
pub fn component(imports: &str, data: &str, body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module {imports}
             (memory (export "memory") 1)
             (global $heap (mut i32) (i32.const 4096))
             (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
               (local $p i32)
               (local.set $p (global.get $heap))
               (global.set $heap (i32.add (global.get $heap) (i32.add (local.get 3) (i32.const 8))))
               (local.get $p))
             (data (i32.const 128) "{data}")
             (func (export "handle") (param i32) (result i32) {body}))"#
    );
    let mut module = wat::parse_str(&wat).expect("core wat");
    let mut resolve = wit_parser::Resolve::default();
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit");
    let (pkg, _) = resolve.push_dir(wit).expect("wit");
    let world = resolve.select_world(&[pkg], Some("plugin")).expect("world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed");
    let mut encoder = wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true);
    encoder.encode().expect("component")
}

/// The manifest of plugin `t` (its component `t.wasm`, run by `manual` events), with `extra`
/// TOML sections appended (`[limits]`, `[capabilities]`).
pub fn manifest(extra: &str) -> switchboard_manifest::Manifest {
    let text = format!(
        "manifest_version = 1\n[plugin]\nname = \"t\"\nwasm = \"t.wasm\"\n\
         [[trigger]]\non = [\"manual\"]\n{extra}"
    );
    switchboard_manifest::parse_manifest(MANIFEST_FILE, &text).expect("manifest")
}

/// Host services with file kv under `dir`.
pub fn services(dir: &std::path::Path) -> HostServices {
    HostServices::new(Arc::new(FileKvStore::open(dir).expect("kv")))
}

/// A manual event's first attempt.
pub fn input() -> RunInput {
    RunInput {
        event: PluginEvent::Manual("{}".into()),
        run: RunInfo {
            run_id: "run-1".into(),
            event_id: "ev-1".into(),
            attempt: 1,
            is_replay: false,
        },
        dry_run: false,
    }
}
