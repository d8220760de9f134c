// The layer's own behaviour against a scripted fetch (no server): retries reuse their
// Idempotency-Key, 304s are served from the kept copy, errors are typed, tokens go where
// they belong.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Trolley, TrolleyError, createTrolley, isTrolleyError } from "../src/index.js";

const CART_ID = "0190f5f4-0000-7000-8000-000000000001";

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

/** A client whose fetch answers with `answers`, in order, and records what it was asked. */
function scripted(answers: Array<Response | Error>, retries = 2): { shop: Trolley; seen: Seen[] } {
  const seen: Seen[] = [];
  const shop = createTrolley({
    baseUrl: "http://trolley.test/",
    storefrontKey: "sf_key",
    retry: { retries, maxDelayMs: 1_000 },
    fetch: async (input, init) => {
      const request = new Request(input, init);
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname + new URL(request.url).search,
        headers: request.headers,
        body: await request.text(),
      });
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected ${request.method} ${request.url}`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { shop, seen };
}

function cart(version: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cart_id: CART_ID, version, status: "active", lines: [], ...extra };
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({
      type: `https://trolley.dev/problems/${code}`,
      title: code,
      status,
      detail: `a ${code}`,
      code,
      ...extra,
    }),
    {
      status,
      headers: { "Content-Type": "application/problem+json", ...headers },
    },
  );
}

