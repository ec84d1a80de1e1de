//! Unit tests of the host config: defaults, modes, addresses and the admin token rule.

use std::path::PathBuf;

use super::*;

const HEAD: &str = "config_version = 1\n";

/// Parses `HEAD` + `body` as `s.toml`; the config, or the rendered problems.
fn parse(body: &str) -> Result<HostConfig, String> {
    parse_host_config("s.toml", &format!("{HEAD}{body}")).map_err(|p| p.to_string())
}

fn check_problems(body: &str, expected: &str) {
    assert_eq!(parse(body).map(|_| ()), Err(expected.to_owned()));
}

/// The problems of a config that must be refused (`why` says why it must be).
fn refused(body: &str, why: &str) -> String {
    match parse(body) {
        Ok(_) => panic!("{why}, but the config was accepted"),
        Err(problems) => problems,
    }
}

fn check_valid(body: &str) -> HostConfig {
    parse(body).unwrap_or_else(|problems| panic!("expected a valid config:\n{problems}"))
}

#[test]
fn a_version_alone_is_a_complete_config() {
    let config = check_valid("");
    assert_eq!(config, HostConfig::default());
    assert_eq!(
        config.server.listen,
        "127.0.0.1:8080".parse().expect("an address")
    );
    assert_eq!(
        config.radist.mode,
        RadistMode::Sandbox {
            listen: loopback(0)
        }
    );
    assert_eq!(config.radist.company_id, 1);
    assert_eq!(config.plugins.manifests, PathBuf::from("manifests"));
    assert_eq!(
        config.store.path,
        PathBuf::from(".switchboard/switchboard.db")
    );
    assert_eq!(config.webhook.max_body_bytes, 1024 * 1024);
    let missing = parse_host_config("s.toml", "")
        .map(|_| ())
        .map_err(|p| p.to_string());
    let expected = "s.toml:1:1: config_version: `config_version` is missing; add `config_version = 1` at the top of the file";
    assert_eq!(missing, Err(expected.to_owned()));
}

#[test]
fn remote_mode_needs_a_key_and_a_company() {
    check_problems(
        "[radist]\nmode = \"remote\"\n",
        "s.toml:2:1: radist.api_key: required key is missing in remote mode; add `api_key = { env = \"RADIST_API_KEY\" }`\n\
         s.toml:2:1: radist.company_id: required key is missing in remote mode; add your Radist company id, e.g. `company_id = 12345`",
    );
    let config = check_valid(
        "[radist]\nmode = \"remote\"\nbase_url = \"https://radist.example/v2/\"\n\
         api_key = { env = \"RADIST_API_KEY\" }\ncompany_id = 42\nmax_retries = 0\n",
    );
    let api_key = SecretSource::Env("RADIST_API_KEY".to_owned());
    let base_url = "https://radist.example/v2".to_owned();
    assert_eq!(config.radist.mode, RadistMode::Remote { base_url, api_key });
    assert_eq!(
        (config.radist.company_id, config.radist.max_retries),
        (42, 0)
    );
}

#[test]
fn an_open_listener_needs_an_admin_token() {
    check_problems(
        "[server]\nlisten = \"0.0.0.0:8080\"\n",
        "s.toml:3:10: server.admin_token: required when the admin API is served on a non-loopback address (`server.listen` is 0.0.0.0:8080); add `admin_token = { env = \"SWITCHBOARD_ADMIN_TOKEN\" }` to `[server]`, or keep the admin API on loopback with `admin_listen = \"127.0.0.1:8081\"`",
    );
    let split =
        check_valid("[server]\nlisten = \"0.0.0.0:8080\"\nadmin_listen = \"127.0.0.1:8081\"\n");
    assert_eq!(
        split.server.admin_listen,
        Some("127.0.0.1:8081".parse().expect("an address"))
    );
    check_problems(
        "[server]\nadmin_listen = \"[::]:8081\"\n",
        "s.toml:3:16: server.admin_token: required when the admin API is served on a non-loopback address (`server.admin_listen` is [::]:8081); add `admin_token = { env = \"SWITCHBOARD_ADMIN_TOKEN\" }` to `[server]`, or keep the admin API on loopback with `admin_listen = \"127.0.0.1:8081\"`",
    );
    let config =
        check_valid("[server]\nlisten = \"0.0.0.0:8080\"\nadmin_token = { env = \"T\" }\n");
    assert_eq!(
        config.server.admin_token,
        Some(SecretSource::Env("T".to_owned()))
    );
}

