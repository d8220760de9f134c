// A fresh tenant per test file, set up through plain fetch: operator and admin calls are not
// the storefront client's business.

import { createHmac, randomUUID } from "node:crypto";
import type { TestEnv } from "./env.js";

export interface TestTenant {
  url: string;
  tenantId: string;
  storefrontKey: string;
  adminKey: string;
  customerTokenSecret: string;
}

/** The catalog every test tenant gets: two grocery and two food items, 50 of each. */
export const CATALOG = {
  apple: { price: "2.50", category: "grocery", title: "Apple" },
  bread: { price: "1.80", category: "grocery", title: "Bread" },
  pizza: { price: "9.00", category: "food", title: "Pizza margherita" },
  salad: { price: "6.50", category: "food", title: "Green salad" },
} as const;

export type Sku = keyof typeof CATALOG;

export interface TenantSetup {
  /** Exact origins allowed to call the storefront API from a browser. */
  corsAllowedOrigins?: string[];
}

/** Creates a tenant with the test catalog, stock and order-type mapping. */
export async function storefrontTenant(env: TestEnv, setup: TenantSetup = {}): Promise<TestTenant> {
  const created = await call<{
    tenant_id: string;
    storefront_key: string;
    admin_key: string;
    customer_token_secret: string;
  }>(env.url, env.operatorToken, "POST", "/v1/platform/tenants", {
    name: `ts-client-${randomUUID().slice(0, 8)}`,
    currency: "EUR",
  });
  const tenant: TestTenant = {
    url: env.url,
    tenantId: created.tenant_id,
    storefrontKey: created.storefront_key,
    adminKey: created.admin_key,
    customerTokenSecret: created.customer_token_secret,
  };
  for (const [sku, item] of Object.entries(CATALOG)) {
    await call(tenant.url, tenant.adminKey, "PUT", `/v1/admin/catalog/items/${sku}`, item);
    await call(tenant.url, tenant.adminKey, "PUT", `/v1/admin/inventory/${sku}`, { on_hand: 50 });
  }
  await patchConfig(tenant, {
    category_order_types: { grocery: "grocery", food: "food" },
    ...(setup.corsAllowedOrigins ? { cors_allowed_origins: setup.corsAllowedOrigins } : {}),
  });
  return tenant;
}

/** `PATCH /v1/admin/config` with `If-Match` set to the config's current ETag. */
export async function patchConfig(tenant: TestTenant, patch: Record<string, unknown>): Promise<void> {
  const current = await fetch(`${tenant.url}/v1/admin/config`, {
    headers: { Authorization: `Bearer ${tenant.adminKey}` },
  });
  await expectOk(current, "GET /v1/admin/config");
  const etag = current.headers.get("ETag");
  if (etag === null) throw new Error("GET /v1/admin/config answered no ETag");
  await call(tenant.url, tenant.adminKey, "PATCH", "/v1/admin/config", patch, { "If-Match": etag });
}

/** An HS256 customer token `{sub, exp}` signed with the tenant's customer-token secret. */
export function customerToken(tenant: TestTenant, sub: string, ttlSeconds = 3600): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({
    sub,
    exp: Math.floor(Date.now() / 1000) + ttlSeconds,
  })}`;
  const signature = createHmac("sha256", tenant.customerTokenSecret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

async function call<T = unknown>(
  baseUrl: string,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await expectOk(response, `${method} ${path}`);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (!response.ok) {
    throw new Error(`set-up call ${what} answered ${response.status}: ${await response.clone().text()}`);
  }
}
