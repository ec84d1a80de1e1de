//! Helpers for the unit tests: manifests from a `[capabilities]` snippet.

use switchboard_manifest::Manifest;

/// A valid manifest for plugin `crm-sync` with `capabilities` under `[capabilities]`.
pub(crate) fn manifest(capabilities: &str) -> Manifest {
    let text = format!(
        "manifest_version = 1\n[plugin]\nname = \"crm-sync\"\nwasm = \"c.wasm\"\n\
         [[trigger]]\non = [\"message.received\"]\n[capabilities]\n{capabilities}\n"
    );
    match switchboard_manifest::parse_manifest("manifests/crm-sync.toml", &text) {
        Ok(manifest) => manifest,
        Err(problems) => panic!("test manifest is invalid:\n{problems}"),
    }
}
