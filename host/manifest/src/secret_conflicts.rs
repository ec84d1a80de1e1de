//! Secrets that manifests may not share: a variable the host config reads for itself (Radist
//! API key, webhook token, admin token), or one that another plugin already reads. Pure: it is
//! handed the parsed host config and manifests; the binary calls it from `check` and `serve`.

use std::collections::BTreeMap;

use crate::host_config::{HostConfig, RadistMode};
use crate::manifest::Manifest;

/// Every conflict between the manifests' `[secrets]` and the host's own secrets or each other,
/// one line each, in manifest order; empty when there is none.
///
/// `manifests` pairs each manifest with the file it came from (used in the messages).
pub fn secret_conflicts(host: &HostConfig, manifests: &[(&str, &Manifest)]) -> Vec<String> {
    let host_vars = host_variables(host);
    let mut first_reader: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (file, manifest) in manifests {
        for (name, source) in &manifest.secrets {
            let var = source.env_var();
            if let Some(key) = host_vars.get(var) {
                problems.push(format!(
                    "{file}: `secrets.{name}` reads `{var}`, which the host config uses for `{key}`; give the plugin a variable of its own"
                ));
            } else if let Some((other, other_name)) = first_reader.get(var) {
                problems.push(format!(
                    "{file}: `secrets.{name}` reads `{var}`, which {other} already reads for `secrets.{other_name}`; give each plugin its own variable"
                ));
            } else {
                first_reader.insert(var, (file, name));
            }
        }
    }
    problems
}

/// The variables the host config reads, with the key that names each.
fn host_variables(host: &HostConfig) -> BTreeMap<&str, &'static str> {
    let mut vars = BTreeMap::new();
    if let RadistMode::Remote { api_key, .. } = &host.radist.mode {
        vars.insert(api_key.env_var(), "radist.api_key");
    }
    if let Some(token) = &host.webhook.token {
        vars.insert(token.env_var(), "webhook.token");
    }
    if let Some(token) = &host.server.admin_token {
        vars.insert(token.env_var(), "server.admin_token");
    }
    if let Some(url) = &host.store.url {
        vars.insert(url.env_var(), "store.url");
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "config_version = 1\n[radist]\nmode = \"remote\"\ncompany_id = 7\n\
                        api_key = { env = \"RADIST_API_KEY\" }\n[webhook]\ntoken = { env = \"HOOK_TOKEN\" }\n\
                        [server]\nadmin_token = { env = \"ADMIN_TOKEN\" }\n";

    fn host() -> HostConfig {
        crate::parse_host_config("switchboard.toml", HOST).unwrap_or_else(|p| panic!("{p}"))
    }

    fn plugin(name: &str, secrets: &[(&str, &str)]) -> Manifest {
        let lines: Vec<String> = secrets
            .iter()
            .map(|(k, v)| format!("{k} = {{ env = \"{v}\" }}"))
            .collect();
        let text = format!(
            "manifest_version = 1\n[plugin]\nname = \"{name}\"\nwasm = \"p.wasm\"\n[[trigger]]\non = [\"manual\"]\n[secrets]\n{}\n",
            lines.join("\n")
        );
        crate::parse_manifest("m.toml", &text).unwrap_or_else(|p| panic!("{p}"))
    }

    #[test]
    fn distinct_variables_do_not_conflict() {
        let a = plugin("a", &[("token", "A_TOKEN")]);
        let b = plugin("b", &[("token", "B_TOKEN")]);
        assert!(secret_conflicts(&host(), &[("a.toml", &a), ("b.toml", &b)]).is_empty());
    }

    #[test]
    fn host_variables_and_shared_variables_are_reported() {
        let a = plugin("a", &[("key", "RADIST_API_KEY"), ("crm", "CRM_TOKEN")]);
        let b = plugin(
            "b",
            &[
                ("hook", "HOOK_TOKEN"),
                ("admin", "ADMIN_TOKEN"),
                ("crm", "CRM_TOKEN"),
            ],
        );
        let got = secret_conflicts(&host(), &[("a.toml", &a), ("b.toml", &b)]);
        assert_eq!(
            got,
            [
                "a.toml: `secrets.key` reads `RADIST_API_KEY`, which the host config uses for `radist.api_key`; give the plugin a variable of its own",
                "b.toml: `secrets.admin` reads `ADMIN_TOKEN`, which the host config uses for `server.admin_token`; give the plugin a variable of its own",
                "b.toml: `secrets.crm` reads `CRM_TOKEN`, which a.toml already reads for `secrets.crm`; give each plugin its own variable",
                "b.toml: `secrets.hook` reads `HOOK_TOKEN`, which the host config uses for `webhook.token`; give the plugin a variable of its own",
            ]
        );
    }
}
