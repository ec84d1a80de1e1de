// auto-reply in TypeScript: answers customers' messages by keyword rules, exactly as the Rust
// plugin (plugins/auto-reply) does: buttons and lists as interactive messages on WABA, as text
// with numbered options elsewhere, and the `fallback_template` when a WABA window is closed.
import { log } from "switchboard:plugin/log@0.2.1";
import { get } from "switchboard:plugin/config@0.2.1";
import { send } from "switchboard:plugin/messages@0.2.1";
import type { Event, RunInfo } from "./generated/interfaces/switchboard-plugin-types.js";
import type { Content } from "./generated/interfaces/switchboard-plugin-messages.js";
import {
  SwitchboardError,
  buttonsReply,
  call,
  isInbound,
  isWaba,
  listReply,
  messageText,
  received,
  templateReply,
  type MessageEvent,
  type Outgoing,
} from "./switchboard-plugin.js";
import { type Rule, firstMatch, parseRules } from "./rules.js";

export function handle(event: Event, _run: RunInfo): void {
  const msg = received(event);
  if (msg === undefined || !isInbound(msg)) {
    return;
  }
  const text = messageText(msg);
  if (text === undefined) {
    return;
  }
  const rulesJson = get("rules");
  if (rulesJson === undefined) {
    throw new Error("config `rules` is not set; add it under [config] in the manifest");
  }
  const rule = firstMatch(parseRules(rulesJson), text);
  if (rule === undefined) {
    log("debug", `no rule matches in chat ${msg.chatId}`);
    return;
  }
  answer(msg, rule);
}

function answer(msg: MessageEvent, rule: Rule): void {
  try {
    const sent = call("messages.send", send, replyFor(msg, rule));
    log("info", `replied in chat ${msg.chatId} (${sent.messageId})`);
  } catch (e) {
    if (e instanceof SwitchboardError && e.error.tag === "window-closed") {
      sendFallbackTemplate(msg);
      return;
    }
    throw e;
  }
}

function replyFor(msg: MessageEvent, rule: Rule): Outgoing {
  if (isWaba(msg) && rule.list !== undefined) {
    const { button, section, rows } = rule.list;
    return listReply(msg, rule.reply, button, section, rows);
  }
  if (isWaba(msg) && rule.list === undefined && rule.buttons.length > 0) {
    return buttonsReply(msg, rule.reply, rule.buttons);
  }
  const content: Content = { tag: "text", val: textWithOptions(rule) };
  return { connectionId: msg.connectionId, chatId: msg.chatId, content, inlineButtons: [] };
}

function textWithOptions(rule: Rule): string {
  const options = rule.list !== undefined ? rule.list.rows : rule.buttons;
  return options.reduce((text, option, i) => `${text}\n${i + 1}. ${option}`, rule.reply);
}

function sendFallbackTemplate(msg: MessageEvent): void {
  const name = get("fallback_template");
  if (name === undefined) {
    log("warn", `window closed in chat ${msg.chatId} and no \`fallback_template\` configured`);
    return;
  }
  const locale = get("fallback_locale") ?? "ru";
  const params: string[] = JSON.parse(get("fallback_params") ?? "[]");
  const nameOrPhone = msg.chat.name ?? msg.chat.phone ?? "";
  const phone = msg.chat.phone ?? "";
  const body = params.map((p) => p.replaceAll("{name}", nameOrPhone).replaceAll("{phone}", phone));
  const sent = call("messages.send", send, templateReply(msg, name, locale, body));
  log("info", `window closed in chat ${msg.chatId}: sent template ${name} (${sent.messageId})`);
}
