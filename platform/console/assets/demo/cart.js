// The cart: creating and following the shopper's cart, adding and changing lines, and
// rendering it with its fees, violations, fulfillment and delivery context. `act` runs a
// button's action here because every action may change whether the cart can check out.

import { $, clear, h, money, short } from "./dom.js";
import { currentCartId, save, signedIn, state, STORE } from "./session.js";
import { api, hideError, idempotencyKey, Problem, showError } from "./api.js";

const BLOCKING = ["block_checkout", "reject"];
const CONTEXT_KEYS = ["delivery_slot", "distance_km", "local_time", "age_verified"];

// Runs an action from a button: busy while it runs, its error shown in `slot`.
export async function act(button, slot, fn) {
  hideError(slot);
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    await fn();
  } catch (e) {
    showError(slot, e);
  } finally {
    if (button && button.isConnected) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
    renderCheckoutButton();
  }
}

// The shopper's cart, created on first use.
async function ensureCart() {
  const id = currentCartId();
  if (id) return id;
  const { body } = await api("POST", "/v1/carts");
  if (signedIn()) {
    state.customer.cart_id = body.cart_id;
    save(STORE.customer, state.customer);
  } else {
    state.guest = { cart_id: body.cart_id, cart_token: body.cart_token };
    save(STORE.guest, state.guest);
  }
  setCart(body);
  return body.cart_id;
}

// A cart that can no longer change (ordered, merged, expired) is let go, and the next
// add starts a fresh one.
export const GONE = ["cart_not_found", "cart_merged", "cart_closed", "cart_expired"];

export function forgetCart() {
  if (signedIn()) {
    state.customer.cart_id = null;
    save(STORE.customer, state.customer);
  } else {
    state.guest = null;
    save(STORE.guest, null);
  }
  state.cart = null;
  renderCart();
}

export async function addItem(item, rxInput, slot, replace) {
  const body = { sku: item.sku, quantity: 1 };
  if (item.seller) body.seller = item.seller;
  if (rxInput && rxInput.value.trim()) body.attributes = { prescription_ref: rxInput.value.trim() };
  if (replace) body.replace_incompatible = true;
  let cartId = await ensureCart();
  let res;
  try {
    res = await api("POST", "/v1/carts/" + cartId + "/lines", { body, headers: { "Idempotency-Key": idempotencyKey() } });
  } catch (e) {
    if (e instanceof Problem && GONE.includes(e.code)) {
      forgetCart();
      cartId = await ensureCart();
      res = await api("POST", "/v1/carts/" + cartId + "/lines", { body, headers: { "Idempotency-Key": idempotencyKey() } });
    } else if (e instanceof Problem && e.code === "incompatible_order_type") {
      const replaceButton = h("button", { type: "button", class: "btn small", "data-testid": "replace-" + item.sku, text: "Empty the cart and add it" });
      replaceButton.addEventListener("click", () => act(replaceButton, slot, () => addItem(item, rxInput, slot, true)));
      showError(slot, e, h("div", {}, replaceButton));
      return;
    } else {
      throw e;
    }
  }
  setCart(res.body);
  if (res.body.replaced) {
    const removed = res.body.replaced.removed_lines.map((l) => l.quantity + " × " + l.sku).join(", ");
    $("checkout-hint").textContent = "Emptied the " + (res.body.replaced.previous_order_type || "") + " cart first (removed " + removed + ").";
  }
}

export async function refreshCart() {
  const id = currentCartId();
  if (!id) {
    state.cart = null;
    renderCart();
    return;
  }
  try {
    const { body } = await api("GET", "/v1/carts/" + id);
    setCart(body);
  } catch (e) {
    if (e instanceof Problem && (GONE.includes(e.code) || e.status === 403 || e.status === 401)) {
      forgetCart();
      return;
    }
    throw e;
  }
}

export function setCart(cart) {
  state.cart = cart;
  // What an earlier add said no to is stale once the cart changed.
  for (const slot of document.querySelectorAll("#catalog-groups .error")) hideError(slot);
  renderCart();
}

function lineLabel(cart, lineId) {
  const line = cart && cart.lines.find((l) => l.line_id === lineId);
  return line ? (line.title || line.sku) : null;
}

