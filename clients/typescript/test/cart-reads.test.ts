// Conditional reads (`If-None-Match` → `304`, served from the kept copy) and the storefront
// catalog, against a live server.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { createTrolley } from "../src/index.js";
import { testEnv } from "./support/env.js";
import { recordingFetch } from "./support/recording-fetch.js";
import { CATALOG, type TestTenant, storefrontTenant } from "./support/tenant.js";

const env = testEnv();

describe("cart reads", () => {
  let tenant: TestTenant;
  before(async () => {
    tenant = await storefrontTenant(env);
  });

  test("an unchanged cart is a 304 served from the kept copy; a changed one a 200", async () => {
    const wire = recordingFetch();
    const shop = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey, fetch: wire.fetch });
    const { cart_id: cartId, cart_token: token } = await shop.createCart();
    const added = await shop.addLine(cartId, { sku: "apple", quantity: 3 });

    const first = await shop.getCart(cartId);
    const second = await shop.getCart(cartId);
    const reads = wire.take().filter((x) => x.method === "GET");
    assert.equal(reads.length, 2);
    for (const read of reads) assert.equal(read.requestHeaders.get("If-None-Match"), shop.etag(cartId));
    // The first read may already be a 304 (the add answered the cart as it still is).
    assert.equal(reads[1]?.status, 304, "the second read was answered 304 Not Modified");
    assert.equal(second.version, added.version);
    assert.deepEqual(second, first);
    assert.deepEqual(
      second.lines.map((l) => [l.sku, l.quantity]),
      [["apple", 3]],
    );
    assert.equal("replaced" in second && second.replaced != null, false, "a read never carries `replaced`");

    // Another device changes the cart: the kept ETag is stale, the read is a 200.
    const otherDevice = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey });
    assert.ok(token);
    otherDevice.rememberCartToken(cartId, token);
    const changed = await otherDevice.addLine(cartId, { sku: "bread", quantity: 1 }, { ifMatch: false });
    assert.ok(changed.version > added.version);

    const third = await shop.getCart(cartId);
    const [read] = wire.take();
    assert.equal(read?.status, 200);
    assert.equal(third.version, changed.version);
    assert.equal(shop.etag(cartId), read?.responseHeaders.get("ETag"));
    assert.deepEqual(third.lines.map((l) => l.sku).sort(), ["apple", "bread"]);
  });

  test("every write sends an Idempotency-Key and If-Match with the last ETag seen", async () => {
    const wire = recordingFetch();
    const shop = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey, fetch: wire.fetch });
    const cart = await shop.createCart();
    const created = wire.take()[0];
    assert.ok(created?.responseHeaders.get("ETag"), "a created cart has an ETag");
    const added = await shop.addLine(cart.cart_id, { sku: "apple", quantity: 1 });
    const [add] = wire.take();
    assert.equal(add?.requestHeaders.get("If-Match"), created?.responseHeaders.get("ETag"));
    assert.match(add?.requestHeaders.get("Idempotency-Key") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(add?.requestHeaders.get("X-Cart-Token"), cart.cart_token);
    const lineId = added.lines[0]?.line_id;
    assert.ok(lineId);
    const context = await shop.setContext(cart.cart_id, { distance_km: "3.2" });
    assert.equal(context.context["distance_km"], "3.2");
    const [put] = wire.take();
    assert.equal(put?.requestHeaders.get("If-Match"), add?.responseHeaders.get("ETag"));
    const cleared = await shop.clear(cart.cart_id, { ifMatch: false });
    assert.deepEqual(cleared.lines, []);
    const [clear] = wire.take();
    assert.equal(clear?.requestHeaders.get("If-Match"), null, "ifMatch: false sends none");
  });
});

describe("storefront catalog", () => {
  let tenant: TestTenant;
  before(async () => {
    tenant = await storefrontTenant(env);
  });

  test("lists items by category and reads one, with the storefront key only", async () => {
    const shop = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey });
    const grocery = await shop.listItems({ category: "grocery" });
    assert.deepEqual(grocery.items.map((i) => i.sku).sort(), ["apple", "bread"]);
    const apple = grocery.items.find((i) => i.sku === "apple");
    assert.equal(apple?.price, CATALOG.apple.price);
    assert.equal(apple?.currency, "EUR");
    assert.equal(apple?.order_type, "grocery");

    // Paging: one item a page until next_cursor is null.
    const skus: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await shop.listItems({ limit: 1, ...(cursor ? { cursor } : {}) });
      assert.ok(answer.items.length <= 1);
      skus.push(...answer.items.map((i) => i.sku));
      if (!answer.next_cursor) break;
      cursor = answer.next_cursor;
    }
    assert.deepEqual(skus.sort(), Object.keys(CATALOG).sort());

    const pizza = await shop.getItem("pizza");
    assert.equal(pizza.sku, "pizza");
    assert.equal(pizza.title, CATALOG.pizza.title);
    assert.equal(pizza.category, "food");
    assert.equal(pizza.price, CATALOG.pizza.price);
  });
});
