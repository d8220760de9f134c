// Browsers may call the storefront API from the tenant's `cors_allowed_origins` and from no
// other origin: checked over plain HTTP (what the server answers) and in headless Chromium
// (what a page can actually do).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { testEnv } from "./support/env.js";
import {
  type PageServer,
  type Resource,
  headerList,
  rawRequest,
  startPageServer,
} from "./support/page-server.js";
import { type TestTenant, storefrontTenant } from "./support/tenant.js";

const env = testEnv();

/** The headers the brief's storefront write needs (a preflighted request). */
const WRITE_HEADERS = ["x-api-key", "x-cart-token", "idempotency-key", "if-match", "content-type"];
/** Every header @trolley/client may send, reads and the event stream included. */
const CLIENT_HEADERS = [...WRITE_HEADERS, "authorization", "if-none-match", "last-event-id"];
const EXPOSED = [
  "etag",
  "idempotent-replayed",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "retry-after",
  "x-request-id",
];

/** What the page's script reports. */
interface PageReport {
  ok: boolean;
  error?: string;
  message?: string;
  createStatus?: number;
  addStatus?: number;
  createdEtag?: string | null;
  etag?: string | null;
  version?: number;
}

interface ClientReport {
  ok: boolean;
  error?: string;
  message?: string;
  etag?: string;
  addedVersion?: number;
  readVersion?: number;
  streamedVersion?: number;
}

let pageConfig: { url: string; storefrontKey: string } | undefined;

const compiled = (relative: string): URL => new URL(relative, import.meta.url);

function resource(path: string): Resource | undefined {
  if (path === "/" || path === "/client.html") {
    const script = path === "/" ? "/page.js" : "/client-page.js";
    return {
      type: "text/html; charset=utf-8",
      body:
        `<!doctype html><meta charset="utf-8"><title>Trolley CORS check</title>` +
        `<script type="importmap">{"imports":{"openapi-fetch":"/vendor/openapi-fetch.mjs"}}</script>` +
        `<script type="module" src="${script}"></script><p id="status">running</p>`,
    };
  }
  if (path === "/page.js")
    return { type: "text/javascript", body: `const config = ${JSON.stringify(pageConfig)};\n${PAGE_SCRIPT}` };
  if (path === "/client-page.js") {
    return {
      type: "text/javascript",
      body: `const config = ${JSON.stringify(pageConfig)};\n${CLIENT_PAGE_SCRIPT}`,
    };
  }
  if (path === "/vendor/openapi-fetch.mjs") {
    return {
      type: "text/javascript",
      body: readFileSync(fileURLToPath(import.meta.resolve("openapi-fetch"))),
    };
  }
  // The client as compiled next to these tests (build/src), loaded by the page as ES modules.
  const match = /^\/client\/([\w./-]+\.js)$/.exec(path);
  if (match?.[1] && !match[1].includes("..")) {
    const file = fileURLToPath(compiled(`../src/${match[1]}`));
    if (existsSync(file)) return { type: "text/javascript", body: readFileSync(file) };
  }
  return undefined;
}

/** Plain fetch: a guest cart, then a preflighted add with Idempotency-Key and If-Match. */
const PAGE_SCRIPT = `
async function run() {
  try {
    const created = await fetch(config.url + "/v1/carts", {
      method: "POST",
      headers: { "X-Api-Key": config.storefrontKey },
    });
    const cart = await created.json();
    const createdEtag = created.headers.get("ETag");
    const added = await fetch(config.url + "/v1/carts/" + cart.cart_id + "/lines", {
      method: "POST",
      headers: {
        "X-Api-Key": config.storefrontKey,
        "X-Cart-Token": cart.cart_token,
        "Idempotency-Key": crypto.randomUUID(),
        "If-Match": createdEtag,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ sku: "apple", quantity: 1 }),
    });
    const body = await added.json();
    return {
      ok: added.ok,
      createStatus: created.status,
      addStatus: added.status,
      createdEtag,
      etag: added.headers.get("ETag"),
      version: body.version,
    };
  } catch (e) {
    return { ok: false, error: e.name, message: String(e.message) };
  }
}
window.trolleyCheck = run();
window.trolleyCheck.then((r) => { document.getElementById("status").textContent = JSON.stringify(r); });
`;

/** @trolley/client itself in the page: writes, a conditional read and the live stream. */
const CLIENT_PAGE_SCRIPT = `
import { createTrolley } from "/client/index.js";
async function run() {
  const shop = createTrolley({ baseUrl: config.url, storefrontKey: config.storefrontKey, retry: { retries: 0 } });
  try {
    const cart = await shop.createCart();
    let resolveStreamed;
    const streamed = new Promise((r) => { resolveStreamed = r; });
    const subscription = shop.subscribe(cart.cart_id, (c) => resolveStreamed(c.version), {
      lastEventId: String(cart.version),
      onError: (e) => resolveStreamed(e),
    });
    const added = await shop.addLine(cart.cart_id, { sku: "bread", quantity: 2 });
    const read = await shop.getCart(cart.cart_id);
    const timeout = new Promise((r) => setTimeout(() => r(new Error("no stream event within 10 s")), 10000));
    const streamedVersion = await Promise.race([streamed, timeout]);
    subscription.unsubscribe();
    if (streamedVersion instanceof Error) throw streamedVersion;
    return { ok: true, etag: shop.etag(cart.cart_id), addedVersion: added.version, readVersion: read.version, streamedVersion };
  } catch (e) {
    return { ok: false, error: e.name, message: String(e.message) };
  }
}
window.trolleyCheck = run();
`;

