//! The plugin-local WIT world: the `handle` export plus an import of each interface the
//! manifest's `[capabilities]` grants, and nothing else. The JavaScript and Python toolchains
//! import every interface of the world they are given, so this is what keeps their components
//! within the grants; Rust plugins get it too, so every language's directory looks alike.

use switchboard_manifest::Manifest;

/// `wit/world.wit` for `manifest`, declaring package `local:<name>` and world `plugin`.
pub fn narrow_world(manifest: &Manifest) -> String {
    let imports: String = manifest
        .capabilities
        .granted_interfaces()
        .iter()
        .map(|kind| format!("    import {};\n", current(kind.wit_interface())))
        .collect();
    super::files::render(
        include_str!("templates/world.wit"),
        &[
            ("name", manifest.plugin.name.as_str()),
            ("imports", &imports),
        ],
    )
}

/// `interface` at the WIT package version this host builds plugins against (the newest it
/// provides): a world resolves against one vendored package, so every import names its version,
/// whichever version introduced the interface.
fn current(interface: &str) -> String {
    let name = interface
        .split_once('@')
        .map_or(interface, |(name, _)| name);
    let newest = switchboard_manifest::HOST_WIT_VERSIONS
        .last()
        .copied()
        .unwrap_or("0.2.1");
    format!("{name}@{newest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_imports_only_the_granted_interfaces() {
        let world = narrow_world(&crate::test_manifest::granting("greeter", "kv = true"));
        assert!(world.contains("package local:greeter;"), "{world}");
        assert!(
            world.contains("import switchboard:plugin/kv@0.2.1;"),
            "{world}"
        );
        assert!(
            world.contains("import switchboard:plugin/log@0.2.1;"),
            "{world}"
        );
        assert!(!world.contains("messages"), "{world}");
        assert!(!world.contains("/http@"), "{world}");
    }
}
