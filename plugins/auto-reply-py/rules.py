"""Keyword rules from the ``rules`` config value, matched as in the Rust plugin: a rule's
``match`` holds ``|``-separated alternatives, matched as case-insensitive substrings; the first
matching rule wins."""

import json
from dataclasses import dataclass, field
from typing import List, Optional

RULE_KEYS = {"match", "reply", "buttons", "list"}


@dataclass
class ListSpec:
    button: str
    rows: List[str]
    section: Optional[str] = None


@dataclass
class Rule:
    match: str
    reply: str
    buttons: List[str] = field(default_factory=list)
    list: Optional[ListSpec] = None


def parse_rules(text: str) -> List[Rule]:
    """Parses the ``rules`` config value; raises ValueError saying what is wrong."""
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ValueError(f"config `rules` is not a valid rule list: {e}") from None
    if not isinstance(raw, list):
        raise ValueError("config `rules` is not a valid rule list: expected an array")
    return [_rule(r, i) for i, r in enumerate(raw)]


def _rule(r, i: int) -> Rule:
    if not isinstance(r, dict) or set(r) - RULE_KEYS or not isinstance(r.get("match"), str) \
            or not isinstance(r.get("reply"), str):
        raise ValueError(f"config `rules` is not a valid rule list: rule {i} is malformed")
    if all(a.strip() == "" for a in r["match"].split("|")):
        raise ValueError(f"config `rules`: rule {i} has an empty `match`")
    lst = r.get("list")
    spec = None if lst is None else ListSpec(lst["button"], list(lst["rows"]), lst.get("section"))
    return Rule(r["match"], r["reply"], list(r.get("buttons", [])), spec)


def first_match(rules: List[Rule], text: str) -> Optional[Rule]:
    """The first rule one of whose alternatives occurs in ``text``, ignoring case."""
    lower = text.lower()
    for rule in rules:
        alternatives = [a.strip() for a in rule.match.split("|")]
        if any(a and a.lower() in lower for a in alternatives):
            return rule
    return None
