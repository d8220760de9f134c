// The demo storefront: a shop on the real storefront API (/v1), hand-written, no framework.
// Everything it shows comes from the API's answers; it keeps only ids and tokens, in
// sessionStorage, like a storefront would keep them in its own session.
"use strict";

(function () {
  const STORE = {
    guest: "trolley.demo.guest",       // {cart_id, cart_token}
    customer: "trolley.demo.customer", // {customer_id, token, expires_at, cart_id}
    checkout: "trolley.demo.checkout", // checkout id of a pending checkout
  };
  const ORDER_TYPES = ["grocery", "food", "medicine"];
  const BLOCKING = ["block_checkout", "reject"];
  const CONTEXT_KEYS = ["delivery_slot", "distance_km", "local_time", "age_verified"];
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

  const $ = (id) => document.getElementById(id);

  // ---- DOM building (text nodes only: titles and messages are data) ---------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // ---- session ------------------------------------------------------------------------

  function load(key) {
    try {
      const raw = sessionStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (_) {
      return null;
    }
  }

  function save(key, value) {
    try {
      if (value === null || value === undefined) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, JSON.stringify(value));
    } catch (_) {
      // Private mode or a full storage: the page still works, it just forgets on reload.
    }
  }

  const state = {
    config: null,
    catalog: [],
    guest: load(STORE.guest),
    customer: load(STORE.customer),
    cart: null,
    checkout: null,
    order: null,
    timer: null,
  };
  // Device B: its own copy of the cart, read when asked and never refreshed behind its back.
  const deviceB = { cart: null, readAt: null };

  function signedIn() {
    return state.customer && state.customer.token &&
      Date.parse(state.customer.expires_at) > Date.now();
  }

  function currentCartId() {
    if (signedIn()) return state.customer.cart_id || null;
    return state.guest ? state.guest.cart_id : null;
  }

  // The credentials the storefront API wants for this shopper.
  function shopperHeaders() {
    if (signedIn()) return { Authorization: "Bearer " + state.customer.token };
    if (state.guest && state.guest.cart_token) return { "X-Cart-Token": state.guest.cart_token };
    return {};
  }

  // ---- API ----------------------------------------------------------------------------

  class Problem extends Error {
    constructor(status, body) {
      const detail = body && (body.detail || body.title);
      super(detail || "HTTP " + status);
      this.status = status;
      this.body = body || {};
      this.code = (body && body.code) || "http_" + status;
      this.detail = detail || "The server answered " + status + ".";
    }
  }

  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "demo-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, path, options) {
    const opts = options || {};
    const headers = Object.assign(
      { Accept: "application/json", "X-Api-Key": state.config.storefront_key },
      opts.auth === undefined ? shopperHeaders() : opts.auth,
      opts.headers || {},
    );
    const init = { method, headers, cache: "no-store" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Problem(0, { code: "network_error", detail: "The server could not be reached: " + e.message });
    }
    const text = await res.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = { detail: text.slice(0, 200) };
      }
    }
    if (!res.ok) throw new Problem(res.status, body);
    return { status: res.status, body, etag: res.headers.get("ETag") };
  }

  // ---- errors beside the control that caused them ------------------------------------

  function showError(slot, problem, extra) {
    if (!slot) return;
    clear(slot);
    const p = problem instanceof Problem ? problem : new Problem(0, { code: "error", detail: String(problem && problem.message || problem) });
    slot.append(
      h("span", {}, h("code", { text: p.status ? p.status + " " + p.code : p.code }), " — " + p.detail),
    );
    if (extra) slot.append(extra);
    slot.hidden = false;
  }

  function hideError(slot) {
    if (!slot) return;
    clear(slot);
    slot.hidden = true;
  }

  // Runs an action from a button: busy while it runs, its error shown in `slot`.
  async function act(button, slot, fn) {
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

  // ---- formatting ---------------------------------------------------------------------

  function money(amount, currency) {
    if (amount === null || amount === undefined) return "—";
    const n = Number(amount);
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(n);
    } catch (_) {
      return amount + " " + (currency || "");
    }
  }

  function short(id) {
    return id ? String(id).slice(0, 8) + "…" : "—";
  }

  // ---- catalog ------------------------------------------------------------------------

  async function loadCatalog() {
    const items = [];
    let cursor = null;
    do {
      const query = "?limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      const { body } = await api("GET", "/v1/catalog/items" + query, { auth: {} });
      items.push(...body.items);
      cursor = body.next_cursor;
    } while (cursor);
    state.catalog = items;
    renderCatalog();
  }

  function itemBadges(item) {
    const a = item.attributes || {};
    const badges = [];
    if (a.cold_chain === "true") badges.push(h("span", { class: "badge accent", text: "keep cold" }));
    if (a.rx_required === "true") badges.push(h("span", { class: "badge danger", text: "prescription" }));
    if (a.age_restricted === "true") badges.push(h("span", { class: "badge warning", text: "18+" }));
    const availability = {
      in_stock: ["success", "in stock"],
      low_stock: ["warning", "low stock"],
      out_of_stock: ["danger", "out of stock"],
    }[item.availability];
    if (availability) badges.push(h("span", { class: "badge " + availability[0], text: availability[1] }));
    return badges;
  }

  function renderCatalog() {
    const root = clear($("catalog-groups"));
    const groups = new Map();
    for (const item of state.catalog) {
      const key = item.order_type || item.category || "other";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(item);
    }
    const order = [...ORDER_TYPES.filter((t) => groups.has(t)), ...[...groups.keys()].filter((t) => !ORDER_TYPES.includes(t))];
    if (order.length === 0) {
      root.append(h("p", { class: "muted", text: "The catalog is empty." }));
      return;
    }
    for (const type of order) {
      const items = groups.get(type);
      const headingId = "group-" + type;
      root.append(
        h("section", { class: "group", "aria-labelledby": headingId, "data-testid": "group-" + type },
          h("div", { class: "group-head" },
            h("h3", { id: headingId, text: type }),
            h("span", { class: "muted small", text: items.length + (items.length === 1 ? " item" : " items") })),
          h("ul", { class: "items" }, items.map(renderItem))),
      );
    }
  }

  function renderItem(item) {
    const error = h("p", { class: "error", role: "alert", id: "add-error-" + item.sku, "data-testid": "add-error-" + item.sku, hidden: true });
    const needsRx = (item.attributes || {}).rx_required === "true";
    const rxInput = needsRx
      ? h("input", { type: "text", id: "rx-" + item.sku, "data-testid": "rx-" + item.sku, placeholder: "e.g. RX-1234", autocomplete: "off" })
      : null;
    const button = h("button", {
      type: "button", class: "btn primary small", id: "add-" + item.sku, "data-testid": "add-" + item.sku,
      "aria-label": "Add " + (item.title || item.sku) + " to the cart",
      disabled: item.availability === "out_of_stock",
      text: "Add",
    });
    button.addEventListener("click", () => act(button, error, () => addItem(item, rxInput, error)));
    return h("li", { class: "item" },
      h("p", { class: "item-title", text: item.title || item.sku }),
      h("div", { class: "item-meta" },
        h("code", { text: item.sku }),
        item.seller ? h("span", { text: "from " + item.seller }) : null,
        itemBadges(item)),
      rxInput ? h("div", { class: "field" }, h("label", { for: rxInput.id, text: "Prescription reference" }), rxInput) : null,
      h("div", { class: "item-foot" },
        h("span", { class: "price", text: money(item.price, item.currency) }),
        button),
      error);
  }

  // ---- cart ---------------------------------------------------------------------------

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
  const GONE = ["cart_not_found", "cart_merged", "cart_closed", "cart_expired"];

  function forgetCart() {
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

  async function addItem(item, rxInput, slot, replace) {
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

  async function refreshCart() {
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

  function setCart(cart) {
    state.cart = cart;
    // What an earlier add said no to is stale once the cart changed.
    for (const slot of document.querySelectorAll("#catalog-groups .error")) hideError(slot);
    renderCart();
  }

  function lineLabel(cart, lineId) {
    const line = cart && cart.lines.find((l) => l.line_id === lineId);
    return line ? (line.title || line.sku) : null;
  }

  function renderCart() {
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

  async function saveContext() {
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

  // ---- checkout -----------------------------------------------------------------------

  async function startCheckout() {
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

  function hideCheckout() {
    stopCountdown();
    state.checkout = null;
    save(STORE.checkout, null);
    $("checkout-panel").hidden = true;
    hideError($("complete-error"));
  }

  async function completeCheckout() {
    const { body } = await api("POST", "/v1/checkouts/" + state.checkout.checkout_id + "/complete", {
      headers: { "Idempotency-Key": idempotencyKey() },
    });
    hideCheckout();
    showOrder(body);
    // The cart is converted: the next add starts a new one.
    forgetCart();
    $("order").focus();
  }

  async function cancelCheckout() {
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

  async function resumeCheckout() {
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

  // ---- sign-in and merge --------------------------------------------------------------

  async function signIn() {
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

  function signOut() {
    state.customer = null;
    save(STORE.customer, null);
    clear($("merge-outcomes"));
    hideCheckout();
    renderLogin();
    resetDeviceB();
    return refreshCart();
  }

  function renderLogin() {
    const inside = signedIn();
    $("login-signed-out").hidden = inside;
    $("login-signed-in").hidden = !inside;
    $("login-who").textContent = inside ? state.customer.customer_id : "";
  }

  // ---- device B -----------------------------------------------------------------------

  function resetDeviceB() {
    deviceB.cart = null;
    deviceB.readAt = null;
    renderDeviceB();
    hideConflict();
  }

  async function loadDeviceB() {
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

  function renderDeviceB() {
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

  // ---- start --------------------------------------------------------------------------

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
})();
