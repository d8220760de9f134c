// The console and the demo storefront in a real headless Chromium (issue 18), against a real
// `trolley serve --demo` on PostgreSQL started by platform/server/tests/console.rs, which
// passes what the server printed in its banner:
//
//   TROLLEY_URL             the server's base URL
//   TROLLEY_ADMIN_KEY       the demo tenant's admin key (tak_…)
//   TROLLEY_STOREFRONT_KEY  its storefront key (tsk_…)
//   TROLLEY_DEMO_LINK       the one-click console sign-in link
//   TROLLEY_OPERATOR_TOKEN  the platform operator token
//   GROCERY_WASM            the grocery plugin built from plugins/grocery
//   CHROMIUM_PATH           Debian's Chromium (default /usr/bin/chromium)
//   SCREENSHOT_DIR          where the screenshots go (created here when missing)
//
// One `test()` per flow, in order, sharing one browser; a flow that needs an earlier one's
// result says so when it is missing. Page weight and time to first render are printed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";

const BASE = need("TROLLEY_URL").replace(/\/$/, "");
const ADMIN_KEY = need("TROLLEY_ADMIN_KEY");
const OPERATOR_TOKEN = need("TROLLEY_OPERATOR_TOKEN");
const GROCERY_WASM = need("GROCERY_WASM");
const DEMO_LINK = process.env.TROLLEY_DEMO_LINK || "";
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || join(process.cwd(), "screenshots");
const WIDE = { width: 1440, height: 900 };
const NARROW = { width: 375, height: 800 };

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (platform/server/tests/console.rs sets it)`);
  return value;
}

let browser;
/** The signed-in tenant admin's browser context (wide screen). */
let admin;
/** What earlier flows found out, for later ones. */
const found = { pluginId: null, pluginPath: null, demo: null, activated: false };
/** Script errors and policy violations seen on any page: a final flow asserts none. */
const pageProblems = [];
let shotNumber = 0;

before(async () => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // The directory shows this run: the screenshots of an earlier one go.
  for (const file of readdirSync(SCREENSHOT_DIR)) {
    if (/^\d\d-[\w-]+\.png$/.test(file)) rmSync(join(SCREENSHOT_DIR, file));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  admin = await newContext(WIDE);
});

after(async () => {
  await browser?.close();
});

async function newContext(viewport, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  context.setDefaultTimeout(15_000);
  context.on("page", watch);
  return context;
}

/** Collects uncaught script errors and console errors (CSP violations land there). */
function watch(page) {
  page.on("response", (r) => {
    if (r.request().isNavigationRequest() && r.request().method() === "GET") {
      lastPolicy = r.headers()["referrer-policy"] ?? null;
    }
  });
  page.on("pageerror", (e) => pageProblems.push(`${page.url()}: uncaught ${e.message}`));
  page.on("console", (m) => {
    // A 4xx page (a refused form, a wrong key) is logged as a failed load: that is expected.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      pageProblems.push(`${page.url()}: console.error ${m.text()}`);
    }
  });
}

/** A full-page screenshot `NN-name.png` in SCREENSHOT_DIR. */
async function shot(page, name) {
  shotNumber += 1;
  const file = join(SCREENSHOT_DIR, `${String(shotNumber).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function path(page) {
  return new URL(page.url()).pathname;
}

/**
 * Runs `action` (a click that submits a form) and waits for the page it leads to. A form
 * refused as cross-site or token-less (403) is explained: what the browser sent.
 */
async function submit(page, action) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), action()]);
  if (response?.status() === 403) {
    const request = response.request();
    const sent = await request.allHeaders();
    refusals.push(
      `${request.method()} ${new URL(request.url()).pathname} was refused (403 "${await h1(page)}"): ` +
        `Chromium sent Origin: ${sent.origin ?? "(none)"}, Sec-Fetch-Site: ${sent["sec-fetch-site"] ?? "(none)"}, ` +
        `cookies: ${(sent.cookie ?? "(none)").replace(/=[^;]+/g, "=…")}; the form's page had Referrer-Policy: ${lastPolicy ?? "(none)"}`,
    );
    console.log(`# ${refusals[refusals.length - 1]}`);
  }
  return response;
}