describe("CORS", () => {
  let allowed: PageServer;
  let other: PageServer;
  let tenant: TestTenant;

  before(async () => {
    allowed = await startPageServer(resource);
    other = await startPageServer(resource);
    tenant = await storefrontTenant(env, { corsAllowedOrigins: [allowed.origin] });
    pageConfig = { url: env.url, storefrontKey: tenant.storefrontKey };
  });
  after(async () => {
    await allowed?.close();
    await other?.close();
  });

  const linesPath = (): string => `/v1/carts/${randomUUID()}/lines`;

  test("a preflight from an allowed origin is answered for that origin and those headers", async () => {
    const answer = await rawRequest(`${env.url}${linesPath()}`, "OPTIONS", {
      Origin: allowed.origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": WRITE_HEADERS.join(", "),
    });
    assert.ok(
      answer.status >= 200 && answer.status < 300,
      `preflight answered ${answer.status}: ${answer.body}`,
    );
    assert.equal(answer.headers["access-control-allow-origin"], allowed.origin);
    const allowedHeaders = headerList(answer.headers["access-control-allow-headers"]);
    for (const header of WRITE_HEADERS)
      assert.ok(allowedHeaders.includes(header), `${header} in [${allowedHeaders}]`);
  });

  test("another origin gets no Access-Control-Allow-Origin", async () => {
    const preflight = await rawRequest(`${env.url}${linesPath()}`, "OPTIONS", {
      Origin: other.origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": WRITE_HEADERS.join(", "),
    });
    assert.equal(preflight.headers["access-control-allow-origin"], undefined);
    const plain = await rawRequest(`${env.url}/v1/carts`, "POST", {
      Origin: other.origin,
      "X-Api-Key": tenant.storefrontKey,
    });
    assert.equal(plain.headers["access-control-allow-origin"], undefined);
  });

  test("answers to an allowed origin expose ETag, Idempotent-Replayed, the rate-limit headers and X-Request-Id", async () => {
    const answer = await rawRequest(`${env.url}/v1/carts`, "POST", {
      Origin: allowed.origin,
      "X-Api-Key": tenant.storefrontKey,
    });
    assert.equal(answer.status, 201, answer.body);
    assert.equal(answer.headers["access-control-allow-origin"], allowed.origin);
    const exposed = headerList(answer.headers["access-control-expose-headers"]);
    for (const header of EXPOSED) assert.ok(exposed.includes(header), `${header} exposed: [${exposed}]`);
  });

  test("every method and header the client sends is allowed for an allowed origin", async () => {
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      const answer = await rawRequest(`${env.url}${linesPath()}`, "OPTIONS", {
        Origin: allowed.origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": CLIENT_HEADERS.join(", "),
      });
      assert.ok(answer.status >= 200 && answer.status < 300, `${method} preflight answered ${answer.status}`);
      const headers = headerList(answer.headers["access-control-allow-headers"]);
      for (const header of CLIENT_HEADERS)
        assert.ok(headers.includes(header), `${method}: ${header} in [${headers}]`);
      // GET and POST are CORS-safelisted methods and need not be listed.
      if (method !== "GET" && method !== "POST") {
        const methods = headerList(answer.headers["access-control-allow-methods"]).map((m) =>
          m.toUpperCase(),
        );
        assert.ok(methods.includes(method), `${method} in [${methods}]`);
      }
    }
  });

  describe("in Chromium", () => {
    let browser: Browser;
    before(async () => {
      assert.ok(
        existsSync(env.chromiumPath),
        `no Chromium at ${env.chromiumPath}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
      );
      browser = await chromium.launch({
        executablePath: env.chromiumPath,
        args: ["--no-sandbox"],
        headless: true,
      });
    });
    after(async () => {
      await browser?.close();
    });

    async function runPage(origin: string, path: string): Promise<unknown> {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(m.text()));
      page.on("pageerror", (e) => logs.push(e.message));
      try {
        await page.goto(`${origin}${path}`);
        const report: unknown = await page.evaluate("window.trolleyCheck");
        if (typeof report !== "object" || report === null)
          throw new Error(`no report; console: ${logs.join(" | ")}`);
        return { ...report, logs };
      } finally {
        await page.close();
      }
    }

    test("the allowed origin creates a cart, adds a line (preflighted) and reads the ETag", async () => {
      const report = (await runPage(allowed.origin, "/")) as PageReport;
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.createStatus, 201);
      assert.equal(report.addStatus, 200);
      assert.ok(report.createdEtag, "the created cart's ETag is readable");
      assert.ok(report.etag, "the added line's ETag is readable");
      assert.notEqual(report.etag, report.createdEtag);
      assert.equal(typeof report.version, "number");
    });

    test("another origin's fetch fails", async () => {
      const report = (await runPage(other.origin, "/")) as PageReport;
      assert.equal(report.ok, false, JSON.stringify(report));
      assert.equal(report.error, "TypeError", JSON.stringify(report));
    });

    test("@trolley/client works in the page: writes, a conditional read and live sync", async () => {
      const report = (await runPage(allowed.origin, "/client.html")) as ClientReport;
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.ok(report.etag);
      assert.equal(report.readVersion, report.addedVersion);
      assert.equal(report.streamedVersion, report.addedVersion);
    });
  });
});