describe("the client layer", () => {
  test("a guest cart's token and ETag go on its later calls", async () => {
    const { shop, seen } = scripted([
      json(cart(1, { cart_token: "ct_secret" }), 201, { ETag: '"1-aaaaaaaa"' }),
      json(cart(2), 200, { ETag: '"2-bbbbbbbb"' }),
    ]);
    const created = await shop.createCart();
    assert.equal(created.cart_token, "ct_secret");
    assert.equal(seen[0]?.headers.get("X-Api-Key"), "sf_key");
    assert.equal(seen[0]?.headers.get("X-Cart-Token"), null);
    await shop.addLine(CART_ID, { sku: "apple", quantity: 1 });
    const add = seen[1];
    assert.equal(add?.path, `/v1/carts/${CART_ID}/lines`);
    assert.equal(add?.headers.get("X-Cart-Token"), "ct_secret");
    assert.equal(add?.headers.get("If-Match"), '"1-aaaaaaaa"');
    assert.equal(add?.headers.get("Authorization"), null);
    assert.deepEqual(JSON.parse(add?.body ?? ""), { sku: "apple", quantity: 1 });
    assert.equal(shop.etag(CART_ID), '"2-bbbbbbbb"');
  });

  test("a retried write reuses its Idempotency-Key and If-Match; the next call gets a new key", async () => {
    const { shop, seen } = scripted(
      [
        json(cart(3), 200, { ETag: '"3-cccccccc"' }),
        new TypeError("fetch failed"),
        problem(503, "database_unavailable", {}, { "Retry-After": "0" }),
        problem(409, "idempotency_key_in_use"),
        json(cart(4), 200, { ETag: '"4-dddddddd"' }),
        json(cart(5), 200, { ETag: '"5-eeeeeeee"' }),
      ],
      3,
    );
    shop.rememberCartToken(CART_ID, "ct");
    await shop.getCart(CART_ID);
    const answer = await shop.setQuantity(CART_ID, "line-1", 2, { expectedLineVersion: 7 });
    assert.equal(answer.version, 4);
    const attempts = seen.slice(1, 5);
    assert.equal(attempts.length, 4);
    const keys = new Set(attempts.map((a) => a.headers.get("Idempotency-Key")));
    assert.equal(keys.size, 1, "one key for every attempt");
    assert.ok([...keys][0]);
    for (const a of attempts) {
      assert.equal(a.method, "PATCH");
      assert.equal(a.headers.get("If-Match"), '"3-cccccccc"');
      assert.deepEqual(JSON.parse(a.body), { quantity: 2, expected_line_version: 7 });
    }
    await shop.clear(CART_ID);
    assert.notEqual(seen[5]?.headers.get("Idempotency-Key"), [...keys][0]);
    assert.equal(seen[5]?.headers.get("If-Match"), '"4-dddddddd"');
  });

  test("getCart sends If-None-Match and serves the kept copy on 304", async () => {
    const { shop, seen } = scripted([
      json(cart(6, { lines: [{ line_id: "l1", sku: "apple", quantity: 2 }] }), 200, { ETag: '"6-ffffffff"' }),
      new Response(null, { status: 304, headers: { ETag: '"6-ffffffff"' } }),
      new Response(null, { status: 304, headers: { ETag: '"6-ffffffff"' } }),
    ]);
    const first = await shop.getCart(CART_ID);
    assert.equal(seen[0]?.headers.get("If-None-Match"), null, "nothing kept yet");
    const second = await shop.getCart(CART_ID);
    assert.equal(seen[1]?.headers.get("If-None-Match"), '"6-ffffffff"');
    assert.deepEqual(second, first);
    second.lines.length = 0;
    assert.equal((await shop.getCart(CART_ID)).lines.length, 1, "callers get a copy, never the kept cart");
  });

  test("an older answer (a replay) does not move the kept ETag back", async () => {
    const { shop } = scripted([
      json(cart(9), 200, { ETag: '"9-99999999"' }),
      json(cart(8), 200, { ETag: '"8-88888888"', "Idempotent-Replayed": "true" }),
    ]);
    await shop.getCart(CART_ID);
    await shop.addLine(CART_ID, { sku: "apple", quantity: 1 });
    assert.equal(shop.etag(CART_ID), '"9-99999999"');
  });

  test("a problem becomes a typed TrolleyError with the whole body, without retrying it", async () => {
    const { shop, seen } = scripted([
      problem(
        409,
        "line_conflict",
        { current_line: { line_id: "l1", line_version: 4, quantity: 3 } },
        { "X-Request-Id": "req-1" },
      ),
    ]);
    const error = await shop
      .setQuantity(CART_ID, "l1", 1, { expectedLineVersion: 3 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof TrolleyError);
    assert.ok(error instanceof Error);
    assert.ok(isTrolleyError(error, "line_conflict"));
    assert.ok(!isTrolleyError(error, "precondition_failed"));
    assert.equal(error.status, 409);
    assert.equal(error.code, "line_conflict");
    assert.equal(error.detail, "a line_conflict");
    assert.equal(error.requestId, "req-1");
    assert.deepEqual(error.problem.current_line, { line_id: "l1", line_version: 4, quantity: 3 });
    assert.equal(seen.length, 1);
  });

  test("a rate limit asking for longer than the longest retry wait is thrown at once", async () => {
    const { shop, seen } = scripted([
      problem(429, "rate_limited", { retry_after_seconds: 30 }, { "Retry-After": "30" }),
    ]);
    const error = await shop.getCart(CART_ID).catch((e: unknown) => e);
    assert.ok(isTrolleyError(error, "rate_limited"));
    assert.equal(error.retryAfterSeconds, 30);
    assert.equal(seen.length, 1);
  });

  test("an answer that is not a problem document is an unexpected_response after the retries", async () => {
    const html = (): Response =>
      new Response("<html>Bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } });
    const { shop, seen } = scripted([html(), html(), html()]);
    const error = await shop.getOrder("o1").catch((e: unknown) => e);
    assert.ok(isTrolleyError(error, "unexpected_response"));
    assert.equal(error.status, 502);
    assert.match(error.detail, /Bad gateway/);
    assert.equal(seen.length, 3);
  });

  test("a customer merge sends the guest cart's kept token; a checkout's calls send its cart's token", async () => {
    const GUEST = "0190f5f4-0000-7000-8000-0000000000aa";
    const { shop: guest, seen } = scripted([
      json({ cart_id: GUEST, version: 1, lines: [], cart_token: "guest-token" }, 201, {
        ETag: '"1-00000000"',
      }),
      json(
        {
          cart: cart(3),
          outcomes: [],
          policy: "sum",
          replayed: false,
          source: { cart_id: GUEST, status: "merged", lines_left: 0 },
        },
        200,
        { ETag: '"3-33333333"' },
      ),
      json({ checkout_id: "co1", cart_id: GUEST, cart_version: 2 }, 201),
      json({ order_id: "or1", checkout_id: "co1", cart_id: GUEST }, 201),
    ]);
    await guest.createCart();
    const customer = guest.withCustomer("jwt.token.here");
    await customer.mergeGuestCart(CART_ID, { sourceCartId: GUEST, policy: "sum" });
    assert.equal(seen[1]?.headers.get("Authorization"), "Bearer jwt.token.here");
    assert.equal(seen[1]?.headers.get("X-Cart-Token"), null, "the target is the customer's own cart");
    assert.deepEqual(JSON.parse(seen[1]?.body ?? ""), {
      source_cart_id: GUEST,
      source_cart_token: "guest-token",
      policy: "sum",
    });
    assert.equal(customer.etag(CART_ID), '"3-33333333"');
    await assert.rejects(customer.mergeGuestCart(CART_ID, { sourceCartId: "unknown" }), TypeError);

    await guest.checkout(GUEST, { acceptPriceChanges: true });
    assert.deepEqual(JSON.parse(seen[2]?.body ?? ""), { accept_price_changes: true });
    await guest.complete("co1");
    assert.equal(seen[3]?.path, "/v1/checkouts/co1/complete");
    assert.equal(seen[3]?.headers.get("X-Cart-Token"), "guest-token");
    assert.ok(seen[3]?.headers.get("Idempotency-Key"));
  });

  test("the catalog is read with the storefront key only", async () => {
    const { shop, seen } = scripted([json({ items: [], next_cursor: null })]);
    await shop.withCustomer("jwt").listItems({ category: "grocery", limit: 20 });
    assert.equal(seen[0]?.path, "/v1/catalog/items?category=grocery&limit=20");
    assert.equal(seen[0]?.headers.get("Authorization"), null);
    assert.equal(seen[0]?.headers.get("X-Api-Key"), "sf_key");
  });
});
