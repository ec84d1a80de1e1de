//! FastAPI validation errors (HTTP 422): `HTTPValidationError` and `ValidationError`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::de;

/// `HTTPValidationError`: the 422 body, `{detail: [ValidationError]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HTTPValidationError {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub detail: Vec<ValidationError>,
}

/// `ValidationError`: one problem, located by a path such as `["body", "text", "text"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationError {
    pub loc: Vec<LocItem>,
    pub msg: String,
    /// Machine-readable kind, e.g. `missing`, `string_too_long`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One step of a `ValidationError.loc`: a key name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocItem {
    Index(i64),
    Name(String),
}

impl ValidationError {
    /// A validation error at `loc`.
    pub fn new(loc: Vec<LocItem>, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// The location joined with dots, e.g. `body.waba_interactive.action.buttons.0.reply.title`.
    pub fn path(&self) -> String {
        let parts: Vec<String> = self.loc.iter().map(LocItem::to_string).collect();
        parts.join(".")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path(), self.msg, self.kind)
    }
}

impl fmt::Display for LocItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(index) => index.fmt(f),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl From<&str> for LocItem {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<i64> for LocItem {
    fn from(index: i64) -> Self {
        Self::Index(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detail_with_string_and_integer_locations_round_trips() {
        let value = json!({"detail": [
            {"loc": ["body", "text", "text"], "msg": "String should have at least 1 character",
             "type": "string_too_short"},
            {"loc": ["body", "waba_interactive", "action", "buttons", 0, "reply", "title"],
             "msg": "String should have at most 20 characters", "type": "string_too_long"}
        ]});
        let error: HTTPValidationError = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(error.detail[0].path(), "body.text.text");
        assert_eq!(error.detail[1].loc[4], LocItem::Index(0));
        assert_eq!(
            error.detail[1].to_string(),
            "body.waba_interactive.action.buttons.0.reply.title: \
             String should have at most 20 characters (string_too_long)"
        );
        assert_eq!(serde_json::to_value(&error).unwrap(), value);
    }

    #[test]
    fn built_errors_serialize_like_fastapi() {
        let error = ValidationError::new(
            vec!["body".into(), "chat_id".into()],
            "Field required",
            "missing",
        );
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            json!({"loc": ["body", "chat_id"], "msg": "Field required", "type": "missing"})
        );
        let empty: HTTPValidationError = serde_json::from_value(json!({})).unwrap();
        assert!(empty.detail.is_empty());
    }
}
