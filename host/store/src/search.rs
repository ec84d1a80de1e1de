//! The words of an event that the runs list's text filter finds: the distinct words of the
//! payload's string and number values (keys left out), lowercased, in first-seen order. Both
//! backends index exactly these words (SQLite in a contentless FTS5 table, PostgreSQL in a GIN
//! indexed `text[]`), because SQLite keeps payloads packed and neither database could read them
//! the same way. A query matches an event holding every one of its words.
//!
//! Bounds: at most [`MAX_WORDS`] words per event and [`MAX_QUERY_WORDS`] per query; a word is
//! cut to [`MAX_WORD_CHARS`] characters on both sides, so a long word still finds itself.

use serde_json::Value;

/// Distinct words indexed per event (the first ones of the payload).
pub const MAX_WORDS: usize = 256;
/// Words a text filter may hold.
pub const MAX_QUERY_WORDS: usize = 8;
/// Characters kept of a word.
pub const MAX_WORD_CHARS: usize = 40;

/// The words indexed for a stored payload (JSON; any other text is read as plain text).
pub fn event_words(payload: &str) -> Vec<String> {
    let mut words = Words::default();
    match serde_json::from_str::<Value>(payload) {
        Ok(value) => words.value(&value),
        Err(_) => words.text(payload),
    }
    words.list
}

/// The words a text filter looks for (at most [`MAX_QUERY_WORDS`]); empty when the text has
/// no letter or digit.
pub fn query_words(text: &str) -> Vec<String> {
    let mut words = Words::default();
    words.text(text);
    words.list.truncate(MAX_QUERY_WORDS);
    words.list
}

#[derive(Default)]
struct Words {
    list: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl Words {
    fn full(&self) -> bool {
        self.list.len() >= MAX_WORDS
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.text(s),
            Value::Number(n) => self.text(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.value(v)),
            Value::Object(map) => map.values().for_each(|v| self.value(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn text(&mut self, text: &str) {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if self.full() {
                return;
            }
            if word.is_empty() {
                continue;
            }
            let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
            if self.seen.insert(word.clone()) {
                self.list.push(word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_split_into_distinct_lowercase_words_and_keys_are_left_out() {
        let payload = r#"{"event":{"text":"Здравствуйте! Доставка, ДОСТАВКА?","chat_id":38000001,"ok":true}}"#;
        let mut words = event_words(payload);
        words.sort();
        assert_eq!(words, ["38000001", "доставка", "здравствуйте"]);
        assert_eq!(query_words("  доставка!! "), ["доставка"]);
        assert!(query_words("?!").is_empty());
    }

    #[test]
    fn words_are_bounded() {
        let many: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        assert_eq!(event_words(&many.join(" ")).len(), MAX_WORDS);
        assert_eq!(query_words(&many.join(" ")).len(), MAX_QUERY_WORDS);
        let long = "a".repeat(100);
        assert_eq!(event_words(&long), query_words(&long));
        assert_eq!(query_words(&long)[0].chars().count(), MAX_WORD_CHARS);
    }
}
