// Keyword rules from the `rules` config value, matched as in the Rust plugin: a rule's `match`
// holds `|`-separated alternatives, matched as case-insensitive substrings; the first wins.

export interface ListSpec {
  button: string;
  section?: string;
  rows: string[];
}

export interface Rule {
  match: string;
  reply: string;
  buttons: string[];
  list?: ListSpec;
}

const RULE_KEYS = new Set(["match", "reply", "buttons", "list"]);

/** Parses the `rules` config value; throws with what is wrong. */
export function parseRules(json: string): Rule[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`config \`rules\` is not a valid rule list: ${e}`);
  }
  if (!Array.isArray(raw)) {
    throw new Error("config `rules` is not a valid rule list: expected an array");
  }
  return raw.map((r, i) => toRule(r, i));
}

function toRule(r: any, i: number): Rule {
  const unknown = Object.keys(r ?? {}).filter((k) => !RULE_KEYS.has(k));
  if (typeof r?.match !== "string" || typeof r?.reply !== "string" || unknown.length > 0) {
    throw new Error(`config \`rules\` is not a valid rule list: rule ${i} is malformed`);
  }
  if (r.match.split("|").every((a: string) => a.trim() === "")) {
    throw new Error(`config \`rules\`: rule ${i} has an empty \`match\``);
  }
  const list = r.list === undefined || r.list === null ? undefined : (r.list as ListSpec);
  return { match: r.match, reply: r.reply, buttons: r.buttons ?? [], list };
}

/** The first rule one of whose alternatives occurs in `text`, ignoring case. */
export function firstMatch(rules: Rule[], text: string): Rule | undefined {
  const lower = text.toLowerCase();
  return rules.find((rule) =>
    rule.match
      .split("|")
      .map((a) => a.trim())
      .filter((a) => a !== "")
      .some((a) => lower.includes(a.toLowerCase())),
  );
}