#[test]
fn every_problem_is_reported() {
    check_problems(
        "[server]\nlisten = \"localhost:8080\"\n[radist]\nmode = \"remot\"\nbase_url = \"ftp://x\"\n\
         timeout_ms = 0\n[runtime]\npoolin = true\nepoch_tick_ms = 5000\n[store]\npath = \"\"\n[webhok]\n",
        "s.toml:3:10: server.listen: `localhost:8080` is not an address with a port; write `127.0.0.1:8080`\n\
         s.toml:5:8: radist.mode: unknown radist mode `remot`; did you mean `remote`?\n\
         s.toml:6:12: radist.base_url: `ftp://x` is not an http or https URL; write the API root, e.g. `https://api.radist.online/v2`\n\
         s.toml:7:14: radist.timeout_ms: 0 is out of range; use a value from 1 to 300000\n\
         s.toml:9:1: runtime.poolin: unknown key; did you mean `pooling`?\n\
         s.toml:10:17: runtime.epoch_tick_ms: 5000 is out of range; use a value from 1 to 1000\n\
         s.toml:12:8: store.path: the path is empty; remove the key to use `.switchboard/switchboard.db`\n\
         s.toml:13:2: webhok: unknown key; did you mean `webhook`?",
    );
}

#[test]
fn the_node_lease_is_checked() {
    assert_eq!(check_valid("").server.lease_s, 10);
    assert_eq!(check_valid("[server]\nlease_s = 2\n").server.lease_s, 2);
    assert_eq!(check_valid("[server]\nlease_s = 300\n").server.lease_s, 300);
    check_problems(
        "[server]\nlease_s = 1\n",
        "s.toml:3:11: server.lease_s: 1 is out of range; use a value from 2 to 300",
    );
    check_problems(
        "[server]\nlease_s = 301\n",
        "s.toml:3:11: server.lease_s: 301 is out of range; use a value from 2 to 300",
    );
}

#[test]
fn plugins_are_built_only_when_the_config_asks() {
    assert!(!check_valid("").plugins.build);
    assert!(!check_valid("[plugins]\nbuild = false\n").plugins.build);
    assert!(check_valid("[plugins]\nbuild = true\n").plugins.build);
    check_problems(
        "[plugins]\nbuild = \"yes\"\n",
        "s.toml:3:9: plugins.build: expected `true` or `false`, found string \"yes\"",
    );
}

#[test]
fn durability_is_full_unless_the_file_says_normal() {
    assert_eq!(check_valid("").store.durability, StoreDurability::Full);
    let normal = check_valid("[store]\ndurability = \"normal\"\n");
    assert_eq!(normal.store.durability, StoreDurability::Normal);
    let body = "[store]\ndurability = \"fast\"\n";
    let problems = refused(body, "an unknown durability is refused");
    assert!(
        problems.starts_with("s.toml:3:14: store.durability: ") && problems.contains("`full`"),
        "{problems}"
    );
}

#[test]
fn the_own_echo_window_defaults_to_ten_minutes_and_is_bounded() {
    assert_eq!(check_valid("").webhook.own_echo_window_s, 600);
    let set = check_valid("[webhook]\nown_echo_window_s = 60\n");
    assert_eq!(set.webhook.own_echo_window_s, 60);
    let problems = refused(
        "[webhook]\nown_echo_window_s = 0\n",
        "a zero window is refused",
    );
    assert!(
        problems.contains("webhook.own_echo_window_s") && problems.contains("10"),
        "{problems}"
    );
}

#[test]
fn the_handoff_defaults_to_4096_events_and_16_mib_may_be_turned_off_and_is_checked() {
    let bounds = |body: &str| {
        let w = check_valid(body).webhook;
        (w.handoff_max_events, w.handoff_max_mib)
    };
    assert_eq!(bounds(""), (4096, 16));
    assert_eq!(bounds("[webhook]\nhandoff_max_events = 0\n"), (0, 16));
    let huge = "[webhook]\nhandoff_max_events = 2000000\nhandoff_max_mib = 4096\n";
    let wrong = refused(huge, "the handoff's bounds are checked");
    assert!(wrong.contains("webhook.handoff_max_events"), "{wrong}");
    assert!(wrong.contains("webhook.handoff_max_mib"), "{wrong}");
}

#[test]
fn backlog_bounds_default_to_ten_thousand_runs_and_thirty_seconds_and_are_checked() {
    let bounds = |body: &str| {
        let w = check_valid(body).webhook;
        (
            w.max_queued_runs,
            w.max_queue_age_s,
            w.backlog_retry_after_s,
        )
    };
    assert_eq!(bounds(""), (10_000, 30, 5));
    let set = "[webhook]\nmax_queued_runs = 500\nmax_queue_age_s = 5\nbacklog_retry_after_s = 2\n";
    assert_eq!(bounds(set), (500, 5, 2));
    let zero = "[webhook]\nmax_queued_runs = 0\nmax_queue_age_s = 0\n";
    let wrong = refused(zero, "zero bounds are refused");
    assert!(wrong.contains("webhook.max_queued_runs"), "{wrong}");
    assert!(wrong.contains("webhook.max_queue_age_s"), "{wrong}");
}
