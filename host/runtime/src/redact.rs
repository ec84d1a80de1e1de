//! Secret redaction: every secret value in log lines, recorded requests and error strings
//! becomes `[redacted:<name>]`, in the forms it travels in too: percent-encoded (strict, as
//! `encodeURIComponent` and form encoding write it, upper- and lowercase hex), JSON-escaped
//! (with and without `\u` escapes for non-ASCII and `\/`), and base64 (standard and URL-safe,
//! padded or not, and at each of the three alignments it can have inside a longer base64
//! string, e.g. `Basic base64(user:secret)`).
//!
//! Redaction must run before anything is cut: a cut can split a secret and leave a prefix no
//! longer recognisable. [`Redactor::redact_then_cut`] does both in that order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Encoded forms shorter than this are not redacted (too likely to match by chance); the
/// secret itself always is.
const MIN_FORM_CHARS: usize = 6;

/// Replaces secret values with their names. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// (form, replacement), longest form first so a secret containing another is replaced whole.
    secrets: Arc<Vec<(String, String)>>,
}

impl Redactor {
    pub(crate) fn new(secrets: &BTreeMap<String, String>) -> Self {
        let mut pairs: Vec<(String, String)> = secrets
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .flat_map(|(name, value)| {
                let replacement = format!("[redacted:{name}]");
                forms(value)
                    .into_iter()
                    .map(move |f| (f, replacement.clone()))
            })
            .collect();
        pairs.sort_by_key(|pair| std::cmp::Reverse(pair.0.len()));
        Redactor {
            secrets: Arc::new(pairs),
        }
    }

    /// `text` with every form of every secret replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (value, replacement) in self.secrets.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), replacement);
            }
        }
        out
    }

    /// `text` redacted, then cut to at most `max` bytes (saying how much was cut). Only the
    /// part that can reach the result is redacted, so a megabyte error costs little.
    pub(crate) fn redact_then_cut(&self, text: &str, max: usize) -> String {
        let longest = self.secrets.first().map_or(0, |(v, _)| v.len());
        let window = floor_boundary(text, max.saturating_add(longest));
        let redacted = self.redact(&text[..window]);
        let beyond = text.len() - window;
        if redacted.len() <= max && beyond == 0 {
            return redacted;
        }
        let end = floor_boundary(&redacted, max);
        let cut = redacted.len() - end + beyond;
        format!("{}… ({cut} bytes cut)", &redacted[..end])
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

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// The secret and every encoded form of it worth looking for.
fn forms(secret: &str) -> BTreeSet<String> {
    let mut forms: BTreeSet<String> = percent_forms(secret)
        .into_iter()
        .chain(json_forms(secret))
        .chain(base64_forms(secret.as_bytes()))
        .filter(|f| f.len() >= MIN_FORM_CHARS)
        .collect();
    forms.insert(secret.to_owned());
    forms
}

fn percent_forms(secret: &str) -> Vec<String> {
    let strict = |c: u8| c.is_ascii_alphanumeric() || b"-._~".contains(&c);
    let component = |c: u8| c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c);
    let upper = percent_encode(secret, strict);
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    vec![
        upper.clone(),
        lowercase_escapes(&upper, '%'),
        percent_encode(secret, component),
        form,
    ]
}

