//! Unit tests of whole-manifest validation: versions, `[plugin]`, `[limits]`, `[config]`,
//! `[secrets]`, unknown keys and wrong types.

use crate::manifest::{Limits, SecretSource};
use crate::parse_manifest;
use crate::test_support::{TRIGGER, check_problems, check_valid};

/// Asserts that the whole file `text` is refused with exactly `expected`.
fn check_file(text: &str, expected: &str) {
    let outcome = parse_manifest("m.toml", text)
        .map(|_| ())
        .map_err(|p| p.to_string());
    assert_eq!(outcome, Err(expected.to_owned()));
}

#[test]
fn the_version_is_read_first() {
    check_file(
        "[plugin]\nname = 1\n",
        "m.toml:1:1: manifest_version: `manifest_version` is missing; add `manifest_version = 1` at the top of the file",
    );
    check_file(
        "manifest_version = 2\nwhatever = true\n",
        "m.toml:1:20: manifest_version: manifest_version 2 is not supported; this version of switchboard reads manifest_version `1`",
    );
    check_file(
        "manifest_version = \"1\"\n",
        "m.toml:1:20: manifest_version: expected a whole number such as `manifest_version = 1`",
    );
}

#[test]
fn syntax_errors_have_positions() {
    check_file(
        "manifest_version = 1\n[plugin\nname = \"x\"\n",
        "m.toml:2:8: invalid TOML: unclosed table, expected `]`",
    );
}

#[test]
fn plugin_sections_are_checked() {
    check_file(
        &format!(
            "manifest_version = 1\n[plugin]\nname = \"Auto_Reply\"\nwasm = \"auto_reply.so\"\n{TRIGGER}"
        ),
        "m.toml:3:8: plugin.name: `Auto_Reply` is not a valid plugin name; use 1 to 64 characters of `a-z`, `0-9` and `-`, e.g. `auto-reply`\n\
         m.toml:4:8: plugin.wasm: `auto_reply.so` is not a .wasm file; point it at the component built for wasm32-wasip2, relative to this manifest",
    );
    check_file(
        &format!("manifest_version = 1\n[plugin]\ndescription = \"x\"\n{TRIGGER}"),
        "m.toml:2:1: plugin.name: required key is missing; add `name = \"auto-reply\"`\n\
         m.toml:2:1: plugin.wasm: required key is missing; add `wasm = \"plugins/target/wasm32-wasip2/release/auto_reply.wasm\"`",
    );
}

#[test]
fn a_wrongly_typed_section_is_reported_once() {
    check_file(
        &format!("manifest_version = 1\nplugin = \"auto-reply\"\n{TRIGGER}"),
        "m.toml:2:10: plugin: expected a table, found string \"auto-reply\"",
    );
}

#[test]
fn limits_have_defaults_ranges_and_known_keys() {
    assert_eq!(check_valid(TRIGGER).limits, Limits::default());
    check_problems(
        &format!(
            "{TRIGGER}[limits]\ntimout_ms = 10\nmemory_mib = 0\nmax_attempts = \"5\"\nlog_bytes = 1.5\n"
        ),
        "t.toml:8:1: limits.timout_ms: unknown key; did you mean `timeout_ms`?\n\
         t.toml:9:14: limits.memory_mib: 0 is out of range; use a value from 1 to 4096\n\
         t.toml:10:16: limits.max_attempts: expected an integer, found string \"5\"\n\
         t.toml:11:13: limits.log_bytes: expected an integer, found floating point `1.5`",
    );
}

#[test]
fn max_host_calls_defaults_to_ten_thousand_and_is_range_checked() {
    assert_eq!(check_valid(TRIGGER).limits.max_host_calls, 10_000);
    let limits = check_valid(&format!("{TRIGGER}[limits]\nmax_host_calls = 50\n")).limits;
    assert_eq!(limits.max_host_calls, 50);
    check_problems(
        &format!("{TRIGGER}[limits]\nmax_host_calls = 0\n"),
        "t.toml:8:18: limits.max_host_calls: 0 is out of range; use a value from 1 to 1000000",
    );
}

#[test]
fn config_values_are_flat_strings() {
    let manifest = check_valid(&format!(
        "{TRIGGER}[config]\ngreeting = \"Здравствуйте!\"\nretries = 3\nratio = 1.0\nloud = false\n"
    ));
    let config: Vec<(&str, &str)> = manifest
        .config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = [
        ("greeting", "Здравствуйте!"),
        ("loud", "false"),
        ("ratio", "1.0"),
        ("retries", "3"),
    ];
    assert_eq!(config, expected);
    check_problems(
        &format!("{TRIGGER}[config]\nlist = [1, 2]\nnested = {{ a = 1 }}\n"),
        "t.toml:8:8: config.list: arrays are not supported in [config]; write one string (e.g. comma-separated) and split it in the plugin\n\
         t.toml:9:10: config.nested: tables are not supported in [config]; use flat keys such as `crm_url`",
    );
}

#[test]
fn secrets_name_their_source_only() {
    let manifest = check_valid(&format!(
        "{TRIGGER}[secrets]\ncrm_token = {{ env = \"CRM_TOKEN\" }}\n"
    ));
    let expected = SecretSource::Env("CRM_TOKEN".to_owned());
    assert_eq!(manifest.secrets.get("crm_token"), Some(&expected));
    assert_eq!(expected.env_var(), "CRM_TOKEN");
    check_problems(
        &format!(
            "{TRIGGER}[secrets]\na = \"hunter2\"\npin = 1234\nb = {{ env = \"9X\" }}\nc = {{}}\nd = {{ file = \"/x\" }}\n"
        ),
        "t.toml:8:5: secrets.a: secret values do not belong in files; write `{ env = \"NAME\" }` and set that environment variable\n\
         t.toml:9:7: secrets.pin: secret values do not belong in files; write `{ env = \"NAME\" }` and set that environment variable\n\
         t.toml:10:13: secrets.b.env: `9X` is not an environment variable name; use letters, digits and `_`, not starting with a digit\n\
         t.toml:11:5: secrets.c.env: required key is missing; add `env = \"NAME\"`\n\
         t.toml:12:5: secrets.d.env: required key is missing; add `env = \"NAME\"`\n\
         t.toml:12:7: secrets.d.file: unknown key; remove it or use `env`",
    );
}

#[test]
fn secrets_may_not_read_the_hosts_own_variables() {
    check_problems(
        &format!(
            "{TRIGGER}[secrets]\nok = {{ env = \"CRM_TOKEN\" }}\nadmin = {{ env = \"SWITCHBOARD_ADMIN_TOKEN\" }}\nkey = {{ env = \"switchboard_radist_key\" }}\n"
        ),
        "t.toml:9:17: secrets.admin.env: `SWITCHBOARD_ADMIN_TOKEN` is one of the host's own variables; plugins may not read `SWITCHBOARD_*`, so give this secret a variable of its own\n\
         t.toml:10:15: secrets.key.env: `switchboard_radist_key` is one of the host's own variables; plugins may not read `SWITCHBOARD_*`, so give this secret a variable of its own",
    );
}