/** Forms the server refused with 403, explained (see `submit`). */
const refusals = [];
/** The Referrer-Policy of the last console page loaded (it decides the Origin of its forms). */
let lastPolicy = null;

/** Waits until `selector`'s text contains `text`; fails showing what it holds instead. */
async function waitForText(page, selector, text, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let seen = "(not on the page)";
  while (Date.now() < deadline) {
    const el = await page.$(selector);
    if (el) {
      seen = (await el.textContent()) ?? "";
      if (seen.includes(text)) return seen;
    }
    await page.waitForTimeout(100);
  }
  const problem = (await page.$("#boot-error:not([hidden])"))
    ? ` (the page says: ${await page.textContent("#boot-error")})`
    : "";
  assert.fail(`${selector} never contained "${text}" on ${page.url()}; it holds "${seen.trim()}"${problem}`);
}

async function h1(page) {
  return ((await page.textContent("h1")) ?? "").trim();
}

/** Signs the admin context in with the admin key, unless it is already. */
async function signedInPage() {
  const page = await admin.newPage();
  await page.goto(`${BASE}/console`);
  if (path(page) === "/console/sign-in") {
    await page.fill("#admin_key", ADMIN_KEY);
    await submit(page, () => page.click("form#sign-in button[type=submit]"));
  }
  assert.equal(path(page), "/console", `signing in with the admin key ended on ${page.url()} ${refusals.at(-1) ?? ""}`);
  return page;
}

/** Inputs, selects and textareas (not hidden) with no accessible label. */
async function unlabelled(page) {
  return page.evaluate(() => {
    const missing = [];
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden") continue;
      const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      const named = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
      const wrapped = el.closest("label");
      if (!byFor && !named && !wrapped) {
        missing.push(el.outerHTML.slice(0, 160));
      }
    }
    return missing;
  });
}

/** What shows focus on `selector`: its outline, box shadow and border colour. */
async function look(page, selector) {
  return page.$eval(selector, (el) => {
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
      ? `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`
      : "none";
    return `${outline} | ${style.boxShadow} | ${style.borderColor}`;
  });
}

/** First contentful paint of the page just loaded, in ms since navigation start. */
async function firstContentfulPaint(page) {
  for (let i = 0; i < 40; i++) {
    const fcp = await page.evaluate(
      () => performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint")?.startTime,
    );
    if (fcp !== undefined) return fcp;
    await page.waitForTimeout(50);
  }
  return null;
}

// ---- 1. signed out → sign in ---------------------------------------------------------------

test("1. signed-out pages redirect to sign-in; a wrong key is named beside the field; the right key opens the Overview", async () => {
  const page = await admin.newPage();
  await page.goto(`${BASE}/console/order-types`);
  assert.equal(path(page), "/console/sign-in", `a signed-out /console/order-types ended on ${page.url()}`);
  assert.equal(new URL(page.url()).searchParams.get("next"), "/console/order-types", "the sign-in page keeps where to go back to");

  await page.goto(`${BASE}/console/sign-in`);
  const label = (await page.textContent('label[for="admin_key"]')) ?? "";
  assert.match(label, /admin key/i, "the admin key field has a label");
  assert.equal(await page.getAttribute("#admin_key", "type"), "password");
  await shot(page, "sign-in");

  await page.fill("#admin_key", "tak_0000000000000000000000000000000000000000");
  const refused = await submit(page, () => page.click("form#sign-in button[type=submit]"));
  assert.notEqual(refused?.status(), 403, `the sign-in form itself was refused: ${refusals.at(-1)}`);
  assert.equal(refused?.status(), 401, "a wrong admin key answers 401");
  const error = ((await page.textContent("#admin_key-error")) ?? "").trim();
  assert.ok(error.length > 0, "the error beside the admin key field says what is wrong");
  assert.equal(await page.getAttribute("#admin_key", "aria-describedby"), "admin_key-error");
  console.log(`# wrong admin key: "${error}"`);
  await shot(page, "sign-in-wrong-key");

  await page.fill("#admin_key", ADMIN_KEY);
  await submit(page, () => page.click("form#sign-in button[type=submit]"));
  assert.equal(path(page), "/console", `signing in ended on ${page.url()}`);
  assert.equal(await h1(page), "Overview");
  await shot(page, "overview");
  await page.close();
});

