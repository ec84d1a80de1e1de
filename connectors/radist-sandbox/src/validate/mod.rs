//! Request validation with pydantic-shaped errors: a [`Report`] collects every problem (type,
//! loc, msg, input, ctx) before failing with one 422, as FastAPI does.

mod bodies;
mod crm;
mod send;

pub use bodies::{ContactBody, CreateChatBody, contact_body, create_chat_body, webhook_body};
pub use crm::{TagBody, note_body, quick_reply_body, tag_body, tag_ids};
pub use send::{SendRequest, send_request};

use serde_json::{Map, Value, json};

use crate::error::{ApiError, error_item};

/// A location path (`["body","text","text"]`).
pub type Loc = Vec<Value>;

/// Lower bound of an integer field.
#[derive(Debug, Clone, Copy)]
pub enum Lower {
    /// `minimum` (ge).
    Ge(i64),
    /// `exclusiveMinimum` (gt).
    Gt(i64),
}

/// `loc` extended by one key or index.
pub fn at(loc: &[Value], key: impl Into<Value>) -> Loc {
    let mut next = loc.to_vec();
    next.push(key.into());
    next
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Collected validation errors.
#[derive(Debug, Default)]
pub struct Report {
    errors: Vec<Value>,
}

impl Report {
    /// Adds one error.
    pub fn push(&mut self, kind: &str, loc: Loc, msg: &str, input: Value, ctx: Option<Value>) {
        self.errors.push(error_item(kind, loc, msg, input, ctx));
    }

    /// `missing` / "Field required".
    pub fn missing(&mut self, loc: Loc, input: Value) {
        self.push("missing", loc, "Field required", input, None);
    }

    /// A `value_error` ("Value error, ...").
    pub fn value_error(&mut self, loc: Loc, text: &str, input: Value) {
        self.push(
            "value_error",
            loc,
            &format!("Value error, {text}"),
            input,
            None,
        );
    }

    /// `Ok` when clean, else the 422.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    /// Looks a field up: `None` when absent or null (reporting `missing` when required).
    fn field<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
    ) -> Option<&'a Value> {
        match obj.get(key) {
            None if required => {
                self.missing(at(loc, key), Value::Object(obj.clone()));
                None
            }
            Some(Value::Null) if !required => None,
            other => other,
        }
    }

    /// A string field with a length range in characters.
    pub fn str(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        let value = self.field(obj, key, loc, required)?;
        self.str_value(value, &at(loc, key), min, max)
    }

    /// A string value with a length range.
    pub fn str_value(
        &mut self,
        value: &Value,
        loc: &[Value],
        min: usize,
        max: usize,
    ) -> Option<String> {
        let Some(text) = value.as_str() else {
            self.push(
                "string_type",
                loc.to_vec(),
                "Input should be a valid string",
                value.clone(),
                None,
            );
            return None;
        };
        let len = text.chars().count();
        if len < min {
            let msg = format!("String should have at least {min} character{}", plural(min));
            self.push(
                "string_too_short",
                loc.to_vec(),
                &msg,
                value.clone(),
                Some(json!({"min_length": min})),
            );
        } else if len > max {
            let msg = format!("String should have at most {max} character{}", plural(max));
            self.push(
                "string_too_long",
                loc.to_vec(),
                &msg,
                value.clone(),
                Some(json!({"max_length": max})),
            );
        } else {
            return Some(text.to_owned());
        }
        None
    }

    /// An integer field (lax: integral floats and digit strings pass, as in pydantic).
    pub fn int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
        lower: Lower,
        max: i64,
    ) -> Option<i64> {
        let value = self.field(obj, key, loc, required)?;
        self.int_value(value, &at(loc, key), lower, max)
    }

    /// An integer value with bounds.
    pub fn int_value(
        &mut self,
        value: &Value,
        loc: &[Value],
        lower: Lower,
        max: i64,
    ) -> Option<i64> {
        let number = match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(n) = number else {
            let (kind, msg) = match value {
                Value::String(_) => (
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                ),
                Value::Number(_) => (
                    "int_from_float",
                    "Input should be a valid integer, got a number with a fractional part",
                ),
                _ => ("int_type", "Input should be a valid integer"),
            };
            self.push(kind, loc.to_vec(), msg, value.clone(), None);
            return None;
        };
        self.bounds(n, value, loc, lower, max)
    }

    fn bounds(
        &mut self,
        n: i64,
        input: &Value,
        loc: &[Value],
        lower: Lower,
        max: i64,
    ) -> Option<i64> {
        let (kind, msg, ctx) = match lower {
            Lower::Ge(min) if n < min => (
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
                json!({"ge": min}),
            ),
            Lower::Gt(min) if n <= min => (
                "greater_than",
                format!("Input should be greater than {min}"),
                json!({"gt": min}),
            ),
            _ if n > max => (
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
                json!({"le": max}),
            ),
            _ => return Some(n),
        };
        self.push(kind, loc.to_vec(), &msg, input.clone(), Some(ctx));
        None
    }

    /// A string field restricted to `allowed` (pydantic `enum` error).
    pub fn enumeration(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
        allowed: &[&str],
    ) -> Option<String> {
        let value = self.field(obj, key, loc, required)?;
        self.enum_value(value, &at(loc, key), allowed)
    }

    /// A value restricted to `allowed`.
    pub fn enum_value(&mut self, value: &Value, loc: &[Value], allowed: &[&str]) -> Option<String> {
        if let Some(text) = value.as_str().filter(|t| allowed.contains(t)) {
            return Some(text.to_owned());
        }
        let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        let expected = match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => quoted.join(""),
        };
        let msg = format!("Input should be {expected}");
        self.push(
            "enum",
            loc.to_vec(),
            &msg,
            value.clone(),
            Some(json!({"expected": expected})),
        );
        None
    }

    /// A nested object field.
    pub fn object<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
    ) -> Option<&'a Map<String, Value>> {
        let value = self.field(obj, key, loc, required)?;
        self.object_value(value, &at(loc, key))
    }

    /// A value that must be an object.
    pub fn object_value<'a>(
        &mut self,
        value: &'a Value,
        loc: &[Value],
    ) -> Option<&'a Map<String, Value>> {
        let map = value.as_object();
        if map.is_none() {
            let msg = "Input should be a valid dictionary or object to extract fields from";
            self.push(
                "model_attributes_type",
                loc.to_vec(),
                msg,
                value.clone(),
                None,
            );
        }
        map
    }

    /// A list field with an item-count range.
    pub fn list<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        loc: &[Value],
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<&'a Vec<Value>> {
        let value = self.field(obj, key, loc, required)?;
        let loc = at(loc, key);
        let Some(items) = value.as_array() else {
            self.push(
                "list_type",
                loc,
                "Input should be a valid list",
                value.clone(),
                None,
            );
            return None;
        };
        let n = items.len();
        if n < min {
            let msg = format!(
                "List should have at least {min} item{} after validation, not {n}",
                plural(min)
            );
            let ctx = json!({"field_type": "List", "min_length": min, "actual_length": n});
            self.push("too_short", loc, &msg, value.clone(), Some(ctx));
        } else if n > max {
            let msg = format!(
                "List should have at most {max} item{} after validation, not {n}",
                plural(max)
            );
            let ctx = json!({"field_type": "List", "max_length": max, "actual_length": n});
            self.push("too_long", loc, &msg, value.clone(), Some(ctx));
        }
        Some(items)
    }

    /// The objects of an optional list field (at most `max`), each with its location; an item
    /// that is not an object is reported and left out. Empty when the list is missing or bad.
    pub fn objects<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        loc: &[Value],
        max: usize,
    ) -> Vec<(&'a Map<String, Value>, Loc)> {
        let items = self.list(obj, key, loc, false, 0, max);
        let list_loc = at(loc, key);
        let items = items.map_or(&[][..], Vec::as_slice).iter().enumerate();
        items
            .filter_map(|(i, item)| {
                let here = at(&list_loc, i);
                self.object_value(item, &here).map(|object| (object, here))
            })
            .collect()
    }

    /// A boolean field (lax: "true"/"false"/0/1 pass).
    pub fn bool_value(&mut self, value: &Value, loc: &[Value]) -> Option<bool> {
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s),
            Value::Number(n) => n.as_i64().and_then(|i| match i {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            }),
            _ => None,
        };
        if parsed.is_none() {
            let msg = "Input should be a valid boolean, unable to interpret input";
            self.push("bool_parsing", loc.to_vec(), msg, value.clone(), None);
        }
        parsed
    }
}

