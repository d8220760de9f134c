// Checkout: starting one from the cart, the countdown of its hold, placing the order or
// cancelling, and resuming a pending checkout after a reload.

import { $, clear, h, money } from "./dom.js";
import { load, save, state, STORE } from "./session.js";
import { api, hideError, idempotencyKey, Problem, showError } from "./api.js";
import { forgetCart, refreshCart } from "./cart.js";

export async function startCheckout() {
  const { body } = await api("POST", "/v1/carts/" + state.cart.cart_id + "/checkout", {
    body: {}, headers: { "Idempotency-Key": idempotencyKey() },
  });
  save(STORE.checkout, body.checkout_id);
  showCheckout(body);
  await refreshCart();
  $("checkout-panel").focus();
}

function showCheckout(checkout) {
  state.checkout = checkout;
  const panel = $("checkout-panel");
  panel.hidden = false;
  const c = checkout.currency;
  const summary = clear($("checkout-summary"));
  const rows = [
    ["Checkout", checkout.checkout_id],
    ["Subtotal", money(checkout.subtotal, c)],
    ...checkout.fees.map((f) => [f.label, money(f.amount, c)]),
    ["Total", money(checkout.total, c)],
    ["Expires", new Date(checkout.expires_at).toLocaleTimeString()],
  ];
  if (checkout.plugin) rows.push(["Rules", checkout.plugin.order_type + " " + checkout.plugin.version + " (" + checkout.plugin.sha256.slice(0, 12) + ")"]);
  summary.append(...rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
  const lines = clear($("checkout-lines"));
  for (const l of checkout.lines) {
    lines.append(h("li", {}, h("span", { text: l.quantity + " × " + (l.title || l.sku) }), h("span", { text: money(l.line_total, c) })));
  }
  const holds = clear($("checkout-reservations"));
  if (checkout.reservations.length === 0) {
    holds.append(h("li", { class: "muted", text: "Nothing tracked by inventory needed a hold." }));
  }
  for (const r of checkout.reservations) {
    holds.append(h("li", { "data-testid": "reservation-" + r.sku }, h("span", { text: r.sku }), h("span", { text: r.quantity + " held" })));
  }
  $("complete").disabled = false;
  $("cancel-checkout").disabled = false;
  startCountdown(checkout.expires_at);
}

function startCountdown(expiresAt) {
  stopCountdown();
  const until = Date.parse(expiresAt);
  const el = $("countdown");
  const wrap = el.parentElement;
  const tick = () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    const mm = String(Math.floor(left / 60)).padStart(2, "0");
    const ss = String(left % 60).padStart(2, "0");
    el.textContent = mm + ":" + ss;
    el.setAttribute("data-seconds", String(left));
    wrap.classList.toggle("urgent", left > 0 && left <= 60);
    wrap.classList.toggle("expired", left === 0);
    if (left === 0) {
      stopCountdown();
      el.textContent = "expired";
      $("complete").disabled = true;
      showError($("complete-error"), new Problem(410, { code: "checkout_expired", detail: "The hold ran out: the stock was released. Cancel to edit the cart, then check out again." }));
    }
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

function stopCountdown() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

export function hideCheckout() {
  stopCountdown();
  state.checkout = null;
  save(STORE.checkout, null);
  $("checkout-panel").hidden = true;
  hideError($("complete-error"));
}

export async function completeCheckout() {
  const { body } = await api("POST", "/v1/checkouts/" + state.checkout.checkout_id + "/complete", {
    headers: { "Idempotency-Key": idempotencyKey() },
  });
  hideCheckout();
  showOrder(body);
  // The cart is converted: the next add starts a new one.
  forgetCart();
  $("order").focus();
}

export async function cancelCheckout() {
  try {
    await api("POST", "/v1/checkouts/" + state.checkout.checkout_id + "/cancel");
  } catch (e) {
    // An expired checkout has already released everything: there is nothing to cancel.
    if (!(e instanceof Problem && e.code === "checkout_expired")) throw e;
  }
  hideCheckout();
  await refreshCart();
  $("cart").focus();
}

function showOrder(order) {
  state.order = order;
  const c = order.currency;
  const summary = clear($("order-summary"));
  summary.append(
    h("dt", { text: "Order" }), h("dd", { "data-testid": "order-id", text: order.order_id }),
    h("dt", { text: "Status" }), h("dd", { text: order.status }),
    h("dt", { text: "Total" }), h("dd", { "data-testid": "order-total", text: money(order.total, c) }),
  );
  const lines = clear($("order-lines"));
  for (const l of order.lines) {
    lines.append(h("li", {}, h("span", { text: l.quantity + " × " + (l.title || l.sku) }), h("span", { text: money(l.line_total, c) })));
  }
  $("order").hidden = false;
}

export async function resumeCheckout() {
  const id = load(STORE.checkout);
  if (!id) return;
  try {
    const { body } = await api("GET", "/v1/checkouts/" + id);
    if (body.status === "pending" && Date.parse(body.expires_at) > Date.now()) showCheckout(body);
    else save(STORE.checkout, null);
  } catch (_) {
    save(STORE.checkout, null);
  }
}
