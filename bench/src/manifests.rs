//! The plugin manifests each scenario loads, written into the scratch `manifests/` directory and
//! pointing at the plugins built from source (`plugins/`): auto-reply for `e2e`, twenty plugins
//! with different triggers for `plugins20`, auto-reply beside the hostile plugin for `hostile`,
//! and for `cron-storm` one manifest per schedule, all on the same slot.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Datelike, Timelike, Utc};
use switchboard_testing::PluginArtifacts;

use crate::cli::{Lang, Scenario};

/// The shipped auto-reply rules (manifests/auto-reply.toml).
const RULES: &str = r#"[
  {"match": "price|цена|сколько стоит", "reply": "Доставка от 990 ₽. Оформить заказ?", "buttons": ["Да", "Нет"]},
  {"match": "size|размер", "reply": "Выберите размер", "list": {"button": "Размеры", "section": "Футболки", "rows": ["S", "M", "L"]}},
  {"match": "hours|часы работы", "reply": "Мы работаем с 9:00 до 21:00 без выходных."}
]"#;

/// Triggers of the auto-reply variants in `plugins20` (they never reply: their rules match
/// nothing the load sends, so only the main auto-reply answers).
const VARIANT_TRIGGERS: [&str; 9] = [
    "on = [\"message.received\"]\ntext_matches = \"(?i)price|цена\"",
    "on = [\"message.received\"]\nconnections = [70001]",
    "on = [\"message.received\"]\nsource_types = [\"telegram\", \"telegram_bot\"]",
    "on = [\"message.received\"]",
    "on = [\"message.received\"]\ntext_matches = \"(?i)hours\"",
    "on = [\"message.received\"]\nconnections = [70002, 70003]",
    "on = [\"message.sent\", \"message.delivered\"]",
    "on = [\"message.received\"]\nsource_types = [\"waba\"]\ntext_matches = \"размер\"",
    "on = [\"connection.status-changed\"]",
];

/// Triggers of the trivial plugins in `plugins20` (the hostile component, which ignores
/// everything but manual events: the cheapest possible run).
const TRIVIAL_TRIGGERS: [&str; 10] = [
    "on = [\"message.received\"]",
    "on = [\"message.received\"]\nconnections = [70001, 70002]",
    "on = [\"message.received\"]\nsource_types = [\"whatsapp\"]",
    "on = [\"message.received\"]\ntext_matches = \"(?i)спасибо\"",
    "on = [\"message.received\"]\nconnections = [70004]",
    "on = [\"message.received\", \"message.sent\"]",
    "on = [\"manual\"]",
    "on = [\"message.read\", \"message.failed\"]",
    "on = [\"message.received\"]\ntext_matches = \"(?i)size|размер\"",
    "on = [\"message.received\"]\nsource_types = [\"waba\", \"telegram\"]",
];

/// Writes the scenario's manifests into `dir`, auto-reply in `lang` for `e2e`; returns how many.
pub fn write(
    scenario: Scenario,
    dir: &Path,
    plugins: &PluginArtifacts,
    lang: Lang,
) -> anyhow::Result<usize> {
    let auto = plugins.wasm("auto-reply")?;
    let hostile = plugins.wasm("hostile")?;
    let mut files: Vec<(String, String)> = Vec::new();
    if !matches!(scenario, Scenario::Intake | Scenario::CronStorm) {
        let port = lang.port().filter(|_| scenario == Scenario::E2e);
        let text = match port {
            None => auto_reply("auto-reply", auto, "on = [\"message.received\"]", RULES),
            Some((dir_name, memory_mib)) => {
                let port_dir = switchboard_testing::repo_root()
                    .join("plugins")
                    .join(dir_name);
                let wasm = switchboard_testing::build_plugin_dir(&port_dir)
                    .map_err(|e| anyhow::anyhow!("cannot build {dir_name}: {e}"))?;
                let text = auto_reply("auto-reply", &wasm, "on = [\"message.received\"]", RULES);
                text.replace("memory_mib = 16", &format!("memory_mib = {memory_mib}"))
            }
        };
        files.push(("auto-reply".into(), text));
    }
    if scenario == Scenario::Plugins20 {
        files.extend(plugins20(auto, hostile));
    }
    if scenario == Scenario::Hostile {
        files.push((
            "hostile".into(),
            hostile_manifest("hostile", hostile, "on = [\"manual\"]", 500),
        ));
    }
    save(dir, &files)
}

fn save(dir: &Path, files: &[(String, String)]) -> anyhow::Result<usize> {
    for (name, text) in files {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.len())
}

