// One shopper's whole journey through the client against a live server, watched live from
// a second node: guest cart, order types, login merge, a stale second device, checkout,
// order.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, test } from "node:test";
import { type Line, createTrolley, isTrolleyError } from "../src/index.js";
import { testEnv } from "./support/env.js";
import { type TestTenant, customerToken, storefrontTenant } from "./support/tenant.js";
import { VersionLog } from "./support/version-log.js";

const env = testEnv();

function line(cart: { lines: Line[] }, sku: string): Line {
  const found = cart.lines.find((l) => l.sku === sku);
  assert.ok(found, `the cart has no ${sku} line: ${JSON.stringify(cart.lines.map((l) => l.sku))}`);
  return found;
}

describe("a shopper's journey", () => {
  let tenant: TestTenant;
  before(async () => {
    tenant = await storefrontTenant(env);
  });

  test("guest cart → order types → login merge → stale device → checkout → order, seen live on node B", async (t) => {
    // A guest fills a cart.
    const guest = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey });
    const guestCart = await guest.createCart();
    assert.ok(guestCart.cart_token, "a guest cart comes with its cart token");
    assert.equal(guest.cartToken(guestCart.cart_id), guestCart.cart_token);
    const guestId = guestCart.cart_id;

    const groceries = await guest.addLine(guestId, { sku: "apple", quantity: 2 });
    assert.equal(groceries.order_type, "grocery");

    // A line of another order type is refused with a typed error, and changes nothing.
    await assert.rejects(guest.addLine(guestId, { sku: "pizza", quantity: 1 }), (e: unknown) => {
      assert.ok(isTrolleyError(e, "incompatible_order_type"), String(e));
      assert.equal(e.status, 409);
      return true;
    });
    assert.equal((await guest.getCart(guestId)).version, groceries.version);

    // With replace_incompatible the cart is emptied first, and the answer says so.
    const food = await guest.addLine(guestId, { sku: "pizza", quantity: 1, replace_incompatible: true });
    assert.equal(food.order_type, "food");
    assert.deepEqual(
      food.lines.map((l) => [l.sku, l.quantity]),
      [["pizza", 1]],
    );
    assert.ok(food.replaced, "the answer says what was replaced");
    assert.equal(food.replaced.reason, "incompatible_order_type");
    assert.deepEqual(
      food.replaced.removed_lines.map((l) => [l.sku, l.quantity]),
      [["apple", 2]],
    );
    await guest.addLine(guestId, { sku: "salad", quantity: 1 });

    // The shopper signs in; they already have pizza in their cart from another visit.
    const customerId = `customer-${randomUUID()}`;
    const jwt = customerToken(tenant, customerId);
    const laptop = guest.withCustomer(jwt);
    const created = await laptop.createCart();
    assert.equal(created.customer_id, customerId);
    assert.ok(!created.cart_token, "a customer cart has no cart token");
    const cartId = created.cart_id;

    // Node B watches the customer's cart from now on.
    const log = new VersionLog();
    const watcher = createTrolley({ baseUrl: env.urlB, storefrontKey: tenant.storefrontKey }).withCustomer(
      jwt,
    );
    const subscription = watcher.subscribe(cartId, (cart, event) => log.add(cart, event.id), {
      lastEventId: String(created.version),
      onError: (e) => log.fail(e),
    });
    t.after(() => subscription.unsubscribe());
    const produced: number[] = [];
    const produce = async (cart: { version: number }): Promise<void> => {
      produced.push(cart.version);
      await log.reach(cart.version);
    };

    await produce(await laptop.addLine(cartId, { sku: "pizza", quantity: 2 }));

    // Login merge: the guest cart is absorbed, every line's outcome is reported.
    const merged = await laptop.mergeGuestCart(cartId, { sourceCartId: guestId, policy: "sum" });
    const outcomes = Object.fromEntries(merged.outcomes.map((o) => [o.sku, [o.outcome, o.quantity]]));
    assert.deepEqual(outcomes, { pizza: ["summed", 3], salad: ["added", 1] });
    assert.equal(merged.source.status, "merged");
    assert.equal(line(merged.cart, "pizza").quantity, 3);
    await produce(merged.cart);
    await assert.rejects(
      guest.addLine(guestId, { sku: "salad", quantity: 1 }, { ifMatch: false }),
      (e: unknown) => isTrolleyError(e, "cart_merged"),
    );

    // A second device reads the cart, then falls behind the laptop.
    const phone = createTrolley({ baseUrl: env.url, storefrontKey: tenant.storefrontKey }).withCustomer(jwt);
    const phoneView = await phone.getMyCart();
    assert.equal(phoneView.version, merged.cart.version);
    const pizzaOnPhone = line(phoneView, "pizza");
    const saladOnPhone = line(phoneView, "salad");

    const changed = await laptop.setQuantity(cartId, pizzaOnPhone.line_id, 4, {
      expectedLineVersion: pizzaOnPhone.line_version,
    });
    await produce(changed);
    const pizzaNow = line(changed, "pizza");
    assert.equal(pizzaNow.quantity, 4);

    // The phone's old line version: 409 line_conflict with the line as it is now.
    await assert.rejects(
      phone.setQuantity(cartId, pizzaOnPhone.line_id, 5, {
        expectedLineVersion: pizzaOnPhone.line_version,
        ifMatch: false,
      }),
      (e: unknown) => {
        assert.ok(isTrolleyError(e, "line_conflict"), String(e));
        assert.equal(e.status, 409);
        const current = e.problem.current_line as Partial<Line> | null | undefined;
        assert.equal(current?.line_version, pizzaNow.line_version);
        assert.equal(current?.quantity, 4);
        return true;
      },
    );
    // The phone's old ETag (sent as If-Match by default): 412 precondition_failed.
    await assert.rejects(phone.removeLine(cartId, saladOnPhone.line_id), (e: unknown) => {
      assert.ok(isTrolleyError(e, "precondition_failed"), String(e));
      assert.equal(e.status, 412);
      assert.equal(e.problem.current_version, changed.version);
      return true;
    });

    // Neither stale write changed anything; once the phone has caught up its write goes through.
    const caughtUp = await phone.getCart(cartId);
    assert.equal(caughtUp.version, changed.version);
    assert.equal(line(caughtUp, "pizza").quantity, 4);
    const withoutSalad = await phone.removeLine(cartId, saladOnPhone.line_id);
    assert.deepEqual(
      withoutSalad.lines.map((l) => [l.sku, l.quantity]),
      [["pizza", 4]],
    );
    await produce(withoutSalad);

    // The watching device writes on top of what its stream showed, without reading first
    // (its If-Match names the streamed version).
    const fromStream = await watcher.setContext(cartId, { delivery_note: "ring twice" });
    assert.equal(fromStream.version, withoutSalad.version + 1);
    await produce(fromStream);

    // The laptop catches up, checks out and completes.
    const toPay = await laptop.getCart(cartId);
    assert.equal(toPay.version, fromStream.version);
    const checkout = await laptop.checkout(cartId);
    assert.equal(checkout.cart_id, cartId);
    assert.equal(checkout.cart_version, toPay.version);
    assert.equal(checkout.total, toPay.total);
    let last = fromStream.version;
    const frozen = await laptop.getCart(cartId);
    assert.equal(frozen.status, "checking_out");
    if (frozen.version > last) {
      await produce(frozen);
      last = frozen.version;
    }

    const order = await laptop.complete(checkout.checkout_id);
    assert.equal(order.checkout_id, checkout.checkout_id);
    assert.equal(order.cart_id, cartId);
    assert.equal(order.total, checkout.total);
    assert.deepEqual(
      order.lines.map((l) => [l.sku, l.quantity]),
      [["pizza", 4]],
    );
    assert.equal((await laptop.getOrder(order.order_id)).order_id, order.order_id);
    const converted = await laptop.getCart(cartId);
    assert.equal(converted.status, "converted");
    if (converted.version > last) await produce(converted);

    // Node B saw every version the journey produced, in order, up to the last one.
    subscription.unsubscribe();
    await subscription.done;
    t.diagnostic(`the journey made versions [${produced.join(", ")}]; node B saw [${log.ids.join(", ")}]`);
    assert.deepEqual(log.mismatches, [], "each event's id is the version of the cart it carries");
    for (let i = 1; i < log.ids.length; i++) {
      assert.ok(log.ids[i]! > log.ids[i - 1]!, `ids increase: [${log.ids.join(", ")}]`);
    }
    for (const version of produced) {
      assert.ok(log.ids.includes(version), `version ${version} was seen: [${log.ids.join(", ")}]`);
    }
    assert.equal(log.ids.at(-1), produced.at(-1), "the last event is the final version");
  });
});
