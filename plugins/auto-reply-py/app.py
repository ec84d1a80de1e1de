"""auto-reply in Python: answers customers' messages by keyword rules, exactly as the Rust
plugin (plugins/auto-reply) does: buttons and lists as interactive messages on WABA, as text
with numbered options elsewhere, and the ``fallback_template`` when a WABA window is closed."""

import json

import wit_world

import switchboard_plugin as sb
from rules import Rule, first_match, parse_rules


def handle(event, _run):
    msg = sb.received(event)
    if msg is None or not sb.is_inbound(msg):
        return
    text = sb.message_text(msg)
    if text is None:
        return
    rules_json = sb.config_get_opt("rules")
    if rules_json is None:
        raise ValueError("config `rules` is not set; add it under [config] in the manifest")
    rule = first_match(parse_rules(rules_json), text)
    if rule is None:
        sb.log_debug(f"no rule matches in chat {msg.chat_id}")
        return
    answer(msg, rule)


def answer(msg, rule: Rule) -> None:
    try:
        sent = sb.send(reply_for(msg, rule))
        sb.log_info(f"replied in chat {msg.chat_id} ({sent.message_id})")
    except sb.SwitchboardError as e:
        if not sb.is_window_closed(e.error):
            raise
        send_fallback_template(msg)


def reply_for(msg, rule: Rule):
    if sb.is_waba(msg) and rule.list is not None:
        lst = rule.list
        return sb.list_reply(msg, rule.reply, lst.button, lst.section, lst.rows)
    if sb.is_waba(msg) and rule.list is None and rule.buttons:
        return sb.buttons_reply(msg, rule.reply, rule.buttons)
    return sb.text_reply(msg, text_with_options(rule))


def text_with_options(rule: Rule) -> str:
    options = rule.list.rows if rule.list is not None else rule.buttons
    text = rule.reply
    for i, option in enumerate(options):
        text += f"\n{i + 1}. {option}"
    return text


def send_fallback_template(msg) -> None:
    name = sb.config_get_opt("fallback_template")
    if name is None:
        sb.log_warn(f"window closed in chat {msg.chat_id} and no `fallback_template` configured")
        return
    locale = sb.config_get("fallback_locale", "ru")
    params = json.loads(sb.config_get("fallback_params", "[]"))
    name_or_phone = msg.chat.name or msg.chat.phone or ""
    phone = msg.chat.phone or ""
    body = [p.replace("{name}", name_or_phone).replace("{phone}", phone) for p in params]
    sent = sb.send(sb.template_reply(msg, name, locale, body))
    sb.log_info(f"window closed in chat {msg.chat_id}: sent template {name} ({sent.message_id})")


class WitWorld(wit_world.WitWorld):
    handle = sb.handler(handle)
