//! The words of an event that the runs list's text filter finds: the distinct words of the
//! payload's string and number values (keys left out), lowercased, in the order the payload
//! holds them. Both backends index exactly these words (SQLite in a contentless FTS5 table,
//! PostgreSQL in a GIN indexed `text[]`), because SQLite keeps payloads packed and neither
//! database could read them the same way. A query matches an event holding every one of its
//! words.
//!
//! The payload is read as it is parsed (a serde visitor), not into a `serde_json::Value` first:
//! the indexer reads every event, and the tree of maps and strings it no longer builds was most
//! of its cost (BENCHMARKS.md). A key named twice in one object gives the words of both values.
//!
//! Bounds: at most [`MAX_WORDS`] words per event and [`MAX_QUERY_WORDS`] per query; a word is
//! cut to [`MAX_WORD_CHARS`] characters on both sides, so a long word still finds itself.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::hash::BuildHasher;

/// Distinct words indexed per event (the first ones of the payload).
pub const MAX_WORDS: usize = 256;
/// Words a text filter may hold.
pub const MAX_QUERY_WORDS: usize = 8;
/// Characters kept of a word.
pub const MAX_WORD_CHARS: usize = 40;

/// The words indexed for a stored payload (JSON; any other text is read as plain text).
pub fn event_words(payload: &str) -> Vec<String> {
    let mut words = Words::default();
    let mut json = serde_json::Deserializer::from_str(payload);
    let read = Collect(&mut words)
        .deserialize(&mut json)
        .and_then(|()| json.end());
    if read.is_err() {
        words = Words::default();
        words.text(payload);
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

/// The distinct words in the order first seen. Each word is held once, in `list`; `seen` holds
/// its index there under its hash (foldhash, seeded per process), so a repeated word costs a
/// hash and a comparison, and a new one a single allocation.
#[derive(Default)]
struct Words {
    list: Vec<String>,
    seen: hashbrown::HashTable<usize>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Words {
    fn full(&self) -> bool {
        self.list.len() >= MAX_WORDS
    }

    fn number(&mut self, n: impl Into<serde_json::Number>) {
        self.text(&n.into().to_string());
    }

    fn text(&mut self, text: &str) {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if self.full() {
                return;
            }
            if !word.is_empty() {
                self.add(&lowercase(word));
            }
        }
    }

    fn add(&mut self, word: &str) {
        let word = cut(word);
        let hash = self.hasher.hash_one(word);
        let list = &self.list;
        if self.seen.find(hash, |&i| list[i] == word).is_some() {
            return;
        }
        let hasher = &self.hasher;
        self.seen
            .insert_unique(hash, list.len(), |&i| hasher.hash_one(&list[i]));
        self.list.push(word.to_owned());
    }
}

/// `word` lowercased, borrowed when lowercasing changes none of its characters (digits, ids,
/// most text).
fn lowercase(word: &str) -> std::borrow::Cow<'_, str> {
    if word.is_ascii() {
        if word.bytes().any(|b| b.is_ascii_uppercase()) {
            return word.to_ascii_lowercase().into();
        }
        return word.into();
    }
    let changes = |c: char| {
        let mut lower = c.to_lowercase();
        lower.next() != Some(c) || lower.next().is_some()
    };
    if word.chars().any(changes) {
        return word.to_lowercase().into();
    }
    word.into()
}

/// `word`'s first [`MAX_WORD_CHARS`] characters.
fn cut(word: &str) -> &str {
    if word.len() <= MAX_WORD_CHARS {
        return word;
    }
    match word.char_indices().nth(MAX_WORD_CHARS) {
        Some((end, _)) => &word[..end],
        None => word,
    }
}

/// Reads one JSON value into [`Words`]: its strings and numbers, at any depth, keys skipped.
struct Collect<'w>(&'w mut Words);

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.0.text(s);
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.0.number(n);
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.0.number(n);
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        // JSON has no NaN or infinity, so every parsed float is a `Number`.
        if let Some(n) = serde_json::Number::from_f64(n) {
            self.0.number(n);
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Collect(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while entries.next_key::<IgnoredAny>()?.is_some() {
            entries.next_value_seed(Collect(self.0))?;
        }
        Ok(())
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

    /// The words of the payload as a `serde_json::Value` tree (how they were read before the
    /// visitor): the same set, for every payload without a repeated key.
    fn tree_words(payload: &str) -> Vec<String> {
        fn walk(words: &mut Words, value: &serde_json::Value) {
            match value {
                serde_json::Value::String(s) => words.text(s),
                serde_json::Value::Number(n) => words.text(&n.to_string()),
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(words, v)),
                serde_json::Value::Object(map) => map.values().for_each(|v| walk(words, v)),
                serde_json::Value::Bool(_) | serde_json::Value::Null => {}
            }
        }
        let mut words = Words::default();
        match serde_json::from_str::<serde_json::Value>(payload) {
            Ok(value) => walk(&mut words, &value),
            Err(_) => words.text(payload),
        }
        let mut list = words.list;
        list.sort();
        list
    }

    #[test]
    fn the_visitor_finds_the_words_the_value_tree_holds() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let payloads = [
            r#"{"event":"message.received","data":{"message":{"text":"Привет, ЦЕНА доставки? Σ ΟΔΟΣ","id":"wamid.HBgLNzkwMDAwMDAwMDEVAgASGBQzQUI=","created_at":"2026-12-07T10:11:12.345Z","buttons":[{"title":"Да"},{"title":"Нет"}],"contact_id":-42,"ratio":1.50,"big":123456789012345678901234567890,"exp":2e3,"flag":true,"none":null}}}"#,
            r#"[1, -2, 3.25, "x y", [], {}, [[["deep"]]]]"#,
            r#""just a string""#,
            "7",
            "not json at all: слово, word",
            r#"{"truncated": "#,
            r#"{"a": 1} trailing"#,
            &deep,
        ];
        for payload in payloads {
            let mut streamed = event_words(payload);
            streamed.sort();
            assert_eq!(streamed, tree_words(payload), "{payload}");
        }
    }

    #[test]
    fn words_come_in_the_payload_order() {
        let payload = r#"{"z":"first","a":["second",3],"m":{"b":"fourth"}}"#;
        assert_eq!(event_words(payload), ["first", "second", "3", "fourth"]);
    }

    /// The borrowed and ASCII shortcuts give what `str::to_lowercase` and a cut by characters
    /// give, and a repeated word is kept once whatever its case.
    #[test]
    fn the_shortcuts_agree_with_lowercasing_everything() {
        let long = "ДлиннющееСловоБезПробеловКотороеДлиннееСорокаБукв";
        for word in [
            "abc",
            "ABC",
            "MiXeD42",
            "доставка",
            "ДОСТАВКА",
            "İstanbul",
            "ǅ",
            "ΟΔΟΣ",
            long,
        ] {
            let cut_at = word
                .to_lowercase()
                .chars()
                .take(MAX_WORD_CHARS)
                .collect::<String>();
            assert_eq!(cut(&lowercase(word)), cut_at, "{word}");
        }
        let mut words = Words::default();
        words.text("Оплата оплата ОПЛАТА paid PAID Paid оплата");
        assert_eq!(words.list, ["оплата", "paid"]);
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
