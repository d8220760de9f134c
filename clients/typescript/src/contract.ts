// The API as this package calls it: the generated `paths`, plus the storefront catalog that
// SPEC §13 promises and `openapi.json` may not list yet. Each stand-in below is dropped by
// the `Omit` as soon as the regenerated schema has the path, so the generated types win and
// nothing here needs deleting for the package to follow the spec.

import type { components, paths as GeneratedPaths } from "./generated/schema.js";

/** One item of the storefront catalog, as `GET /v1/catalog/items/{sku}` answers it. */
interface StorefrontCatalogItem {
  sku: string;
  title?: string | null;
  /** Decimal string in `currency`. */
  price: string;
  currency: string;
  category: string;
  order_type?: string | null;
  seller?: string | null;
  attributes: { [name: string]: string };
  /** `in_stock`, `low_stock`, `out_of_stock` or `untracked`. */
  availability: string;
}

/** A page of `GET /v1/catalog/items`; `next_cursor` is null on the last page. */
interface StorefrontCatalogPage {
  items: StorefrontCatalogItem[];
  next_cursor?: string | null;
}

type NoParameters = { query?: never; header?: never; path?: never; cookie?: never };
type NoOtherMethods = {
  put?: never;
  post?: never;
  delete?: never;
  options?: never;
  head?: never;
  patch?: never;
  trace?: never;
};
type JsonAnswer<T> = {
  200: { headers: { [name: string]: unknown }; content: { "application/json": T } };
  default: {
    headers: { [name: string]: unknown };
    content: { "application/problem+json": components["schemas"]["Problem"] };
  };
};

interface StorefrontCatalogPaths {
  "/v1/catalog/items": {
    parameters: NoParameters;
    get: {
      parameters: {
        query?: { category?: string; q?: string; cursor?: string; limit?: number };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: JsonAnswer<StorefrontCatalogPage>;
    };
  } & NoOtherMethods;
  "/v1/catalog/items/{sku}": {
    parameters: NoParameters;
    get: {
      parameters: { query?: never; header?: never; path: { sku: string }; cookie?: never };
      requestBody?: never;
      responses: JsonAnswer<StorefrontCatalogItem>;
    };
  } & NoOtherMethods;
}

/** Every path this package calls, typed from `openapi.json` wherever it has them. */
export type Paths = GeneratedPaths & Omit<StorefrontCatalogPaths, keyof GeneratedPaths>;

/** The JSON body of an operation's `200` (or else `201`) answer. */
export type JsonOf<Operation> = Operation extends {
  responses: { 200: { content: { "application/json": infer Body } } };
}
  ? Body
  : Operation extends { responses: { 201: { content: { "application/json": infer Body } } } }
    ? Body
    : never;
