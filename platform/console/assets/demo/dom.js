// DOM helpers: finding elements, building nodes (text nodes only, never parsed markup:
// titles and messages are data) and formatting money and ids.

export const $ = (id) => document.getElementById(id);

// ---- DOM building (text nodes only: titles and messages are data) ---------------------

export function h(tag, attrs, ...children) {
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

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---- formatting ---------------------------------------------------------------------

export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const n = Number(amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(n);
  } catch (_) {
    return amount + " " + (currency || "");
  }
}

export function short(id) {
  return id ? String(id).slice(0, 8) + "…" : "—";
}
