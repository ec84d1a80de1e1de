//! Manifests for the crate's unit tests: a plugin triggered by received messages and granted
//! what the test names.

use switchboard_manifest::Manifest;

/// The manifest of plugin `name` (`<name>.wasm`), triggered by messages received on connection
/// 7, granted `capabilities` (the body of its `[capabilities]` table).
pub(crate) fn granting(name: &str, capabilities: &str) -> Manifest {
    let text = format!(
        "manifest_version = 1\n[plugin]\nname = \"{name}\"\nwasm = \"{name}.wasm\"\n\
         [[trigger]]\non = [\"message.received\"]\nconnections = [7]\n\
         [capabilities]\n{capabilities}\n"
    );
    switchboard_manifest::parse_manifest(&format!("{name}.toml"), &text)
        .unwrap_or_else(|problems| panic!("a valid test manifest:\n{problems}"))
}