export function renderCart() {
  const cart = state.cart;
  const currency = cart ? cart.currency : "USD";
  const owner = $("cart-owner");
  if (!cart) {
    owner.textContent = signedIn() ? "Signed in as " + state.customer.customer_id + " · no cart yet" : "Guest · no cart yet";
  } else {
    owner.textContent = (cart.customer_id ? "Customer " + cart.customer_id : "Guest") +
      " · cart " + short(cart.cart_id) + " · v" + cart.version + " · " + cart.status +
      (cart.order_type ? " · " + cart.order_type : "");
    owner.title = cart.cart_id;
  }
  const lines = clear($("cart-lines"));
  const empty = !cart || cart.lines.length === 0;
  $("cart-empty").hidden = !empty;
  if (cart) {
    for (const line of cart.lines) lines.append(renderLine(cart, line));
  }
  const count = cart ? cart.lines.reduce((n, l) => n + l.quantity, 0) : 0;
  $("cart-link").textContent = "Cart · " + count + (cart && count ? " · " + money(cart.total, currency) : "");
  $("context-save").disabled = !!cart && cart.status !== "active";
  $("cart-subtotal").textContent = cart ? money(cart.subtotal, currency) : "—";
  $("cart-total").textContent = cart ? money(cart.total, currency) : "—";
  const fees = clear($("fees"));
  for (const fee of cart ? cart.fees : []) {
    fees.append(h("li", { class: "fee", "data-testid": "fee-" + fee.code, "data-code": fee.code },
      h("span", { class: "label", text: fee.label }),
      h("span", { class: "amount", text: money(fee.amount, currency) })));
  }
  renderViolations(cart);
  renderFulfillment(cart);
  renderContext(cart);
  renderCheckoutButton();
}

function renderLine(cart, line) {
  const slot = h("p", { class: "error", role: "alert", "data-testid": "line-error-" + line.sku, hidden: true });
  const name = line.title || line.sku;
  // A cart that is checking out (or done) is frozen: the API would refuse every change.
  const frozen = cart.status !== "active";
  const minus = h("button", { type: "button", class: "btn icon", "aria-label": "One less " + name, "data-testid": "dec-" + line.sku, disabled: frozen || line.quantity <= 1, text: "−" });
  const plus = h("button", { type: "button", class: "btn icon", "aria-label": "One more " + name, "data-testid": "inc-" + line.sku, disabled: frozen, text: "+" });
  const remove = h("button", { type: "button", class: "btn small danger", "aria-label": "Remove " + name, "data-testid": "remove-" + line.sku, disabled: frozen, text: "Remove" });
  minus.addEventListener("click", () => act(minus, slot, () => setQuantity(line, line.quantity - 1)));
  plus.addEventListener("click", () => act(plus, slot, () => setQuantity(line, line.quantity + 1)));
  remove.addEventListener("click", () => act(remove, slot, () => removeLine(line)));
  const attrs = Object.entries(line.attributes || {}).map(([k, v]) => h("span", { class: "badge", text: k + ": " + v }));
  const lineViolations = cart.violations.filter((v) => v.line_id === line.line_id);
  return h("li", { class: "line", "data-testid": "line-" + line.sku, "data-line-id": line.line_id },
    h("div", { class: "line-top" },
      h("div", {},
        h("p", { class: "line-title", text: name }),
        h("div", { class: "line-meta" },
          h("span", { text: money(line.unit_price, cart.currency) + " each" }),
          line.seller ? h("span", { text: "from " + line.seller }) : null,
          h("span", { class: "badge", title: "line_version: every change to this line increments it", text: "line v" + line.line_version }),
          line.price_changed ? h("span", { class: "badge warning", text: "price was " + money(line.added_unit_price, cart.currency) }) : null,
          line.needs_review ? h("span", { class: "badge warning", text: "needs review" }) : null,
          line.availability === "out_of_stock" ? h("span", { class: "badge danger", text: "out of stock" }) : null,
          line.availability === "low_stock" ? h("span", { class: "badge warning", text: "low stock" }) : null,
          attrs)),
      h("span", { class: "line-total", text: money(line.line_total, cart.currency) })),
    h("div", { class: "line-controls", role: "group", "aria-label": "Quantity of " + name },
      minus, h("span", { class: "qty", "data-testid": "qty-" + line.sku, "aria-live": "polite", text: String(line.quantity) }), plus, remove),
    lineViolations.map((v) => h("p", { class: "violation " + v.severity, text: v.message })),
    slot);
}

async function setQuantity(line, quantity) {
  const { body } = await api("PATCH", "/v1/carts/" + state.cart.cart_id + "/lines/" + line.line_id, {
    body: { quantity, expected_line_version: line.line_version },
    headers: { "Idempotency-Key": idempotencyKey() },
  });
  setCart(body);
}