fn percent_encode(secret: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(secret.len() * 3);
    for b in secret.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` with the hex digits after each `marker` (`%XX`, `\uXXXX`) in lowercase.
fn lowercase_escapes(text: &str, marker: char) -> String {
    let digits = if marker == '%' { 2 } else { 4 };
    let mut out = String::with_capacity(text.len());
    let mut left = 0;
    for c in text.chars() {
        if left > 0 {
            out.push(c.to_ascii_lowercase());
            left -= 1;
        } else {
            out.push(c);
            if (marker == '%' && c == '%') || (marker == 'u' && out.ends_with("\\u")) {
                left = digits;
            }
        }
    }
    out
}

fn json_forms(secret: &str) -> Vec<String> {
    let quoted = serde_json::Value::String(secret.to_owned()).to_string();
    let plain = quoted[1..quoted.len() - 1].to_owned();
    let ascii = ascii_json(&plain);
    let lower = lowercase_escapes(&ascii, 'u');
    [plain, ascii, lower]
        .into_iter()
        .flat_map(|form| [form.replace('/', "\\/"), form])
        .collect()
}

/// `escaped` (JSON string content) with non-ASCII characters as `\uXXXX` (uppercase hex).
fn ascii_json(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04X}"));
        }
    }
    out
}

/// The secret in base64: whole (padded and not) and the stable part of it at each alignment
/// inside a longer base64 string, in both alphabets.
fn base64_forms(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![STANDARD.encode(secret), URL_SAFE.encode(secret)];
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for shift in 0..3 {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(secret);
            let encoded = engine.encode(&shifted);
            // Characters wholly made of the secret's bits: from the first 6-bit group after
            // the `shift` filler bytes to the last group that ends inside the secret.
            let start = (8 * shift).div_ceil(6);
            let end = (8 * shifted.len()) / 6;
            if start < end {
                forms.push(encoded[start..end].to_owned());
            }
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr/t+Pa ss\"wörd?&=";

    fn redactor() -> Redactor {
        let mut secrets = BTreeMap::new();
        secrets.insert("crm_token".to_owned(), "tok-123".to_owned());
        secrets.insert("long".to_owned(), "tok-123-extended".to_owned());
        secrets.insert("empty".to_owned(), String::new());
        secrets.insert("pw".to_owned(), SECRET.to_owned());
        Redactor::new(&secrets)
    }

    fn check(input: &str, expected: &str) {
        assert_eq!(redactor().redact(input), expected);
    }

    fn hidden(text: &str) {
        let out = redactor().redact(text);
        assert!(
            out.contains("[redacted:pw]"),
            "not redacted: {text} -> {out}"
        );
    }

    #[test]
    fn secrets_are_replaced_by_name() {
        check("Bearer tok-123", "Bearer [redacted:crm_token]");
        check("tok-123tok-123", "[redacted:crm_token][redacted:crm_token]");
        check("tok-123-extended", "[redacted:long]");
        check("nothing here", "nothing here");
    }

    #[test]
    fn percent_encoded_forms_are_redacted() {
        let strict = percent_encode(SECRET, |c| {
            c.is_ascii_alphanumeric() || b"-._~".contains(&c)
        });
        assert_eq!(strict, "s3cr%2Ft%2BPa%20ss%22w%C3%B6rd%3F%26%3D");
        hidden(&format!("https://crm.example/?pw={strict}&x=1"));
        hidden(&format!("?pw={}", lowercase_escapes(&strict, '%')));
        let form: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        hidden(&format!("pw={form}"));
        hidden("pw=s3cr%2Ft%2BPa%20ss%22w%C3%B6rd%3F%26%3D");
    }

    #[test]
    fn json_escaped_forms_are_redacted() {
        let json = serde_json::json!({ "password": SECRET }).to_string();
        hidden(&json);
        hidden(r#"{"password":"s3cr\/t+Pa ss\"w\u00f6rd?&="}"#);
        hidden(r#"{"password":"s3cr/t+Pa ss\"w\u00F6rd?&="}"#);
    }

    #[test]
    fn base64_forms_are_redacted_at_every_alignment() {
        for engine in [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            hidden(&engine.encode(SECRET));
            for prefix in ["", "u", "us", "use", "user:"] {
                let inner = format!("{prefix}{SECRET}");
                let header = format!("Basic {}", engine.encode(&inner));
                hidden(&header);
                hidden(&engine.encode(format!("{inner} and more")));
            }
        }
    }

    #[test]
    fn redaction_runs_before_the_cut() {
        let r = redactor();
        let text = format!("{}{SECRET} tail", "x".repeat(10));
        // A cut at 14 bytes would leave `s3cr` of the secret; redacting first hides it whole.
        let out = r.redact_then_cut(&text, 14);
        assert!(!out.contains("s3cr"), "{out}");
        assert!(out.starts_with("xxxxxxxxxx[red"), "{out}");
        assert!(out.ends_with("bytes cut)"), "{out}");
        assert_eq!(
            r.redact_then_cut("short tok-123", 100),
            "short [redacted:crm_token]"
        );
        let huge = format!("{SECRET}{}", "y".repeat(1 << 20));
        let out = r.redact_then_cut(&huge, 20);
        assert_eq!(
            out,
            format!("[redacted:pw]yyyyyyy… ({} bytes cut)", (1 << 20) - 7)
        );
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
