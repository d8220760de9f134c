// Live cart sync over Server-Sent Events, read with `fetch` because a browser `EventSource`
// cannot send `X-Api-Key`, `X-Cart-Token` or `Authorization`. The parser follows the
// WHATWG event-stream rules; the loop reconnects with `Last-Event-ID` like `EventSource`
// does, but gives up on answers a retry cannot change (401, 403, 404, …) and says why.

import { errorFromAnswer, retryAfter, unexpectedResponse } from "./errors.js";
import { backoff, sleep } from "./idempotency.js";

/** One dispatched event of a `text/event-stream`. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when absent. */
  type: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The last `id:` seen on the stream so far (empty when none). */
  lastEventId: string;
}

/** Splits a `text/event-stream` into events, chunk by chunk, as they arrive. */
export class EventStreamParser {
  private buffer = "";
  private skipLineFeed = false;
  private type = "";
  private data: string[] = [];
  private lastEventId = "";
  /** The last valid `retry:` field, in milliseconds. */
  retryMs: number | undefined;

  /** Feeds decoded text; answers the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    // A CR ending the previous chunk may be the first half of a CRLF.
    if (this.skipLineFeed && text.startsWith("\n")) text = text.slice(1);
    this.skipLineFeed = false;
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") continue;
      const line = this.buffer.slice(start, i);
      if (ch === "\r") {
        if (i + 1 === this.buffer.length) this.skipLineFeed = true;
        else if (this.buffer[i + 1] === "\n") i++;
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.dispatch();
    // `: …` is a comment: the server's heartbeat.
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.type = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const type = this.type || "message";
    const data = this.data;
    this.type = "";
    this.data = [];
    if (data.length === 0) return undefined;
    return { type, data: data.join("\n"), lastEventId: this.lastEventId };
  }
}

/** What a subscription calls for each cart it receives. */
export type CartListener<Cart> = (cart: Cart, event: { id: string | undefined }) => void | Promise<void>;

/** Options of {@link subscribeToEvents}. */
export interface SubscribeOptions {
  /**
   * Resume after this event id (a cart version): the server sends the cart at once if it
   * is newer, else waits for the next change.
   */
  lastEventId?: string;
  /** Aborting it ends the subscription, like `unsubscribe()`. */
  signal?: AbortSignal;
  /**
   * Called once with the error that ended the subscription (an answer a retry cannot
   * change, such as `401`, `403` or `404`, or a throw of the listener). Without it, `done`
   * rejects unhandled.
   */
  onError?: (error: unknown) => void;
  /** Called each time a connection is open and streaming. */
  onOpen?: () => void;
  /** First wait before reconnecting after a drop (1000 ms); doubles up to 30 s. */
  reconnectDelayMs?: number;
  /**
   * Reconnect when nothing, not even a heartbeat, arrived for this long (60000 ms; 0: never).
   * Catches connections that died without closing.
   */
  idleTimeoutMs?: number;
}

/** A live subscription. */
export interface Subscription {
  /** Ends the subscription; `done` then resolves. */
  unsubscribe(): void;
  /**
   * Resolves when ended by `unsubscribe()`, the signal, or the cart reaching its last state;
   * rejects with the error that ended it.
   */
  readonly done: Promise<void>;
  /** The id of the last event received, which a later subscription can resume from. */
  readonly lastEventId: string | undefined;
}

/** Opens one connection; `lastEventId` goes into `Last-Event-ID`. */
export type Connect = (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;

const MAX_RECONNECT_DELAY_MS = 30_000;

/** Subscribes to the `cart` events of a stream that `connect` opens. */
export function subscribeToEvents<Cart>(
  connect: Connect,
  onCart: CartListener<Cart>,
  options: SubscribeOptions = {},
  isFinal: (cart: Cart) => boolean = () => false,
): Subscription {
  const stop = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => stop.abort(outer?.reason);
  if (outer?.aborted) stop.abort(outer.reason);
  else outer?.addEventListener("abort", onOuterAbort, { once: true });

  let lastEventId = options.lastEventId;
  /** The cart reached a state it never leaves: when its stream ends, so does the subscription. */
  let final = false;
  const firstDelay = options.reconnectDelayMs ?? 1_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  async function run(): Promise<void> {
    let failures = 0;
    let serverRetryMs: number | undefined;
    while (!stop.signal.aborted) {
      let wait: number;
      try {
        const outcome = await stream();
        if (final) return;
        if (outcome.retryMs !== undefined) serverRetryMs = outcome.retryMs;
        failures = outcome.opened ? 0 : failures + 1;
        wait = outcome.waitMs ?? serverRetryMs ?? delayFor(failures);
      } catch (error) {
        if (stop.signal.aborted) return;
        if (!(error instanceof StreamDropped)) throw error;
        failures += 1;
        wait = serverRetryMs ?? delayFor(failures);
      }
      try {
        await sleep(wait, stop.signal);
      } catch {
        return;
      }
    }
  }

  function delayFor(failures: number): number {
    if (failures <= 1) return firstDelay;
    return Math.min(MAX_RECONNECT_DELAY_MS, firstDelay * 2 ** (failures - 1) + backoff(0));
  }

  /**
   * One connection, read to its end. Throws {@link StreamDropped} when it broke (worth a
   * reconnect), anything else when it must end the subscription.
   */
  async function stream(): Promise<{ opened: boolean; retryMs?: number; waitMs?: number }> {
    const connection = new AbortController();
    const onStop = (): void => connection.abort(stop.signal.reason);
    stop.signal.addEventListener("abort", onStop, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const armIdle = (): void => {
      if (idleTimeoutMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => connection.abort(new StreamDropped("idle")), idleTimeoutMs);
    };
    try {
      armIdle();
      let response: Response;
      try {
        response = await connect(lastEventId, connection.signal);
      } catch (error) {
        // fetch rejects with a TypeError when no answer came.
        if (error instanceof TypeError || connection.signal.aborted) throw new StreamDropped(error);
        throw error;
      }
      if (!response.ok) {
        const body = await readBody(response);
        if (retryable(response.status)) {
          const seconds = retryAfter(response.headers.get("Retry-After"));
          return { opened: false, ...(seconds !== undefined ? { waitMs: seconds * 1000 } : {}) };
        }
        throw errorFromAnswer(response, body);
      }
      const contentType = response.headers.get("Content-Type") ?? "";
      if (!contentType.toLowerCase().startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel();
        throw unexpectedResponse(response, `expected text/event-stream, got "${contentType}"`);
      }
      options.onOpen?.();
      const parser = new EventStreamParser();
      let delivered = false;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          let read: ReadableStreamReadResult<string>;
          try {
            read = await reader.read();
          } catch (error) {
            throw new StreamDropped(error);
          }
          if (read.done) break;
          armIdle();
          for (const event of parser.push(read.value)) {
            if (event.lastEventId !== "") lastEventId = event.lastEventId;
            if (event.type !== "cart") continue;
            const cart = JSON.parse(event.data) as Cart;
            delivered = true;
            final = isFinal(cart);
            await onCart(cart, { id: event.lastEventId || undefined });
          }
        }
      } finally {
        reader.cancel().catch(() => undefined);
      }
      // A stream that ends without a single cart counts as a failed attempt, so a server
      // that keeps doing that is asked less and less often.
      return { opened: delivered, ...(parser.retryMs !== undefined ? { retryMs: parser.retryMs } : {}) };
    } finally {
      clearTimeout(idle);
      stop.signal.removeEventListener("abort", onStop);
    }
  }

  const done = run().finally(() => {
    outer?.removeEventListener("abort", onOuterAbort);
  });
  const settled = done.catch((error: unknown) => {
    stop.abort();
    options.onError?.(error);
    throw error;
  });
  // With an onError the caller has been told; without one the rejection is theirs to see.
  if (options.onError) settled.catch(() => undefined);

  return {
    unsubscribe: () => stop.abort(),
    done: settled,
    get lastEventId() {
      return lastEventId;
    },
  };
}

/** A connection that broke: reconnect, as `EventSource` would. */
class StreamDropped extends Error {
  constructor(cause: unknown) {
    super("the event stream dropped", { cause });
    this.name = "StreamDropped";
  }
}

/** Worth reconnecting: the server or something in between may answer otherwise later. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => "");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
