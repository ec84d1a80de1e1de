//! Secret redaction: every secret value in log lines, recorded requests and error strings
//! becomes `[redacted:<name>]`.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Replaces secret values with their names. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// (value, replacement), longest value first so a secret containing another is replaced whole.
    secrets: Arc<Vec<(String, String)>>,
}

impl Redactor {
    pub(crate) fn new(secrets: &BTreeMap<String, String>) -> Self {
        let mut pairs: Vec<(String, String)> = secrets
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (value.clone(), format!("[redacted:{name}]")))
            .collect();
        pairs.sort_by_key(|pair| std::cmp::Reverse(pair.0.len()));
        Redactor {
            secrets: Arc::new(pairs),
        }
    }

    /// `text` with every secret value replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (value, replacement) in self.secrets.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), replacement);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value, keys included.
    pub(crate) fn redact_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.redact(&k), self.redact_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let mut secrets = BTreeMap::new();
        secrets.insert("crm_token".to_owned(), "tok-123".to_owned());
        secrets.insert("long".to_owned(), "tok-123-extended".to_owned());
        secrets.insert("empty".to_owned(), String::new());
        Redactor::new(&secrets)
    }

    fn check(input: &str, expected: &str) {
        assert_eq!(redactor().redact(input), expected);
    }

    #[test]
    fn secrets_are_replaced_by_name() {
        check("Bearer tok-123", "Bearer [redacted:crm_token]");
        check("tok-123tok-123", "[redacted:crm_token][redacted:crm_token]");
        check("tok-123-extended", "[redacted:long]");
        check("nothing here", "nothing here");
    }

    #[test]
    fn json_strings_are_redacted() {
        let value = serde_json::json!({"h": ["x tok-123"], "n": 1});
        let out = redactor().redact_json(value);
        assert_eq!(
            out,
            serde_json::json!({"h": ["x [redacted:crm_token]"], "n": 1})
        );
    }
}
