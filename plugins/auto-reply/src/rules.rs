//! Keyword rules from the `rules` config value, and matching a message against them.
//!
//! A rule's `match` is a list of alternatives separated by `|`; a message matches when its text
//! contains any alternative, ignoring case (Unicode-aware, so `цена` matches `ЦЕНА`). The first
//! matching rule wins. No regex engine: it keeps the component small and the rules predictable.

use serde::Deserialize;

/// One keyword rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Alternatives separated by `|`, matched as case-insensitive substrings.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The reply text (the body of an interactive message).
    pub reply: String,
    /// Reply buttons (WABA: an interactive message; elsewhere: listed under the text).
    #[serde(default)]
    pub buttons: Vec<String>,
    /// A list the customer opens with a button (WABA: an interactive list).
    #[serde(default)]
    pub list: Option<ListSpec>,
    /// A tag to add to the customer's contact when the rule answers (off unless set; needs
    /// `capabilities.tags` with the name in its `allow` list).
    #[serde(default)]
    pub tag: Option<String>,
}

/// The list of an interactive list reply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    /// The label of the button that opens the list.
    pub button: String,
    /// Section title, if any.
    #[serde(default)]
    pub section: Option<String>,
    /// Row titles; each row's id is its title.
    pub rows: Vec<String>,
}

impl Rule {
    /// Whether `text` contains one of the rule's alternatives, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.pattern
            .split('|')
            .map(str::trim)
            .filter(|alt| !alt.is_empty())
            .any(|alt| text.contains(&alt.to_lowercase()))
    }
}

/// Parses the `rules` config value: a JSON array of rules.
pub fn parse(json: &str) -> Result<Vec<Rule>, String> {
    let rules: Vec<Rule> = serde_json::from_str(json)
        .map_err(|e| format!("config `rules` is not a valid rule list: {e}"))?;
    if let Some(i) = rules
        .iter()
        .position(|r| r.pattern.split('|').all(|a| a.trim().is_empty()))
    {
        return Err(format!("config `rules`: rule {i} has an empty `match`"));
    }
    Ok(rules)
}

/// The first rule matching `text`.
pub fn first_match<'a>(rules: &'a [Rule], text: &str) -> Option<&'a Rule> {
    rules.iter().find(|rule| rule.matches(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rules: &str, text: &str, expected_reply: Option<&str>) {
        let rules = parse(rules).unwrap();
        assert_eq!(
            first_match(&rules, text).map(|r| r.reply.as_str()),
            expected_reply,
            "text {text:?}"
        );
    }

    const RULES: &str = r#"[
        {"match": "price|цена", "reply": "From 990 ₽", "buttons": ["Order", "Later"]},
        {"match": "hours", "reply": "9 to 21"},
        {"match": "size", "reply": "Pick one", "list": {"button": "Sizes", "rows": ["S", "M"]}}
    ]"#;

    #[test]
    fn alternatives_match_case_insensitively() {
        check(RULES, "What is the PRICE?", Some("From 990 ₽"));
        check(RULES, "Какая ЦЕНА?", Some("From 990 ₽"));
        check(RULES, "opening hours please", Some("9 to 21"));
        check(RULES, "hello", None);
    }

    #[test]
    fn first_matching_rule_wins() {
        check(RULES, "price and hours", Some("From 990 ₽"));
    }

    #[test]
    fn buttons_lists_and_tags_parse() {
        let rules = parse(RULES).unwrap();
        assert_eq!(rules[0].tag, None, "no tag unless a rule sets one");
        let tagged = parse(r#"[{"match": "x", "reply": "y", "tag": "lead"}]"#).unwrap();
        assert_eq!(tagged[0].tag.as_deref(), Some("lead"));
        assert_eq!(rules[0].buttons, ["Order", "Later"]);
        assert_eq!(rules[2].list.as_ref().map(|l| l.rows.len()), Some(2));
    }

    #[test]
    fn bad_rules_are_reported() {
        assert!(
            parse(r#"[{"match": "x"}]"#)
                .unwrap_err()
                .contains("`rules`")
        );
        assert!(
            parse(r#"[{"match": " | ", "reply": "x"}]"#)
                .unwrap_err()
                .contains("rule 0")
        );
        assert!(parse(r#"[{"match": "x", "reply": "y", "colour": 1}]"#).is_err());
    }
}