// ---- 2. upload ---------------------------------------------------------------------------

test("2. uploading the grocery plugin through the drop zone shows its size, SHA-256 and version", async () => {
  const page = await signedInPage();
  await page.goto(`${BASE}/console/order-types`);
  assert.equal(await h1(page), "Order types & plugins");
  assert.ok(await page.$("[data-upload] input#wasm-file"), "the drop zone has a file input #wasm-file");
  await shot(page, "order-types");

  const bytes = readFileSync(GROCERY_WASM);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const size = statSync(GROCERY_WASM).size;
  await Promise.all([
    page.waitForURL(/\/console\/plugins\/[^/?#]+$/, { timeout: 60_000 }),
    page.setInputFiles("#wasm-file", GROCERY_WASM),
  ]).catch(async (e) => {
    const status = ((await page.textContent("#upload-status").catch(() => "")) ?? "").trim();
    assert.fail(`uploading ${basename(GROCERY_WASM)} did not lead to its plugin page (status: "${status}"): ${e.message}`);
  });
  found.pluginPath = path(page);
  found.pluginId = found.pluginPath.split("/").pop();
  const facts = (await page.textContent("dl.facts")) ?? "";
  assert.ok(facts.includes(sha256), `the plugin page shows the SHA-256 ${sha256}:\n${facts}`);
  assert.ok(facts.includes(String(size)), `the plugin page shows the size (${size} bytes):\n${facts}`);
  assert.match(facts, /Version\s*\d+\.\d+\.\d+/, `the plugin page shows the version:\n${facts}`);
  assert.ok(facts.includes("grocery"), "the plugin page names the order type");
  await shot(page, "plugin");
  await page.close();
});

// ---- 3. activate through the schema form ----------------------------------------------------

test("3. activating with an invalid config names the field; a valid one activates", async () => {
  assert.ok(found.pluginPath, "needs the plugin page of flow 2");
  const page = await signedInPage();
  await page.goto(BASE + found.pluginPath);
  assert.ok(await page.$("form#activate"), "the plugin page has the activation form #activate");
  for (const field of ["bag_fee", "small_basket_fee", "small_basket_threshold"]) {
    assert.ok(await page.$(`#activate [data-field=${field}] #config-${field}`), `the form has a control for ${field}, from the schema`);
  }

  await page.fill("#config-bag_fee", "ten cents");
  const refused = await submit(page, () => page.click("form#activate button[type=submit]"));
  assert.equal(refused?.status(), 422, "an invalid config answers 422");
  const error = ((await page.textContent("[data-field=bag_fee] .field-error").catch(() => null)) ?? "").trim();
  assert.ok(error.includes("bag_fee"), `the error beside bag_fee names it; it says "${error}"`);
  assert.equal(await page.getAttribute("#config-bag_fee", "aria-invalid"), "true");
  console.log(`# invalid bag_fee: "${error}"`);
  await shot(page, "activate-invalid");

  await page.fill("#config-bag_fee", "");
  await page.fill("#config-small_basket_fee", "4.50");
  let answer = await submit(page, () => page.click("form#activate button[type=submit]"));
  if (answer?.status() === 409 && (await page.$("#activate input[name=force]"))) {
    const failures = ((await page.textContent(".notice.error").catch(() => "")) ?? "").trim();
    console.log(`# REPORT: activation was refused by the check on recent carts, forced: ${failures}`);
    await page.check("#activate input[name=force]");
    await page.fill("#config-bag_fee", "");
    await page.fill("#config-small_basket_fee", "4.50");
    answer = await submit(page, () => page.click("form#activate button[type=submit]"));
  }
  assert.equal(path(page), "/console/order-types", `a valid activation ended on ${page.url()} (${answer?.status()})`);
  const notice = ((await page.textContent("p.notice.success")) ?? "").trim();
  assert.match(notice, /grocery/, `the success notice names the order type: "${notice}"`);
  assert.ok(
    ((await page.textContent("section[data-order-type=grocery]")) ?? "").includes("4.50"),
    "the order type's config in use shows the new fee",
  );
  found.activated = true;
  await shot(page, "activated");
  await page.close();
});

// ---- 4. the demo storefront follows activation and rollback ----------------------------------

test("4. on /demo milk pays the new small-basket fee; after a rollback in the console, the old one", async () => {
  assert.ok(found.activated, "needs the activation of flow 3");
  const demo = await admin.newPage();
  found.demo = demo;
  const loaded = await demo.goto(`${BASE}/demo`);
  assert.equal(loaded?.status(), 200, `/demo answered ${loaded?.status()}: the server has no demo tenant (is --demo wired to the demo slot?)`);
  await demo.waitForSelector("[data-testid=add-MILK-1L]:not([disabled])");
  await shot(demo, "demo");
  await demo.click("[data-testid=add-MILK-1L]");
  await waitForText(demo, "[data-testid=cart]", "MILK");
  const fees = await waitForText(demo, "[data-testid=fees]", "4.50");
  console.log(`# demo fees after activation: ${fees.replace(/\s+/g, " ").trim()}`);
  await shot(demo, "demo-cart");

  const page = await signedInPage();
  await page.goto(`${BASE}/console/order-types`);
  const rollback = "section[data-order-type=grocery] form[action$='/rollback'] button[type=submit]";
  assert.ok(await page.$(rollback), "the grocery section has a Roll back button");
  let asked = null;
  page.once("dialog", (d) => {
    asked = d.message();
    d.accept();
  });
  await submit(page, () => page.click(rollback));
  assert.ok(asked, "rolling back asks for confirmation first");
  assert.equal(path(page), "/console/order-types", `the rollback ended on ${page.url()}`);
  const notice = ((await page.textContent("p.notice.success")) ?? "").trim();
  assert.match(notice, /rolled back/i, `the notice says it rolled back: "${notice}"`);
  await shot(page, "rolled-back");
  await page.close();

  await demo.reload();
  const after = await waitForText(demo, "[data-testid=fees]", "2.99");
  assert.ok(!after.includes("4.50"), `the new fee is gone after the rollback: ${after}`);
  console.log(`# demo fees after rollback: ${after.replace(/\s+/g, " ").trim()}`);
});

// ---- 5. CSRF ------------------------------------------------------------------------------

test("5. a form post without the session's CSRF token, or from another origin, is refused", async () => {
  const page = await signedInPage();
  await page.goto(`${BASE}/console/order-types`);
  const shown = (await page.textContent("main")) ?? "";
  const csrf = await page.getAttribute("form.sign-out input[name=csrf]", "value");
  assert.ok(csrf, "the page carries the session's CSRF token");

  const url = `${BASE}/console/order-types/grocery/rollback`;
  const tokenless = await admin.request.post(url, { form: {}, maxRedirects: 0 });
  assert.equal(tokenless.status(), 403, "a post without the CSRF token is refused");
  const forged = await admin.request.post(url, {
    form: { csrf },
    headers: { Origin: "http://evil.example" },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403, "a post with the right token from another origin is refused");
  const crossSite = await admin.request.post(url, {
    form: { csrf },
    headers: { "Sec-Fetch-Site": "cross-site" },
    maxRedirects: 0,
  });
  assert.equal(crossSite.status(), 403, "a post the browser marks cross-site is refused");

  await page.reload();
  const now = (await page.textContent("main")) ?? "";
  assert.equal(now, shown, "nothing changed");
  await page.close();
});

// ---- 6. the banner's one-click link --------------------------------------------------------

test("6. the banner's one-click link signs in to the demo tenant with one button", async () => {
  assert.ok(DEMO_LINK, "the `serve --demo` banner printed no one-click console link (/console/sign-in/demo?token=…)");
  const context = await newContext(WIDE);
  try {
    const page = await context.newPage();
    const shown = await page.goto(DEMO_LINK);
    assert.equal(shown?.status(), 200, `the demo link answered ${shown?.status()}`);
    const buttons = await page.$$("main button");
    assert.equal(buttons.length, 1, "one button");
    await shot(page, "demo-sign-in");
    await submit(page, () => buttons[0].click());
    assert.equal(path(page), "/console", `the demo link ended on ${page.url()}`);
    assert.equal(await h1(page), "Overview");
    assert.match((await page.textContent("header")) ?? "", /Demo Store/);
  } finally {
    await context.close();
  }
});

// ---- 7. the platform operator -----------------------------------------------------------------

test("7. the operator signs in, sees the demo tenant, and creates a tenant whose keys are shown once", async () => {
  const context = await newContext(WIDE);
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/console/sign-in`);
    await page.click("details summary");
    assert.match((await page.textContent('label[for="operator_token"]')) ?? "", /operator token/i);
    await page.fill("#operator_token", OPERATOR_TOKEN);
    await submit(page, () => page.click("form#operator-sign-in button[type=submit]"));
    assert.equal(path(page), "/console/tenants", `the operator's sign-in ended on ${page.url()}`);
    assert.match((await page.textContent("main")) ?? "", /Demo Store/, "the tenants page lists the demo tenant");
    await shot(page, "tenants");

    const name = `E2E Shop ${Date.now()}`;
    await page.fill("#tenant-name", name);
    await page.selectOption("#tenant-currency", "EUR");
    const created = await submit(page, () => page.click("form[action='/console/tenants'] button[type=submit]"));
    assert.equal(created?.status(), 201);
    const credentials = (await page.textContent("[data-testid=tenant-credentials]")) ?? "";
    assert.match(credentials, /tak_[0-9a-f]+/, "the new admin key is shown");
    assert.match(credentials, /tsk_[0-9a-f]+/, "the new storefront key is shown");
    assert.match((await page.textContent("table")) ?? "", new RegExp(name));
    await shot(page, "tenant-created");

    // Shown once: the list page again has no keys.
    await page.goto(`${BASE}/console/tenants`);
    assert.equal(await page.$("[data-testid=tenant-credentials]"), null, "the keys are not shown again");
    assert.doesNotMatch((await page.textContent("main")) ?? "", /tak_[0-9a-f]{16}/);
  } finally {
    await context.close();
  }
});

// ---- 8. keyboard and labels ---------------------------------------------------------------------

test("8. the sign-in page works from the keyboard with visible focus; every control is labelled", async () => {
  const context = await newContext(WIDE);
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/console/sign-in`);
    // Start from the top of the page, as a person arriving there does (a click on the page's
    // corner moves the keyboard's starting point; the autofocus is left behind).
    await page.mouse.click(2, 2);
    // How the two controls look unfocused: focus must change that visibly.
    const unfocused = {
      admin_key: await look(page, "#admin_key"),
      submit: await look(page, "form#sign-in button[type=submit]"),
    };
    const reached = new Map();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      const focus = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const inSignIn = el.closest("form#sign-in");
        const key = el.id === "admin_key"
          ? "admin_key"
          : inSignIn && el.matches("button[type=submit]")
            ? "submit"
            : el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
        return { key, focusVisible: el.matches(":focus-visible") };
      });
      if (focus) focus.look = await look(page, ":focus");
      if (focus && !reached.has(focus.key)) reached.set(focus.key, focus);
      if (focus?.key === "admin_key") await page.keyboard.type(ADMIN_KEY);
      if (focus?.key === "submit" && reached.has("admin_key")) {
        await shot(page, "sign-in-keyboard-focus");
        break;
      }
    }
    assert.ok(reached.has("admin_key"), `Tab reaches the admin key field (reached: ${[...reached.keys()].join(", ")})`);
    assert.ok(reached.has("submit"), `Tab reaches the sign-in button (reached: ${[...reached.keys()].join(", ")})`);
    for (const key of ["admin_key", "submit"]) {
      const { focusVisible, look: seen } = reached.get(key);
      assert.ok(focusVisible, `${key} matches :focus-visible when reached by Tab`);
      assert.notEqual(seen, unfocused[key], `${key} looks the same focused and unfocused (outline | box-shadow | border: ${seen})`);
    }
    // Enter on the focused button signs in.
    await submit(page, () => page.keyboard.press("Enter"));
    assert.equal(path(page), "/console", `Enter on the sign-in button ended on ${page.url()}`);

    const checked = ["/console/sign-in", "/console/order-types"];
    if (found.pluginPath) checked.push(found.pluginPath);
    checked.push("/demo");
    const missing = [];
    for (const where of checked) {
      await page.goto(BASE + where);
      if (where === "/demo") await page.waitForSelector("[data-testid=add-MILK-1L]").catch(() => {});
      for (const html of await unlabelled(page)) missing.push(`${where}: ${html}`);
    }
    assert.ok(found.pluginPath, "needs the plugin page of flow 2 to check its form");
    assert.deepEqual(missing, [], `controls without <label for>, aria-label or a wrapping label:\n${missing.join("\n")}`);
  } finally {
    await context.close();
  }
});

// ---- narrow screens ---------------------------------------------------------------------------

test("8b. the main pages fit a 375 px screen", async () => {
  const context = await newContext(NARROW, { storageState: await admin.storageState() });
  try {
    const page = await context.newPage();
    const overflowing = [];
    for (const [where, name] of [
      ["/console", "overview-375"],
      ["/console/order-types", "order-types-375"],
      ...(found.pluginPath ? [[found.pluginPath, "plugin-375"]] : []),
      ["/demo", "demo-375"],
    ]) {
      await page.goto(BASE + where);
      assert.equal(path(page), where, `at 375 px ${where} ended on ${page.url()}`);
      if (where === "/demo") await page.waitForSelector("[data-testid=add-MILK-1L]").catch(() => {});
      await shot(page, name);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > NARROW.width + 1) overflowing.push(`${where} is ${width} px wide`);
    }
    assert.deepEqual(overflowing, [], "pages scroll sideways at 375 px");
  } finally {
    await context.close();
  }
});

// ---- 8c. the other sections -----------------------------------------------------------------

test("8c. every section opens with its controls labelled; config shows what changes before saving; a bad price is named beside the field", async () => {
  const page = await signedInPage();
  for (const [where, title, name] of [
    ["/console/catalog", "Catalog", "catalog"],
    ["/console/inventory", "Inventory", "inventory"],
    ["/console/carts", "Carts", "carts"],
    ["/console/checkouts", "Checkouts", "checkouts"],
    ["/console/orders", "Orders", "orders"],
    ["/console/keys", "API keys", "keys"],
    ["/console/config", "Configuration", "config"],
  ]) {
    const answer = await page.goto(BASE + where);
    assert.equal(answer?.status(), 200, `${where} answered ${answer?.status()}`);
    assert.equal(await h1(page), title, `${where} is the ${title} page`);
    assert.deepEqual(await unlabelled(page), [], `every control on ${where} has a label`);
    await shot(page, name);
  }

  // A cart of the demo shop (flow 4 made one), as support sees it.
  await page.goto(`${BASE}/console/carts`);
  const cartLink = await page.$("[data-testid=carts-table] a[href^='/console/carts/']");
  if (cartLink) {
    await Promise.all([page.waitForNavigation(), cartLink.click()]);
    assert.ok(await page.$("[data-testid=cart-lines]"), `the cart page lists its lines: ${page.url()}`);
    assert.ok(await page.$("[data-testid=cart-events]"), `the cart page shows its event timeline: ${page.url()}`);
    await shot(page, "cart-detail");
  }

  // Configuration: out of bounds is named beside the field, nothing saved; in bounds shows
  // the change, and saving applies it.
  await page.goto(`${BASE}/console/config`);
  await page.fill("#config-max_lines", "9999");
  await submit(page, () => page.click("form#config button[type=submit]"));
  const lineError = ((await page.textContent("[data-field=max_lines] .field-error")) ?? "").trim();
  assert.match(lineError, /max_lines/, `the bound is named beside max_lines: "${lineError}"`);
  await page.fill("#config-max_lines", "120");
  await submit(page, () => page.click("form#config button[type=submit]"));
  const diff = ((await page.textContent("[data-testid=config-diff]")) ?? "").replace(/\s+/g, " ");
  assert.match(diff, /max_lines\s*100\s*120/, `the preview shows the change: "${diff}"`);
  await shot(page, "config-diff");
  await submit(page, () => page.click("form#config-confirm button[type=submit]"));
  assert.equal(path(page), "/console/config", `saving ended on ${page.url()}`);
  assert.equal(await page.inputValue("#config-max_lines"), "120", "the saved value shows");

  // Catalog: a negative price is refused beside the field.
  await page.goto(`${BASE}/console/catalog/MILK-1L`);
  await page.fill("form#item-edit [name=price]", "-1.00");
  const refused = await submit(page, () => page.click("form#item-edit button[type=submit]"));
  assert.equal(refused?.status(), 422, "a negative price is refused");
  const priceError = ((await page.textContent("form#item-edit .field-error")) ?? "").trim();
  assert.match(priceError, /negative/i, `the price error says why: "${priceError}"`);
  await page.close();
});

// ---- 9. sign out ----------------------------------------------------------------------------

test("9. signing out returns to the sign-in page, and /console asks to sign in again", async () => {
  found.demo?.close().catch(() => {});
  const page = await signedInPage();
  await submit(page, () => page.click("form.sign-out button"));
  assert.equal(path(page), "/console/sign-in", `signing out ended on ${page.url()}`);
  await page.goto(`${BASE}/console`);
  assert.equal(path(page), "/console/sign-in", `after signing out /console ended on ${page.url()}`);
  await page.close();
});

// ---- measurements ---------------------------------------------------------------------------

/**
 * Loads `url` in a fresh context (empty cache; `storageState` carries a session) and answers
 * the bytes on the wire per request and the first contentful paint.
 */
async function measure(url, storageState) {
  const context = await newContext(WIDE, storageState ? { storageState } : {});
  try {
    const page = await context.newPage();
    const sizes = [];
    page.on("requestfinished", (req) => {
      sizes.push(
        req.sizes().then((s) => ({
          type: req.resourceType(),
          path: new URL(req.url()).pathname,
          wire: s.responseBodySize + s.responseHeadersSize,
          body: s.responseBodySize,
        })),
      );
    });
    const started = Date.now();
    await page.goto(url, { waitUntil: "load" });
    const fcp = await firstContentfulPaint(page);
    const ready = url.endsWith("/demo")
      ? await page.waitForSelector("[data-testid=add-MILK-1L]").then(() => Date.now() - started, () => null)
      : null;
    await page.waitForTimeout(200);
    const requests = await Promise.all(sizes);
    const pageBytes = requests.filter((r) => ["document", "stylesheet", "script"].includes(r.type));
    return {
      landed: new URL(page.url()).pathname,
      fcp,
      ready,
      requests,
      wire: pageBytes.reduce((n, r) => n + r.wire, 0),
      bodies: pageBytes.reduce((n, r) => n + r.body, 0),
    };
  } finally {
    await context.close();
  }
}

test("10. page weight and time to first render on loopback (printed)", async () => {
  const context = await newContext(WIDE);
  let session;
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/console/sign-in`);
    await page.fill("#admin_key", ADMIN_KEY);
    await submit(page, () => page.click("form#sign-in button[type=submit]"));
    session = await context.storageState();
  } finally {
    await context.close();
  }
  for (const [url, state] of [[`${BASE}/console`, session], [`${BASE}/demo`, undefined]]) {
    const m = await measure(url, state);
    const where = new URL(url).pathname;
    assert.equal(m.landed, where, `measuring ${where} ended on ${m.landed}`);
    console.log(
      `# ${where}: ${m.wire} bytes on the wire for HTML + CSS + JS (${m.bodies} bytes of bodies, headers aside), first contentful paint ${m.fcp?.toFixed(0)} ms on loopback` +
        (m.ready !== null ? `, catalog shown after ${m.ready} ms` : ""),
    );
    for (const r of m.requests) console.log(`#   ${r.type} ${r.path}: ${r.body} B body, ${r.wire} B with headers`);
    assert.ok(m.fcp !== null, `Chromium reported a first contentful paint for ${where}`);
  }
});

test("11. no page had a script error or a content-security-policy violation", () => {
  assert.deepEqual(pageProblems, [], `script errors and policy violations:\n${pageProblems.join("\n")}`);
});