/// The cron storm: `count` plugins (`storm-00001`, ...), each with one cron trigger that fires
/// once, at `slot` (whole seconds, UTC; no jitter, no catch-up), running the hostile component,
/// which ends a schedule run at once (it acts only on manual events).
pub fn write_storm(
    dir: &Path,
    plugins: &PluginArtifacts,
    count: usize,
    slot: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let hostile = plugins.wasm("hostile")?;
    let trigger = storm_trigger(slot);
    let files: Vec<(String, String)> = (1..=count)
        .map(|i| {
            let name = format!("storm-{i:05}");
            let text = hostile_manifest(&name, hostile, &trigger, 2000);
            (name, text)
        })
        .collect();
    save(dir, &files)
}

/// A cron trigger whose only slot in the year is `slot` (`sec min hour day month *`).
fn storm_trigger(slot: DateTime<Utc>) -> String {
    format!(
        "cron = \"{} {} {} {} {} *\"\ntimezone = \"UTC\"\njitter_s = 0\ncatch_up = \"none\"",
        slot.second(),
        slot.minute(),
        slot.hour(),
        slot.day(),
        slot.month()
    )
}

fn plugins20(auto: &Path, hostile: &Path) -> Vec<(String, String)> {
    let never = r#"[{"match": "zz-never-matches", "reply": "-"}]"#;
    let variants = VARIANT_TRIGGERS.iter().enumerate().map(|(i, t)| {
        let name = format!("auto-reply-{:02}", i + 1);
        let text = auto_reply(&name, auto, t, never);
        (name, text)
    });
    let trivial = TRIVIAL_TRIGGERS.iter().enumerate().map(|(i, t)| {
        let name = format!("trivial-{:02}", i + 1);
        let text = hostile_manifest(&name, hostile, t, 2000);
        (name, text)
    });
    variants.chain(trivial).collect()
}

/// auto-reply with no send-rate cap (the benchmark sends far more than 60 a minute).
fn auto_reply(name: &str, wasm: &Path, trigger: &str, rules: &str) -> String {
    format!(
        "manifest_version = 1\n[plugin]\nname = \"{name}\"\nwasm = {wasm:?}\n\n[[trigger]]\n{trigger}\n\n\
         [capabilities]\nmessages = {{ connections = [70001, 70002, 70003, 70004], types = [\"text\", \"waba_interactive\", \"waba_template\"] }}\n\
         tags = {{ connections = [70001, 70002, 70003, 70004] }}\n\n\
         [limits]\nmemory_mib = 16\ntimeout_ms = 2000\nmax_attempts = 5\n\n\
         [config]\nrules = '''\n{rules}\n'''\nfallback_template = \"welcome\"\nfallback_locale = \"en\"\n"
    )
}

/// The hostile component with what it needs to load (messages and http granted narrowly).
fn hostile_manifest(name: &str, wasm: &Path, trigger: &str, timeout_ms: u32) -> String {
    format!(
        "manifest_version = 1\n[plugin]\nname = \"{name}\"\nwasm = {wasm:?}\n\n[[trigger]]\n{trigger}\n\n\
         [capabilities]\nmessages = {{ connections = [70001], types = [\"text\"], per_minute = 60 }}\nhttp = {{ allow = [\"http://127.0.0.1:1\"] }}\n\n\
         [limits]\nmemory_mib = 16\ntimeout_ms = {timeout_ms}\nmax_attempts = 1\nlog_bytes = 65536\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_manifest_parses_and_plugins20_has_twenty() {
        let plugins = switchboard_testing::build_plugins().expect("plugins build");
        for scenario in [Scenario::E2e, Scenario::Plugins20, Scenario::Hostile] {
            let dir = tempfile::tempdir().expect("dir");
            let count = write(scenario, dir.path(), &plugins, Lang::Rust).expect("write");
            if scenario == Scenario::Plugins20 {
                assert_eq!(count, 20);
            }
            parse_all(dir.path());
        }
    }

    fn parse_all(dir: &Path) -> Vec<switchboard_manifest::Manifest> {
        let mut manifests = Vec::new();
        for entry in std::fs::read_dir(dir).expect("list") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            match switchboard_manifest::parse_manifest(&path.display().to_string(), &text) {
                Ok(m) => manifests.push(m),
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
        manifests
    }

    #[test]
    fn storm_manifests_have_one_distinct_schedule_each_on_the_slot() {
        use switchboard_manifest::Trigger;
        let plugins = switchboard_testing::build_plugins().expect("plugins build");
        let dir = tempfile::tempdir().expect("dir");
        let slot = DateTime::parse_from_rfc3339("2027-03-04T05:06:07Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            write_storm(dir.path(), &plugins, 12, slot).expect("write"),
            12
        );
        let manifests = parse_all(dir.path());
        let mut names: Vec<&str> = manifests.iter().map(|m| m.plugin.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 12);
        for m in &manifests {
            let [Trigger::Schedule(t)] = m.triggers.as_slice() else {
                panic!("{}: one cron trigger expected", m.plugin.name);
            };
            let schedule = t.schedule();
            let before = slot - chrono::Duration::seconds(1);
            assert_eq!(schedule.next_after(before), Some(slot));
            assert_eq!(t.jitter_s, 0);
        }
    }
}
