// Sign-in and merge: /demo/login signs a customer token (as a shop's back end would), and
// signing in merges the guest cart into the customer's cart, showing each line's outcome.

import { $, clear, h } from "./dom.js";
import { save, signedIn, state, STORE } from "./session.js";
import { api, idempotencyKey, Problem } from "./api.js";
import { GONE, refreshCart, setCart } from "./cart.js";
import { hideCheckout } from "./checkout.js";
import { resetDeviceB } from "./device_b.js";

const OUTCOME_TEXT = {
  added: "added from the guest cart",
  summed: "quantities added together",
  kept_target: "your saved cart's line kept",
  kept_source: "the guest cart's line kept",
  conflict_surfaced: "both kept — review needed",
  capped: "capped by a limit or stock",
  dropped_unavailable: "dropped: no longer sold",
  left_in_source: "left in the guest cart",
};

export async function signIn() {
  const customerId = $("login-customer").value.trim();
  const res = await fetch("/demo/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ customer_id: customerId }),
  });
  const login = await res.json().catch(() => null);
  if (!res.ok) throw new Problem(res.status, login);
  const customer = { customer_id: login.customer_id, token: login.token, expires_at: login.expires_at, cart_id: null };
  const auth = { Authorization: "Bearer " + login.token };
  // The customer's live cart on any device, or a new one.
  const { body: target } = await api("POST", "/v1/carts", { auth });
  customer.cart_id = target.cart_id;
  const guest = state.guest;
  const outcomes = clear($("merge-outcomes"));
  let cart = target;
  if (guest && guest.cart_id && guest.cart_id !== target.cart_id) {
    const policy = $("login-policy").value;
    const request = { source_cart_id: guest.cart_id, source_cart_token: guest.cart_token };
    if (policy) request.policy = policy;
    try {
      const { body: merged } = await api("POST", "/v1/carts/" + target.cart_id + "/merge", {
        auth, body: request, headers: { "Idempotency-Key": idempotencyKey() },
      });
      cart = merged.cart;
      renderMerge(merged);
      if (merged.source.status === "merged") {
        state.guest = null;
        save(STORE.guest, null);
      }
    } catch (e) {
      if (e instanceof Problem && GONE.includes(e.code)) {
        // The guest cart was already merged, ordered or expired: nothing to bring along.
        state.guest = null;
        save(STORE.guest, null);
        outcomes.append(h("p", { class: "muted", text: "The guest cart could not be merged (" + e.code + "): you continue with your saved cart." }));
      } else {
        throw e;
      }
    }
  } else {
    outcomes.append(h("p", { class: "muted", text: "No guest cart to merge: this is your saved cart." }));
  }
  state.customer = customer;
  save(STORE.customer, customer);
  setCart(cart);
  renderLogin();
  resetDeviceB();
}

function renderMerge(result) {
  const root = clear($("merge-outcomes"));
  root.append(h("h3", { class: "h3", text: "Merge (" + result.policy + (result.replayed ? ", replayed" : "") + ")" }));
  if (result.outcomes.length === 0) {
    root.append(h("p", { class: "muted", text: "The guest cart was empty." }));
  } else {
    root.append(h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Line" }), h("th", { scope: "col", text: "Outcome" }), h("th", { scope: "col", text: "Qty" }))),
      h("tbody", {}, result.outcomes.map((o) => h("tr", { "data-testid": "outcome-" + o.sku, "data-outcome": o.outcome },
        h("td", {}, h("code", { text: o.sku })),
        h("td", {},
          h("span", { class: "outcome " + o.outcome, text: o.outcome }),
          h("div", { class: "muted small", text: (OUTCOME_TEXT[o.outcome] || "") + (o.reason ? " — " + o.reason : "") })),
        h("td", { text: (o.target_quantity ?? "–") + " + " + (o.source_quantity ?? "–") + " → " + o.quantity }))))));
  }
  if (result.source.status !== "merged") {
    root.append(h("p", { class: "hint", text: result.source.lines_left + " line(s) stayed in the guest cart (a " + (result.source.order_type || "different") + " cart cannot join a " + (result.cart.order_type || "") + " cart)." }));
  }
}

export function signOut() {
  state.customer = null;
  save(STORE.customer, null);
  clear($("merge-outcomes"));
  hideCheckout();
  renderLogin();
  resetDeviceB();
  return refreshCart();
}

export function renderLogin() {
  const inside = signedIn();
  $("login-signed-out").hidden = inside;
  $("login-signed-in").hidden = !inside;
  $("login-who").textContent = inside ? state.customer.customer_id : "";
}
