// Types of switchboard-plugin.js, over the bindings `jco types` generates from the WIT
// (`src/generated/`, written by `switchboard plugins build` before `tsc` runs).
import type {
  Error as WitError,
  Event,
  MessageEvent,
} from "./generated/interfaces/switchboard-plugin-types.js";
import type { Outgoing } from "./generated/interfaces/switchboard-plugin-messages.js";

export type { Event, MessageEvent, Outgoing, WitError };

export declare const WIT_PACKAGE: "switchboard:plugin@0.2.1";

/** A host call answered with the WIT `error` variant, attached as `error`. */
export declare class SwitchboardError extends Error {
  readonly operation: string;
  readonly error: WitError;
  constructor(operation: string, error: WitError);
}

export declare function call<A extends unknown[], R>(
  operation: string,
  fn: (...args: A) => R,
  ...args: A
): R;
export declare function received(event: Event): MessageEvent | undefined;
export declare function isInbound(messageEvent: MessageEvent): boolean;
export declare function isWaba(messageEvent: MessageEvent): boolean;
export declare function messageText(messageEvent: MessageEvent): string | undefined;
export declare function textReply(messageEvent: MessageEvent, text: string): Outgoing;
export declare function buttonsReply(
  messageEvent: MessageEvent,
  body: string,
  titles: string[],
): Outgoing;
export declare function listReply(
  messageEvent: MessageEvent,
  body: string,
  button: string,
  section: string | undefined,
  rows: string[],
): Outgoing;
export declare function templateReply(
  messageEvent: MessageEvent,
  name: string,
  locale: string,
  bodyParams?: string[],
): Outgoing;
export declare function toJson(value: unknown, space?: number): string;
