// The event-stream parser, and `subscribe` against a scripted SSE server on loopback:
// resuming with Last-Event-ID after a drop, giving up on a 4xx, stopping on abort.

import assert from "node:assert/strict";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { EventStreamParser, createTrolley, isTrolleyError } from "../src/index.js";

describe("EventStreamParser", () => {
  test("parses events however the text is split", () => {
    const text =
      ': heartbeat\n\nevent: cart\nid: 7\ndata: {"a":\ndata: 1}\n\r\n' +
      'retry: 2500\r\n: ping\r\nevent: cart\r\nid: 8\r\ndata:{"b":2}\r\r' +
      "id\nevent: other\ndata\n\n" +
      "event: cart\nid: 9\n\n";
    const expected = [
      { type: "cart", data: '{"a":\n1}', lastEventId: "7" },
      { type: "cart", data: '{"b":2}', lastEventId: "8" },
      { type: "other", data: "", lastEventId: "" },
    ];
    for (const size of [1, 2, 3, 5, 7, 64, text.length]) {
      const parser = new EventStreamParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      assert.deepEqual(events, expected, `chunks of ${size}`);
      assert.equal(parser.retryMs, 2500);
    }
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse, connection: number) => void;

describe("subscribe", () => {
  let base: string;
  let handler: Handler = () => undefined;
  let connections: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    connections.push(req);
    handler(req, res, connections.length);
  });
  before(async () => {
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const cartEvent = (version: number): string =>
    `event: cart\nid: ${version}\ndata: ${JSON.stringify({ cart_id: "c1", version, lines: [] })}\n\n`;
  const open = (res: ServerResponse): void => {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
    res.write(": connected\n\n");
  };

  test("sends the shopper's headers, resumes after a drop with Last-Event-ID, stops on unsubscribe", async () => {
    connections = [];
    handler = (_req, res, n) => {
      open(res);
      if (n === 1) {
        res.write(cartEvent(2));
        res.write(cartEvent(3));
        setTimeout(() => res.destroy(), 20);
      } else {
        res.write(cartEvent(4));
      }
    };
    const shop = createTrolley({ baseUrl: base, storefrontKey: "sf" }).withCustomer("jwt");
    shop.rememberCartToken("c1", "ct");
    const seen: Array<[number, string | undefined]> = [];
    let reached: () => void = () => undefined;
    const fourth = new Promise<void>((r) => (reached = r));
    const subscription = shop.subscribe(
      "c1",
      (cart, event) => {
        seen.push([cart.version, event.id]);
        if (cart.version === 4) reached();
      },
      { lastEventId: "1", reconnectDelayMs: 10 },
    );
    await fourth;
    subscription.unsubscribe();
    await subscription.done;
    assert.deepEqual(seen, [
      [2, "2"],
      [3, "3"],
      [4, "4"],
    ]);
    assert.equal(subscription.lastEventId, "4");
    const [first, second] = connections;
    assert.equal(first?.url, "/v1/carts/c1/stream");
    assert.equal(first?.headers["last-event-id"], "1");
    assert.equal(first?.headers["x-api-key"], "sf");
    assert.equal(first?.headers["x-cart-token"], "ct");
    assert.equal(first?.headers["authorization"], "Bearer jwt");
    assert.equal(first?.headers["accept"], "text/event-stream");
    assert.equal(second?.headers["last-event-id"], "3");
  });

  test("retries a 503, gives up on a 401 and reports it once", async () => {
    connections = [];
    handler = (_req, res, n) => {
      const status = n === 1 ? 503 : 401;
      const code = n === 1 ? "service_unavailable" : "unauthorized";
      res.writeHead(status, { "Content-Type": "application/problem+json", "Retry-After": "0" });
      res.end(JSON.stringify({ type: "about:blank", title: code, status, detail: code, code }));
    };
    const shop = createTrolley({ baseUrl: base, storefrontKey: "wrong" });
    const errors: unknown[] = [];
    const subscription = shop.subscribe("c1", () => undefined, {
      reconnectDelayMs: 10,
      onError: (e) => errors.push(e),
    });
    await assert.rejects(
      subscription.done,
      (e: unknown) => isTrolleyError(e, "unauthorized") && e.status === 401,
    );
    assert.equal(errors.length, 1);
    assert.equal(connections.length, 2);
  });

  test("an answer that is not an event stream ends the subscription", async () => {
    connections = [];
    handler = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end("{}");
    };
    const subscription = createTrolley({ baseUrl: base, storefrontKey: "sf" }).subscribe(
      "c1",
      () => undefined,
      {
        onError: () => undefined,
      },
    );
    await assert.rejects(subscription.done, (e: unknown) => isTrolleyError(e, "unexpected_response"));
  });

  test("an aborted signal ends a subscription that is waiting for changes", async () => {
    connections = [];
    handler = (_req, res) => open(res);
    const controller = new AbortController();
    const subscription = createTrolley({ baseUrl: base, storefrontKey: "sf" }).subscribe(
      "c1",
      () => undefined,
      {
        signal: controller.signal,
      },
    );
    while (connections.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await subscription.done;
  });

  test("a connection that goes silent is replaced", async () => {
    connections = [];
    handler = (_req, res, n) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      if (n > 1) res.write(cartEvent(5));
    };
    let got: () => void = () => undefined;
    const fifth = new Promise<void>((r) => (got = r));
    const subscription = createTrolley({ baseUrl: base, storefrontKey: "sf" }).subscribe("c1", () => got(), {
      idleTimeoutMs: 50,
      reconnectDelayMs: 10,
    });
    await fifth;
    subscription.unsubscribe();
    await subscription.done;
    assert.ok(connections.length >= 2);
  });
});
