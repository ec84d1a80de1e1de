//! Compact values for run history and the action ledger: the one helper that cuts a string on a
//! char boundary saying how much was cut ([`cut`]), JSON summaries whose strings and lists are
//! bounded ([`compact`]), and bytes stored as base64 with a cap ([`bytes_to_json`]), never as a
//! JSON array of numbers (a 1 MiB body was 4 MiB of text and ~32 MiB of `Value`s that way).
//!
//! Sizes, all documented here so the ledger's readers know what to expect:
//! - strings in summaries: at most [`MAX_SUMMARY_STRING`] bytes, then `… (N bytes cut)`;
//! - lists in summaries: at most [`MAX_SUMMARY_ITEMS`] items, then one `"… (N items cut)"` item;
//! - nesting in summaries: below [`MAX_SUMMARY_DEPTH`] levels a value becomes `"… (nested value cut)"`;
//! - bytes: at most the caller's cap, as `{"base64", "bytes", "cut"}` (see [`bytes_to_json`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Longest string kept in a summary, in bytes.
pub(crate) const MAX_SUMMARY_STRING: usize = 512;
/// Most items of one list kept in a summary.
pub(crate) const MAX_SUMMARY_ITEMS: usize = 32;
/// Deepest nesting kept in a summary.
pub(crate) const MAX_SUMMARY_DEPTH: usize = 8;

/// `text` cut to at most `max` bytes on a char boundary; a cut string ends with
/// `… (N bytes cut)`, N counting the bytes dropped.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

/// `value` with every string, list and nesting level bounded (see the module doc).
pub(crate) fn compact(value: Value) -> Value {
    compact_at(value, 0)
}

fn compact_at(value: Value, depth: usize) -> Value {
    if depth >= MAX_SUMMARY_DEPTH && (value.is_array() || value.is_object()) {
        return json!("… (nested value cut)");
    }
    match value {
        Value::String(s) if s.len() > MAX_SUMMARY_STRING => {
            Value::String(cut(&s, MAX_SUMMARY_STRING))
        }
        Value::Array(items) => Value::Array(compact_list(items, depth)),
        Value::Object(map) => {
            let total = map.len();
            let mut out: serde_json::Map<String, Value> = map
                .into_iter()
                .take(MAX_SUMMARY_ITEMS)
                .map(|(k, v)| (cut(&k, MAX_SUMMARY_STRING), compact_at(v, depth + 1)))
                .collect();
            if total > MAX_SUMMARY_ITEMS {
                let cut_keys = total - MAX_SUMMARY_ITEMS;
                out.insert("…".to_owned(), json!(format!("{cut_keys} keys cut")));
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn compact_list(items: Vec<Value>, depth: usize) -> Vec<Value> {
    let total = items.len();
    let mut out: Vec<Value> = items
        .into_iter()
        .take(MAX_SUMMARY_ITEMS)
        .map(|v| compact_at(v, depth + 1))
        .collect();
    if total > MAX_SUMMARY_ITEMS {
        out.push(json!(format!(
            "… ({} items cut)",
            total - MAX_SUMMARY_ITEMS
        )));
    }
    out
}

/// `bytes` as `{"base64": <first `cap` bytes>, "bytes": <full length>, "cut": <bytes dropped>}`.
pub(crate) fn bytes_to_json(bytes: &[u8], cap: usize) -> Value {
    let kept = &bytes[..bytes.len().min(cap)];
    json!({
        "base64": STANDARD.encode(kept),
        "bytes": bytes.len(),
        "cut": bytes.len() - kept.len(),
    })
}

/// The bytes [`bytes_to_json`] kept and how many it dropped; `None` for anything else.
pub(crate) fn bytes_from_json(value: &Value) -> Option<(Vec<u8>, u64)> {
    let kept = STANDARD.decode(value.get("base64")?.as_str()?).ok()?;
    Some((kept, value.get("cut")?.as_u64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cut(text: &str, max: usize, expected: &str) {
        assert_eq!(cut(text, max), expected);
    }

    #[test]
    fn strings_are_cut_on_a_char_boundary_saying_how_much() {
        check_cut("short", 10, "short");
        check_cut("abcdef", 4, "abcd… (2 bytes cut)");
        // "я" is two bytes: a cut inside it moves back to the boundary.
        check_cut("яяя", 3, "я… (4 bytes cut)");
    }

    #[test]
    fn summaries_bound_strings_lists_and_nesting() {
        let long = "x".repeat(2000);
        let list: Vec<u32> = (0..100).collect();
        let mut deep = json!(1);
        for _ in 0..20 {
            deep = json!([deep]);
        }
        let out = compact(json!({"s": long, "list": list, "deep": deep}));
        let s = out["s"].as_str().expect("string");
        assert!(s.ends_with("(1488 bytes cut)"), "{s}");
        let list = out["list"].as_array().expect("list");
        assert_eq!(list.len(), MAX_SUMMARY_ITEMS + 1);
        assert_eq!(list[MAX_SUMMARY_ITEMS], "… (68 items cut)");
        assert!(out["deep"].to_string().contains("nested value cut"));
    }

    #[test]
    fn bytes_are_base64_and_capped() {
        let stored = bytes_to_json(&[0, 1, 2, 255], 3);
        assert_eq!(stored, json!({"base64": "AAEC", "bytes": 4, "cut": 1}));
        assert_eq!(bytes_from_json(&stored), Some((vec![0, 1, 2], 1)));
        assert_eq!(bytes_from_json(&json!([1, 2])), None);
    }
}
