// The storefront API: calls to /v1 with the shop's storefront key and the shopper's
// credentials, failures as `Problem`s (from the API's problem bodies), and showing an error
// beside the control that caused it.

import { clear, h } from "./dom.js";
import { shopperHeaders, state } from "./session.js";

export class Problem extends Error {
  constructor(status, body) {
    const detail = body && (body.detail || body.title);
    super(detail || "HTTP " + status);
    this.status = status;
    this.body = body || {};
    this.code = (body && body.code) || "http_" + status;
    this.detail = detail || "The server answered " + status + ".";
  }
}

export function idempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "demo-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api(method, path, options) {
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

export function showError(slot, problem, extra) {
  if (!slot) return;
  clear(slot);
  const p = problem instanceof Problem ? problem : new Problem(0, { code: "error", detail: String(problem && problem.message || problem) });
  slot.append(
    h("span", {}, h("code", { text: p.status ? p.status + " " + p.code : p.code }), " — " + p.detail),
  );
  if (extra) slot.append(extra);
  slot.hidden = false;
}

export function hideError(slot) {
  if (!slot) return;
  clear(slot);
  slot.hidden = true;
}
