// {name}: answers a customer who writes "hello" with the configured greeting.
// Top-level code runs at build time: call host functions only inside `handle`.
import { log } from "switchboard:plugin/log@0.2.1";
import { get } from "switchboard:plugin/config@0.2.1";
import { send } from "switchboard:plugin/messages@0.2.1";
import { call, messageText, received, textReply } from "./switchboard-plugin.js";

export function handle(event, _run) {
  // Only what customers write; never our own echoes.
  const msg = received(event);
  if (msg === undefined) {
    return;
  }
  const text = (messageText(msg) ?? "").toLowerCase();
  if (text.includes("hello") || text.includes("привет")) {
    const greeting = get("greeting") ?? "Hello!";
    call("messages.send", send, textReply(msg, greeting));
    log("info", `greeted chat ${msg.chatId}`);
  }
}
