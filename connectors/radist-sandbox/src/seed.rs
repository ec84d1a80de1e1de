//! The seed: the state the sandbox starts from and returns to on `POST /_sandbox/reset`.
//! JSON, strict (`deny_unknown_fields`); [`Seed::default`] is the documented demo company.

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;

/// The whole initial state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// The one accepted `X-Api-Key`.
    pub api_key: String,
    /// Companies the key can act for (at least one).
    pub companies: Vec<CompanySeed>,
    /// `permissions` of `GET /users/me` (default: [`DEFAULT_PERMISSIONS`]).
    #[serde(default = "default_permissions")]
    pub permissions: Vec<String>,
}

/// The permissions a sandbox key has unless the seed says otherwise: everything plugins use.
pub const DEFAULT_PERMISSIONS: [&str; 5] =
    ["messaging", "contacts", "tags", "templates", "connections"];

/// One company tag (`TagIn`): name 1..=15 characters, unique in the company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSeed {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_tag_color")]
    pub background_color: String,
}

/// One text quick reply (`/messaging/templates/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickReplySeed {
    pub name: String,
    pub text: String,
}

fn default_permissions() -> Vec<String> {
    DEFAULT_PERMISSIONS.map(str::to_owned).to_vec()
}

fn default_tag_color() -> String {
    "#eeeeee".to_owned()
}

/// One company with its connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanySeed {
    pub id: i64,
    pub name: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "default_currency")]
    pub payment_currency: String,
    #[serde(default = "one")]
    pub owner_id: i64,
    /// Remaining WABA dialogs (`GET /messaging/dialogs/counters/`); 0 makes WABA sends fail.
    #[serde(default = "default_dialogs")]
    pub waba_dialogs: i64,
    #[serde(default)]
    pub connections: Vec<ConnectionSeed>,
    /// Company tags.
    #[serde(default)]
    pub tags: Vec<TagSeed>,
    /// Company quick replies.
    #[serde(default)]
    pub quick_replies: Vec<QuickReplySeed>,
}

/// One messaging connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSeed {
    pub id: i64,
    /// `waba`, `whatsapp`, `telegram`, `telegram_bot`, `max_personal` or `max_bot`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// The connection's own phone / account (WABA and WhatsApp: digits).
    pub phone: Option<String>,
    /// Telegram account username or bot username.
    pub username: Option<String>,
    /// WABA: `waba_auto_templates_enabled`.
    #[serde(default)]
    pub auto_templates_enabled: bool,
    /// WABA templates of this connection.
    #[serde(default)]
    pub templates: Vec<TemplateSeed>,
}

/// One WABA template (messaging view); `params_count` is derived from `{{n}}` in `body`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSeed {
    pub name: String,
    pub locale: String,
    pub body: String,
    /// `APPROVED`, `SUBMITTED`, `REJECTED` or `UNKNOWN`.
    #[serde(default = "approved")]
    pub status: String,
    pub custom_name: Option<String>,
    pub header: Option<String>,
    pub footer: Option<String>,
}

/// Connection types the sandbox can emulate.
pub const CONNECTION_TYPES: [&str; 6] = [
    "waba",
    "whatsapp",
    "telegram",
    "telegram_bot",
    "max_personal",
    "max_bot",
];

impl Seed {
    /// Parses a JSON seed and checks it.
    pub fn from_json_str(text: &str) -> Result<Self, SandboxError> {
        let seed: Self =
            serde_json::from_str(text).map_err(|err| SandboxError::Seed(err.to_string()))?;
        seed.check()?;
        Ok(seed)
    }

    /// Reads and parses a JSON seed file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::SeedFile {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json_str(&text)
    }

    /// Checks invariants serde cannot express; collects every problem.
    pub fn check(&self) -> Result<(), SandboxError> {
        let mut problems = Vec::new();
        if self.companies.is_empty() {
            problems.push("`companies` is empty; add one company".to_owned());
        }
        let mut ids = std::collections::HashSet::new();
        for conn in self.companies.iter().flat_map(|c| &c.connections) {
            if !CONNECTION_TYPES.contains(&conn.kind.as_str()) {
                problems.push(format!(
                    "connection {}: unknown type `{}`",
                    conn.id, conn.kind
                ));
            }
            if !ids.insert(conn.id) {
                problems.push(format!("connection id {} appears twice", conn.id));
            }
        }
        for company in &self.companies {
            problems.extend(tag_problems(company));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SandboxError::Seed(problems.join("; ")))
        }
    }
}