async function removeLine(line) {
  const { body } = await api("DELETE", "/v1/carts/" + state.cart.cart_id + "/lines/" + line.line_id +
    "?expected_line_version=" + line.line_version, { headers: { "Idempotency-Key": idempotencyKey() } });
  setCart(body);
}

function renderViolations(cart) {
  const root = clear($("violations"));
  if (!cart) return;
  if (cart.plugin_status === "unavailable") {
    root.append(h("div", { class: "violation warning", "data-testid": "plugin-unavailable" },
      h("span", { class: "v-msg", text: "The " + (cart.order_type || "") + " rules could not run just now; totals may be incomplete." })));
  }
  if (cart.violations.length === 0) return;
  root.append(h("h3", { class: "sr-only", text: "Problems with this cart" }));
  for (const v of cart.violations) {
    const field = v.field || null;
    const contextKey = field && field.startsWith("context.") ? field.slice("context.".length) : null;
    let fix = null;
    if (contextKey && $("ctx-" + contextKey)) {
      fix = h("button", { type: "button", class: "btn small", "data-testid": "fix-" + contextKey, text: "Set " + contextKey });
      fix.addEventListener("click", () => $("ctx-" + contextKey).focus());
    }
    const about = lineLabel(cart, v.line_id);
    root.append(h("div", {
      class: "violation " + v.severity, "data-testid": "violation-" + v.code, "data-severity": v.severity,
      role: BLOCKING.includes(v.severity) ? "alert" : null,
    },
      h("div", { class: "v-head" },
        h("span", { class: "v-sev", text: v.severity === "warning" ? "warning" : v.severity === "reject" ? "not allowed" : "blocks checkout" }),
        h("code", { text: v.code }),
        field ? h("span", { class: "badge", "data-testid": "violation-field", text: "field: " + field }) : null),
      h("span", { class: "v-msg", text: v.message + (about ? " (" + about + ")" : "") }),
      fix));
  }
}

function renderFulfillment(cart) {
  const root = clear($("fulfillment"));
  if (!cart || !cart.fulfillment) return;
  const f = cart.fulfillment;
  const rows = [];
  if (f.allowed_modes.length) rows.push(["Modes", f.allowed_modes.join(", ")]);
  if (f.lead_time_minutes !== null && f.lead_time_minutes !== undefined) rows.push(["Lead time", f.lead_time_minutes + " min"]);
  if (f.requirements.length) rows.push(["Requires", f.requirements.join(", ")]);
  if (f.max_distance_km !== null && f.max_distance_km !== undefined) rows.push(["Max distance", f.max_distance_km + " km"]);
  if (f.notes.length) rows.push(["Notes", f.notes.join("; ")]);
  if (cart.plugin) rows.push(["Rules", cart.plugin.order_type + " " + cart.plugin.version]);
  root.append(h("h3", { text: "Fulfillment" }),
    h("dl", { class: "kv" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])));
}

function renderContext(cart) {
  const context = (cart && cart.context) || {};
  for (const key of CONTEXT_KEYS) {
    const input = $("ctx-" + key);
    if (!input || document.activeElement === input) continue;
    if (input.type === "checkbox") input.checked = /^(true|yes|1)$/i.test(context[key] || "");
    else input.value = context[key] || "";
  }
}

export async function saveContext() {
  const cartId = await ensureCart();
  // Keys this form does not know are kept as they are.
  const context = Object.assign({}, (state.cart && state.cart.context) || {});
  for (const key of CONTEXT_KEYS) {
    const input = $("ctx-" + key);
    const value = input.type === "checkbox" ? (input.checked ? "true" : "") : input.value.trim();
    if (value) context[key] = value;
    else delete context[key];
  }
  const { body } = await api("PUT", "/v1/carts/" + cartId + "/context", { body: context, headers: { "Idempotency-Key": idempotencyKey() } });
  setCart(body);
}

function renderCheckoutButton() {
  const button = $("checkout");
  const hint = $("checkout-hint");
  const cart = state.cart;
  let reason = "";
  if (!cart || cart.lines.length === 0) reason = "Add something to check out.";
  else if (cart.status === "checking_out") reason = "This cart is checking out.";
  else if (cart.status !== "active") reason = "This cart is " + cart.status + ".";
  else if (cart.violations.some((v) => BLOCKING.includes(v.severity))) reason = "Fix the problems in red to check out.";
  if (button.getAttribute("aria-busy") !== "true") button.disabled = reason !== "";
  if (reason || !hint.textContent.startsWith("Emptied")) hint.textContent = reason;
}
