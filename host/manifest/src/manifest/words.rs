//! Triggers, grants and limits written back in the manifest's own words (TOML inline tables),
//! for `switchboard plugins`, the admin API and the dashboard: what an operator reads is what
//! they would write, never a Rust `Debug` dump.

use std::collections::BTreeSet;
use std::fmt::{self, Display, Formatter};

use super::{Capabilities, EventTrigger, Limits, ScheduleTrigger, Trigger};

/// A TOML basic string, quoted and escaped.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// `[a, b]` of displayed items; strings are quoted when `quote` is set.
fn list<T: Display>(items: &BTreeSet<T>, quote: bool) -> String {
    let shown: Vec<String> = items
        .iter()
        .map(|i| {
            let text = i.to_string();
            if quote { quoted(&text) } else { text }
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// Writes `key = value` pairs separated by `, `.
struct Pairs<'a, 'b> {
    f: &'a mut Formatter<'b>,
    first: bool,
}

impl<'a, 'b> Pairs<'a, 'b> {
    fn new(f: &'a mut Formatter<'b>) -> Self {
        Self { f, first: true }
    }

    fn pair(&mut self, key: &str, value: impl Display) -> fmt::Result {
        if !self.first {
            self.f.write_str(", ")?;
        }
        self.first = false;
        write!(self.f, "{key} = {value}")
    }
}

impl Display for Trigger {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Event(event) => event.fmt(f),
            Trigger::Schedule(schedule) => schedule.fmt(f),
        }
    }
}

impl Display for EventTrigger {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = Pairs::new(f);
        out.pair("on", list(&self.on, true))?;
        if let Some(connections) = &self.connections {
            out.pair("connections", list(connections, false))?;
        }
        if let Some(types) = &self.source_types {
            out.pair("source_types", list(types, true))?;
        }
        if let Some(pattern) = &self.text_matches {
            out.pair("text_matches", quoted(pattern.as_str()))?;
        }
        if self.include_own_echoes {
            out.pair("include_own_echoes", true)?;
        }
        Ok(())
    }
}

impl Display for ScheduleTrigger {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = Pairs::new(f);
        out.pair("cron", quoted(self.cron.as_str()))?;
        out.pair("timezone", quoted(self.timezone.name()))?;
        out.pair("overlap", quoted(self.overlap.as_str()))?;
        out.pair("catch_up", quoted(self.catch_up.as_str()))?;
        out.pair("catch_up_window_s", self.catch_up_window_s)?;
        if let Some(start) = self.start {
            out.pair("start", quoted(&start.to_rfc3339()))?;
        }
        if let Some(end) = self.end {
            out.pair("end", quoted(&end.to_rfc3339()))?;
        }
        if self.jitter_s > 0 {
            out.pair("jitter_s", self.jitter_s)?;
        }
        Ok(())
    }
}

impl Display for Limits {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = Pairs::new(f);
        out.pair("memory_mib", self.memory_mib)?;
        out.pair("timeout_ms", self.timeout_ms)?;
        out.pair("max_attempts", self.max_attempts)?;
        out.pair("log_bytes", self.log_bytes)?;
        out.pair("max_host_calls", self.max_host_calls)
    }
}

impl Capabilities {
    /// Each granted capability as `key = { scope }`, in declaration order (`kv = true` style
    /// defaults are written out in full, so the limits in force are visible).
    pub fn grant_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(g) = &self.messages {
            let mut scope = format!(
                "connections = {}, types = {}",
                list(&g.connections, false),
                list(&g.types, true)
            );
            if let Some(n) = g.per_minute {
                scope.push_str(&format!(", per_minute = {n}"));
            }
            lines.push(format!("messages = {{ {scope} }}"));
        }
        for (key, grant) in [
            ("chats", &self.chats),
            ("availability", &self.availability),
            ("templates", &self.templates),
        ] {
            if let Some(g) = grant {
                let connections = list(&g.connections, false);
                lines.push(format!("{key} = {{ connections = {connections} }}"));
            }
        }
        if let Some(g) = &self.files {
            lines.push(format!("files = {{ max_bytes = {} }}", g.max_bytes));
        }
        if let Some(g) = &self.kv {
            lines.push(format!(
                "kv = {{ max_value_bytes = {}, max_keys = {} }}",
                g.max_value_bytes, g.max_keys
            ));
        }
        if let Some(g) = &self.http {
            lines.push(format!(
                "http = {{ allow = {}, max_body_bytes = {}, timeout_ms = {} }}",
                list(&g.allow, true),
                g.max_body_bytes,
                g.timeout_ms
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::check_valid;

    #[test]
    fn triggers_grants_and_limits_read_as_written() {
        let manifest = check_valid(concat!(
            "[[trigger]]\non = [\"message.received\"]\nconnections = [70001]\n",
            "text_matches = \"(?i)price|\\\"x\\\"\"\n",
            "[[trigger]]\ncron = \"0 0 9 * * Mon-Fri\"\ntimezone = \"Europe/Moscow\"\n",
            "[capabilities]\nmessages = { connections = [70001], types = [\"text\"], per_minute = 60 }\n",
            "kv = true\n",
        ));
        let triggers: Vec<String> = manifest.triggers.iter().map(ToString::to_string).collect();
        assert_eq!(
            triggers,
            [
                r#"on = ["message.received"], connections = [70001], text_matches = '(?i)price|"x"'"#,
                r#"cron = "0 0 9 * * Mon-Fri", timezone = "Europe/Moscow", overlap = "skip", catch_up = "one", catch_up_window_s = 3600"#,
            ]
        );
        assert_eq!(
            manifest.capabilities.grant_lines(),
            [
                r#"messages = { connections = [70001], types = ["text"], per_minute = 60 }"#,
                "kv = { max_value_bytes = 65536, max_keys = 10000 }",
            ]
        );
        assert_eq!(
            manifest.limits.to_string(),
            "memory_mib = 32, timeout_ms = 2000, max_attempts = 3, log_bytes = 65536, max_host_calls = 10000"
        );
    }
}