impl Default for Seed {
    fn default() -> Self {
        let conn = |id, kind: &str, name: &str, phone: Option<&str>, username: Option<&str>| {
            ConnectionSeed {
                id,
                kind: kind.to_owned(),
                name: name.to_owned(),
                phone: phone.map(str::to_owned),
                username: username.map(str::to_owned),
                auto_templates_enabled: false,
                templates: Vec::new(),
            }
        };
        let mut waba = conn(70001, "waba", "WABA main", Some("79990000001"), None);
        waba.templates = default_templates();
        Self {
            api_key: "sandbox-key".to_owned(),
            companies: vec![CompanySeed {
                id: 1,
                name: "Sandbox Company".to_owned(),
                timezone: default_timezone(),
                payment_currency: default_currency(),
                owner_id: 1,
                waba_dialogs: default_dialogs(),
                connections: vec![
                    waba,
                    conn(70002, "whatsapp", "WhatsApp", Some("79990000002"), None),
                    conn(
                        70003,
                        "telegram",
                        "Telegram",
                        Some("79990000003"),
                        Some("sandbox_account"),
                    ),
                    conn(
                        70004,
                        "telegram_bot",
                        "Telegram bot",
                        None,
                        Some("sandbox_bot"),
                    ),
                ],
                tags: vec![TagSeed {
                    name: "vip".to_owned(),
                    description: "Important customer".to_owned(),
                    background_color: "#ffcc00".to_owned(),
                }],
                quick_replies: vec![QuickReplySeed {
                    name: "Hours".to_owned(),
                    text: "We are open 9:00-18:00, Monday to Friday.".to_owned(),
                }],
            }],
            permissions: default_permissions(),
        }
    }
}

/// Tag names of one company that break `TagIn` (length, uniqueness).
fn tag_problems(company: &CompanySeed) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut problems = Vec::new();
    for tag in &company.tags {
        let chars = tag.name.chars().count();
        if !(1..=15).contains(&chars) {
            problems.push(format!(
                "company {}: tag `{}` must be 1 to 15 characters",
                company.id, tag.name
            ));
        }
        if !seen.insert(tag.name.as_str()) {
            problems.push(format!(
                "company {}: tag `{}` appears twice",
                company.id, tag.name
            ));
        }
    }
    problems
}

fn default_templates() -> Vec<TemplateSeed> {
    let template = |name: &str, locale: &str, body: &str, status: &str| TemplateSeed {
        name: name.to_owned(),
        locale: locale.to_owned(),
        body: body.to_owned(),
        status: status.to_owned(),
        custom_name: None,
        header: None,
        footer: None,
    };
    vec![
        template(
            "order_ready",
            "ru",
            "Заказ {{1}} готов, заберите его до {{2}}",
            "APPROVED",
        ),
        template("welcome", "en", "Welcome! How can we help you?", "APPROVED"),
        template("promo", "ru", "Скидка {{1}}% на всё", "SUBMITTED"),
    ]
}

/// Number of distinct `{{n}}` placeholders in a template text.
pub fn params_count(text: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Ok(n) = after[..end].trim().parse::<u32>() {
            seen.insert(n);
        }
        rest = &after[end + 2..];
    }
    seen.len()
}

fn default_timezone() -> String {
    "Europe/Moscow".to_owned()
}
fn default_currency() -> String {
    "RUB".to_owned()
}
fn default_dialogs() -> i64 {
    1000
}
fn one() -> i64 {
    1
}
fn approved() -> String {
    "APPROVED".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_placeholders() {
        assert_eq!(params_count("Заказ {{1}} готов, заберите его до {{2}}"), 2);
        assert_eq!(params_count("no params"), 0);
        assert_eq!(params_count("{{1}} and {{1}} and {{ 2 }} and {{x}}"), 2);
        assert_eq!(params_count("broken {{1"), 0);
    }

    #[test]
    fn default_seed_round_trips_and_bad_seed_lists_problems() {
        let text = serde_json::to_string(&Seed::default()).unwrap();
        assert_eq!(Seed::from_json_str(&text).unwrap(), Seed::default());
        let bad = r#"{"api_key":"k","companies":[{"id":1,"name":"x","connections":[
            {"id":5,"type":"fax","name":"a"},{"id":5,"type":"waba","name":"b"}]}]}"#;
        let err = Seed::from_json_str(bad).unwrap_err().to_string();
        assert!(
            err.contains("unknown type `fax`") && err.contains("appears twice"),
            "{err}"
        );
        assert!(Seed::from_json_str(r#"{"api_key":"k","companies":[],"x":1}"#).is_err());
    }
}
