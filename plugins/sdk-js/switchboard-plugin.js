// switchboard-plugin for JavaScript, for the WIT package switchboard:plugin@0.2.1.
//
// The host functions come from the plugin's own narrow world (`wit/world.wit`, which imports
// only what the manifest grants), so this module imports none of them: import `send` from
// "switchboard:plugin/messages@0.2.1" in your plugin and pass what these helpers build.
// Ids (connection, chat, contact) are s64 in the WIT and arrive as BigInt: keep them BigInt,
// and use `toJson` instead of JSON.stringify, which throws on BigInt.
// Module top-level code runs at build time (the module is snapshotted): call host functions
// only inside `handle`.

/** The WIT package these helpers were written for. */
export const WIT_PACKAGE = "switchboard:plugin@0.2.1";

/** A host call answered with the WIT `error` variant; `error` is that variant ({tag, val}). */
export class SwitchboardError extends Error {
  constructor(operation, error) {
    super(`${operation}: ${describe(error)}`);
    this.name = "SwitchboardError";
    this.operation = operation;
    this.error = error;
  }
}

/** Calls a host function; a WIT error becomes a SwitchboardError carrying it. */
export function call(operation, fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    if (e !== null && typeof e === "object" && "payload" in e) {
      throw new SwitchboardError(operation, e.payload);
    }
    throw e;
  }
}

/** The message event of a `message.received` event, else undefined. */
export function received(event) {
  return event.tag === "message-received" ? event.val : undefined;
}

/** Whether the customer wrote the message (not an outbound message or an echo). */
export function isInbound(messageEvent) {
  return messageEvent.message.direction === "inbound";
}

/** Whether the chat is on a WhatsApp Business API connection. */
export function isWaba(messageEvent) {
  return messageEvent.sourceType === "waba";
}

/** The text of a message event's message (text messages only), else undefined. */
export function messageText(messageEvent) {
  const content = messageEvent.message.content;
  return content.tag === "text" ? content.val : undefined;
}

/** An outgoing text message to the chat of `messageEvent`. */
export function textReply(messageEvent, text) {
  return outgoing(messageEvent, { tag: "text", val: text });
}

/** An interactive (WABA) message with reply buttons; each button's id is its title. */
export function buttonsReply(messageEvent, body, titles) {
  const buttons = titles.map((title) => ({ id: title, title }));
  return interactive(messageEvent, body, { tag: "buttons", val: buttons });
}

/** An interactive (WABA) list: one section (title or undefined) of rows under a button; each
 * row's id is its title. */
export function listReply(messageEvent, body, button, section, rows) {
  const list = rows.map((title) => ({ id: title, title, description: undefined }));
  const sections = [{ title: section, rows: list }];
  return interactive(messageEvent, body, { tag: "sections", val: { button, sections } });
}

/** A WABA template message to the chat of `messageEvent`. */
export function templateReply(messageEvent, name, locale, bodyParams = []) {
  const template = { name, locale, headerParams: [], bodyParams, buttonParams: [] };
  return outgoing(messageEvent, { tag: "waba-template", val: template });
}

/** JSON.stringify that writes BigInt as a number when it is safe, else as a string. */
export function toJson(value, space) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? bigintToJson(v) : v), space);
}

function bigintToJson(v) {
  const safe = v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER);
  return safe ? Number(v) : v.toString();
}

function outgoing(messageEvent, content) {
  return {
    connectionId: messageEvent.connectionId,
    chatId: messageEvent.chatId,
    content,
    inlineButtons: [],
  };
}

function interactive(messageEvent, body, action) {
  const message = { header: undefined, body, footer: undefined, action };
  return outgoing(messageEvent, { tag: "waba-interactive", val: message });
}

function describe(error) {
  if (error === null || typeof error !== "object" || !("tag" in error)) {
    return String(error);
  }
  return `${error.tag}: ${toJson(error.val)}`;
}
