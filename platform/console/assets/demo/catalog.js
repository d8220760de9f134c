// The catalog: the shop's items, grouped by order type, each with its Add button.

import { $, clear, h, money } from "./dom.js";
import { state } from "./session.js";
import { api } from "./api.js";
import { act, addItem } from "./cart.js";

const ORDER_TYPES = ["grocery", "food", "medicine"];

export async function loadCatalog() {
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
