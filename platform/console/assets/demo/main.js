// The demo storefront (/demo): a shop on the real storefront API (/v1), hand-written, no
// framework. Everything it shows comes from the API's answers; it keeps only ids and tokens,
// in sessionStorage, like a storefront would keep them in its own session.
//
// This module is the entry point (`<script type="module">`, so deferred): it wires the page's
// fixed controls to their actions and boots the page from /demo/config.json.

import { $ } from "./dom.js";
import { save, signedIn, state, STORE } from "./session.js";
import { Problem, showError } from "./api.js";
import { act, refreshCart, renderCart, saveContext } from "./cart.js";
import { loadCatalog } from "./catalog.js";
import { cancelCheckout, completeCheckout, resumeCheckout, startCheckout } from "./checkout.js";
import { renderLogin, signIn, signOut } from "./login.js";
import { loadDeviceB, renderDeviceB } from "./device_b.js";

function wire() {
  $("context-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act($("context-save"), $("context-error"), saveContext);
  });
  $("checkout").addEventListener("click", () => act($("checkout"), $("checkout-error"), startCheckout));
  $("complete").addEventListener("click", () => act($("complete"), $("complete-error"), completeCheckout));
  $("cancel-checkout").addEventListener("click", () => act($("cancel-checkout"), $("complete-error"), cancelCheckout));
  $("login-button").addEventListener("click", () => act($("login-button"), $("login-error"), signIn));
  $("login-customer").addEventListener("keydown", (event) => {
    if (event.key === "Enter") act($("login-button"), $("login-error"), signIn);
  });
  $("logout-button").addEventListener("click", () => act($("logout-button"), $("login-error"), signOut));
  $("device-b-load").addEventListener("click", () => act($("device-b-load"), $("device-b-error"), loadDeviceB));
  $("new-cart").addEventListener("click", () => {
    $("order").hidden = true;
    state.order = null;
    $("catalog").scrollIntoView({ behavior: "smooth" });
  });
}

async function boot() {
  wire();
  try {
    const res = await fetch("/demo/config.json", { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Problem(res.status, body);
    state.config = body;
  } catch (e) {
    showError($("boot-error"), e);
    return;
  }
  $("store-name").textContent = state.config.tenant_name;
  document.title = state.config.tenant_name + " · Trolley demo";
  if (state.customer && !signedIn()) {
    // An expired sign-in is forgotten; the page starts as a guest.
    state.customer = null;
    save(STORE.customer, null);
  }
  renderLogin();
  renderCart();
  renderDeviceB();
  const results = await Promise.allSettled([loadCatalog(), refreshCart(), resumeCheckout()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) showError($("boot-error"), failed.reason);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
