//! Every shipped manifest parses, and its `plugin.wasm` (relative to the manifest file) is a
//! component that `build_plugins()` builds. Includes the manifest in the SDK's crate docs.

use std::path::{Path, PathBuf};

use switchboard_testing::{build_plugins, repo_root};

fn manifest_files() -> Vec<PathBuf> {
    let root = repo_root();
    let dirs = [root.join("manifests"), root.join("host/testing/manifests")];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

fn parse(path: &Path) -> switchboard_manifest::Manifest {
    let text = std::fs::read_to_string(path).expect("manifest is readable");
    switchboard_manifest::parse_manifest(&path.display().to_string(), &text)
        .unwrap_or_else(|problems| panic!("{problems}"))
}

#[test]
fn shipped_manifests_parse_and_point_at_built_plugins() {
    let artifacts = build_plugins().unwrap_or_else(|e| panic!("{e}"));
    let files = manifest_files();
    assert!(
        files.len() >= 5,
        "expected the example and test manifests, found {files:?}"
    );
    for file in files {
        let manifest = parse(&file);
        let wasm = file
            .parent()
            .expect("manifest has a directory")
            .join(&manifest.plugin.wasm);
        let resolved = wasm
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {}: {e}", file.display(), wasm.display()));
        let built: Vec<PathBuf> = artifacts
            .iter()
            .filter_map(|(_, p)| p.canonicalize().ok())
            .collect();
        assert!(
            built.contains(&resolved),
            "{}: {} is not a built plugin",
            file.display(),
            resolved.display()
        );
    }
}

#[test]
fn sdk_doc_manifest_parses() {
    let lib = repo_root().join("plugins/sdk/src/lib.rs");
    let docs = std::fs::read_to_string(&lib).expect("sdk lib.rs is readable");
    let lines: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("manifest_version"))
        .expect("the docs hold a manifest");
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.starts_with("```"))
            .expect("the manifest block ends");
    let text = lines[start..end].join("\n");
    let manifest =
        switchboard_manifest::parse_manifest("sdk docs", &text).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(manifest.plugin.name.as_str(), "greeter");
}
