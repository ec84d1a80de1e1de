//! The load-time capability check: every interface a component imports must be granted by its
//! manifest, known to this host, or WASI (which is linked but neutered).

use switchboard_manifest::{CapabilityKind, Manifest};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::RuntimeError;

/// The component's imported interface names, e.g. `switchboard:plugin/http@0.2.0`.
pub(crate) fn import_names(engine: &Engine, component: &Component) -> Vec<String> {
    let ty = component.component_type();
    ty.imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Refuses the plugin, listing every ungranted or unknown import.
pub(crate) fn check_imports(
    manifest: &Manifest,
    manifest_file: &str,
    imports: &[String],
) -> Result<(), RuntimeError> {
    let plugin = manifest.plugin.name.as_str();
    let problems: Vec<String> = imports
        .iter()
        .filter_map(|import| problem(manifest, manifest_file, plugin, import))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(RuntimeError::Imports {
        plugin: plugin.to_owned(),
        problems,
    })
}

fn problem(manifest: &Manifest, file: &str, plugin: &str, import: &str) -> Option<String> {
    if import.starts_with("wasi:") || is_types(import) {
        return None;
    }
    let Some(kind) = CapabilityKind::from_wit_interface(import) else {
        return Some(format!(
            "plugin `{plugin}` imports `{import}`, which this host does not provide; \
             build it against switchboard:plugin@0.2.1 and use only its interfaces and WASI"
        ));
    };
    if manifest.capabilities.grants(kind) {
        return None;
    }
    let example = kind.grant_example().unwrap_or_default();
    Some(format!(
        "plugin `{plugin}` imports `{import}` but its manifest does not grant it; \
         add `[capabilities] {example}` to {file}"
    ))
}

/// `switchboard:plugin/types` at a version this host provides (it holds only types).
fn is_types(import: &str) -> bool {
    import
        .strip_prefix("switchboard:plugin/types@")
        .is_some_and(|version| switchboard_manifest::HOST_WIT_VERSIONS.contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(capabilities: &str, imports: &[&str]) -> Result<(), String> {
        let imports: Vec<String> = imports.iter().map(|s| (*s).to_owned()).collect();
        check_imports(
            &crate::test_support::manifest(capabilities),
            "manifests/crm-sync.toml",
            &imports,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn basics_and_wasi_need_no_grant() {
        let imports = [
            "switchboard:plugin/types@0.2.0",
            "switchboard:plugin/log@0.2.0",
            "switchboard:plugin/config@0.2.0",
            "switchboard:plugin/clock@0.2.0",
            "wasi:cli/environment@0.2.6",
        ];
        assert_eq!(check("", &imports), Ok(()));
    }

    #[test]
    fn both_wit_versions_load_and_crm_imports_name_their_key() {
        let imports = [
            "switchboard:plugin/types@0.2.1",
            "switchboard:plugin/kv@0.2.1",
            "switchboard:plugin/kv@0.2.0",
        ];
        assert_eq!(check("kv = true", &imports), Ok(()));
        let crm = [
            "switchboard:plugin/contacts@0.2.1",
            "switchboard:plugin/history@0.2.1",
        ];
        let grants = "contacts = { connections = [7] }\nhistory = { connections = [7] }";
        assert_eq!(
            check(grants, &crm),
            Ok(()),
            "contacts and history are provided"
        );
        let err = check("", &crm).expect_err("refused");
        assert!(err.contains("add `[capabilities] contacts ="), "{err}");
        assert!(err.contains("add `[capabilities] history ="), "{err}");
        let err = check(
            "",
            &[
                "switchboard:plugin/tags@0.2.1",
                "switchboard:plugin/inbox@0.2.1",
            ],
        )
        .expect_err("refused");
        assert!(err.contains("add `[capabilities] tags = { write = true, connections = [70001], allow = [\"lead\"] }`"), "{err}");
        assert!(
            err.contains("add `[capabilities] inbox = { connections = [70001] }`"),
            "{err}"
        );
    }

    #[test]
    fn an_ungranted_import_names_the_manifest_key() {
        let err = check(
            "kv = true",
            &[
                "switchboard:plugin/kv@0.2.0",
                "switchboard:plugin/http@0.2.0",
            ],
        )
        .expect_err("refused");
        assert_eq!(
            err,
            "plugin `crm-sync` imports `switchboard:plugin/http@0.2.0` but its manifest does not grant it; \
             add `[capabilities] http = { allow = [\"https://api.example.com\"] }` to manifests/crm-sync.toml"
        );
    }

    #[test]
    fn unknown_imports_are_refused_and_every_problem_listed() {
        let err = check(
            "",
            &["acme:evil/x@1.0.0", "switchboard:plugin/messages@0.2.0"],
        )
        .expect_err("refused");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("`acme:evil/x@1.0.0`, which this host does not provide"));
        assert!(lines[1].contains("capabilities] messages ="));
    }
}
