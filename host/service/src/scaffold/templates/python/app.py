"""{name}: answers a customer who writes "hello" with the configured greeting.

Top-level code runs at build time: call host functions only inside ``handle``.
"""

import wit_world

import switchboard_plugin as sb


def handle(event, _run):
    # Only what customers write; never our own echoes.
    msg = sb.received(event)
    if msg is None:
        return
    text = (sb.message_text(msg) or "").lower()
    if "hello" in text or "привет" in text:
        sb.send(sb.text_reply(msg, sb.config_get("greeting", "Hello!")))
        sb.log_info(f"greeted chat {msg.chat_id}")


class WitWorld(wit_world.WitWorld):
    handle = sb.handler(handle)
