//! Validation: from the latest raw schema to a [`Manifest`], reporting every problem with its
//! position. Sections are checked independently, so one bad section hides nothing in another.

mod capability;
mod crm;
pub(crate) mod fields;
mod trigger;

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

use self::fields::{MIB, int_field, required, secret};
use crate::manifest::{Capabilities, Limits, Manifest, PluginName, PluginSection, SecretSource};
use crate::problem::{Report, key_path};
use crate::schema::SecretV1;
use crate::schema::v1::{LimitsV1, PluginV1};
use crate::upgrade::Latest;

/// The manifest, if every required part is there; problems go to `report` either way.
pub(crate) fn manifest(report: &mut Report<'_>, raw: &Latest) -> Option<Manifest> {
    let plugin = plugin(report, &raw.plugin);
    let triggers = trigger::triggers(report, &raw.trigger);
    let capabilities = match &raw.capabilities {
        Some(grants) => capability::capabilities(report, grants),
        None => Capabilities::default(),
    };
    let limits = raw
        .limits
        .as_ref()
        .map_or_else(Limits::default, |l| limits(report, l.get_ref()));
    let config = raw
        .config
        .as_ref()
        .map(|c| config(report, c))
        .unwrap_or_default();
    let secrets = raw
        .secrets
        .as_ref()
        .map(|s| secrets(report, s))
        .unwrap_or_default();
    Some(Manifest {
        plugin: plugin?,
        triggers,
        capabilities,
        limits,
        config,
        secrets,
    })
}

fn plugin(report: &mut Report<'_>, raw: &Option<Spanned<PluginV1>>) -> Option<PluginSection> {
    let Some(raw) = raw else {
        let message = "the [plugin] section is missing; add it with `name` and `wasm`";
        report.missing(0..0, "plugin", message);
        return None;
    };
    let fields = raw.get_ref();
    let name = required(
        report,
        &fields.name,
        raw.span(),
        "plugin.name",
        "name = \"auto-reply\"",
    );
    let name = name.and_then(|name| plugin_name(report, name));
    let wasm_example = "wasm = \"plugins/target/wasm32-wasip2/release/auto_reply.wasm\"";
    let wasm = required(
        report,
        &fields.wasm,
        raw.span(),
        "plugin.wasm",
        wasm_example,
    );
    let wasm = wasm.and_then(|wasm| wasm_path(report, wasm));
    let description = fields.description.as_ref().map(|d| d.get_ref().clone());
    Some(PluginSection {
        name: name?,
        wasm: wasm?,
        description,
    })
}

fn plugin_name(report: &mut Report<'_>, raw: &Spanned<String>) -> Option<PluginName> {
    let name = raw.get_ref();
    if let Some(valid) = PluginName::new(name) {
        return Some(valid);
    }
    let rules = "use 1 to 64 characters of `a-z`, `0-9` and `-`";
    let fixed: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let message = match PluginName::new(&fixed) {
        Some(fixed) => format!("`{name}` is not a valid plugin name; {rules}, e.g. `{fixed}`"),
        None => format!("`{name}` is not a valid plugin name; {rules}"),
    };
    report.error(raw.span(), "plugin.name", message);
    None
}

fn wasm_path(report: &mut Report<'_>, raw: &Spanned<String>) -> Option<PathBuf> {
    let path = raw.get_ref();
    if path.ends_with(".wasm") && path.len() > ".wasm".len() {
        return Some(PathBuf::from(path));
    }
    let message = format!(
        "`{path}` is not a .wasm file; point it at the component built for wasm32-wasip2, relative to this manifest"
    );
    report.error(raw.span(), "plugin.wasm", message);
    None
}

fn limits(report: &mut Report<'_>, raw: &LimitsV1) -> Limits {
    let d = Limits::default();
    Limits {
        memory_mib: int_field!(report, "limits", raw, d, memory_mib, 1..=4096),
        timeout_ms: int_field!(report, "limits", raw, d, timeout_ms, 1..=300_000),
        max_attempts: int_field!(report, "limits", raw, d, max_attempts, 1..=100),
        log_bytes: int_field!(report, "limits", raw, d, log_bytes, 1..=16 * MIB),
        max_host_calls: int_field!(report, "limits", raw, d, max_host_calls, 1..=1_000_000),
    }
}

/// `[config]` values as strings; arrays and tables are refused.
fn config(
    report: &mut Report<'_>,
    raw: &BTreeMap<String, Spanned<toml::Value>>,
) -> BTreeMap<String, String> {
    let mut config = BTreeMap::new();
    for (key, value) in raw {
        let text = match value.get_ref() {
            toml::Value::String(text) => text.clone(),
            toml::Value::Array(_) => {
                let message = "arrays are not supported in [config]; write one string (e.g. comma-separated) and split it in the plugin";
                report.error(value.span(), &key_path("config", key), message);
                continue;
            }
            toml::Value::Table(_) => {
                let message =
                    "tables are not supported in [config]; use flat keys such as `crm_url`";
                report.error(value.span(), &key_path("config", key), message);
                continue;
            }
            scalar => scalar.to_string(),
        };
        config.insert(key.clone(), text);
    }
    config
}

fn secrets(
    report: &mut Report<'_>,
    raw: &BTreeMap<String, Spanned<SecretV1>>,
) -> BTreeMap<String, SecretSource> {
    let secrets = raw.iter().filter_map(|(name, value)| {
        let path = key_path("secrets", name);
        let source = secret(report, &path, value)?;
        host_variable(report, &path, value)?;
        Some((name.clone(), source))
    });
    secrets.collect()
}

/// Refuses a secret read from one of the host's own `SWITCHBOARD_*` variables.
fn host_variable(report: &mut Report<'_>, path: &str, value: &Spanned<SecretV1>) -> Option<()> {
    let env = value.get_ref().env.as_ref()?;
    if !env
        .get_ref()
        .to_ascii_uppercase()
        .starts_with(HOST_VARIABLE_PREFIX)
    {
        return Some(());
    }
    let message = format!(
        "`{}` is one of the host's own variables; plugins may not read `{HOST_VARIABLE_PREFIX}*`, so give this secret a variable of its own",
        env.get_ref()
    );
    report.error(env.span(), &key_path(path, "env"), message);
    None
}

/// The host's own environment variables start with this; no manifest may read them.
pub(crate) const HOST_VARIABLE_PREFIX: &str = "SWITCHBOARD_";

#[cfg(test)]
mod tests;