/// Pydantic's lax boolean strings.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value, expected_types: &[&str]) {
        let mut report = Report::default();
        let obj = body.as_object().cloned().unwrap_or_default();
        report.str(&obj, "s", &[json!("body")], true, 1, 3);
        report.int(&obj, "i", &[json!("body")], false, Lower::Gt(0), 10);
        report.enumeration(&obj, "e", &[json!("body")], false, &["sync", "async"]);
        let kinds: Vec<String> = report
            .errors
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(kinds, expected_types, "{body}");
    }

    #[test]
    fn reports_every_problem_in_pydantic_terms() {
        check(json!({"s": "ab"}), &[]);
        check(json!({}), &["missing"]);
        check(
            json!({"s": "abcd", "i": 0, "e": "x"}),
            &["string_too_long", "greater_than", "enum"],
        );
        check(
            json!({"s": "", "i": "x", "e": null}),
            &["string_too_short", "int_parsing"],
        );
        check(
            json!({"s": 5, "i": 1.5}),
            &["string_type", "int_from_float"],
        );
        check(json!({"s": "a", "i": "7", "e": "sync"}), &[]);
    }

    #[test]
    fn enum_message_lists_choices_like_pydantic() {
        let mut report = Report::default();
        report.enum_value(&json!("x"), &[json!("body")], &["a", "b", "c"]);
        assert_eq!(report.errors[0]["msg"], "Input should be 'a', 'b' or 'c'");
    }
}
