// Device B: the same cart as a second phone holds it, a copy read when asked, so a change
// sent from a stale line version shows the API's line conflict.

import { $, clear, h, short } from "./dom.js";
import { currentCartId, state } from "./session.js";
import { api, idempotencyKey, Problem } from "./api.js";
import { act, setCart } from "./cart.js";

// Device B: its own copy of the cart, read when asked and never refreshed behind its back.
const deviceB = { cart: null, readAt: null };

export function resetDeviceB() {
  deviceB.cart = null;
  deviceB.readAt = null;
  renderDeviceB();
  hideConflict();
}

export async function loadDeviceB() {
  const id = currentCartId();
  if (!id) throw new Problem(0, { code: "no_cart", detail: "There is no cart yet: add something first." });
  const { body } = await api("GET", "/v1/carts/" + id);
  deviceB.cart = body;
  deviceB.readAt = new Date();
  hideConflict();
  renderDeviceB();
}

function hideConflict() {
  const box = $("device-b-conflict");
  clear(box);
  box.hidden = true;
}

export function renderDeviceB() {
  const lines = clear($("device-b-lines"));
  const status = $("device-b-status");
  const cart = deviceB.cart;
  if (!cart) {
    status.textContent = "Device B has not read the cart yet.";
    return;
  }
  status.textContent = "Device B read cart " + short(cart.cart_id) + " at version " + cart.version + " (" + deviceB.readAt.toLocaleTimeString() + ").";
  if (cart.lines.length === 0) lines.append(h("li", { class: "muted", text: "The cart was empty." }));
  for (const line of cart.lines) {
    const input = h("input", {
      type: "number", min: "1", max: "999", value: String(line.quantity + 1),
      id: "b-qty-" + line.sku, "data-testid": "device-b-qty-" + line.sku,
    });
    const button = h("button", { type: "button", class: "btn small", "data-testid": "device-b-set-" + line.sku, text: "Set on device B" });
    button.addEventListener("click", () => act(button, $("device-b-error"), () => setQuantityOnB(line, Number(input.value))));
    lines.append(h("li", { class: "line", "data-testid": "device-b-line-" + line.sku },
      h("div", { class: "line-top" },
        h("p", { class: "line-title", text: line.title || line.sku }),
        h("span", { class: "badge", text: "B holds line v" + line.line_version + " · qty " + line.quantity })),
      h("div", { class: "line-controls" },
        h("label", { for: input.id, class: "small", text: "Quantity" }), input, button)));
  }
}

async function setQuantityOnB(line, quantity) {
  hideConflict();
  const box = $("device-b-conflict");
  try {
    const { body } = await api("PATCH", "/v1/carts/" + deviceB.cart.cart_id + "/lines/" + line.line_id, {
      body: { quantity, expected_line_version: line.line_version },
      headers: { "Idempotency-Key": idempotencyKey() },
    });
    deviceB.cart = body;
    deviceB.readAt = new Date();
    renderDeviceB();
    box.className = "conflict ok";
    box.append(
      h("p", { class: "c-title", text: "200 — device B's change was applied" }),
      h("p", { text: "B sent expected_line_version " + line.line_version + ", which was current: " + line.sku + " is now " + quantity + "." }));
    box.hidden = false;
    // Device A follows the cart, as a storefront listening to /v1/carts/{id}/stream would.
    if (state.cart && state.cart.cart_id === body.cart_id) setCart(body);
  } catch (e) {
    if (!(e instanceof Problem) || e.code !== "line_conflict") throw e;
    const current = e.body.current_line;
    box.className = "conflict";
    box.append(
      h("p", { class: "c-title", "data-testid": "conflict-code", text: e.status + " " + e.code }),
      h("p", { "data-testid": "conflict-detail", text: e.detail }),
      h("p", { text: "Device B sent expected_line_version " + line.line_version +
        (current ? ", but the server's line is at version " + current.line_version + " with quantity " + current.quantity : "") +
        ". Nothing was changed; other lines are unaffected." }));
    const reload = h("button", { type: "button", class: "btn small", "data-testid": "device-b-reload", text: "Reload device B" });
    reload.addEventListener("click", () => act(reload, $("device-b-error"), loadDeviceB));
    box.append(h("div", {}, reload));
    box.hidden = false;
    reload.focus();
  }
}
