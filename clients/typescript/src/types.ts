// The shapes a storefront handles, named in the shopper's language and taken from the
// operations that answer them, so a regenerated schema changes them with the server.

import type { JsonOf, Paths } from "./contract.js";

/** The assembled cart, exactly as `GET /v1/carts/{cart_id}` shows it. */
export type Cart = JsonOf<Paths["/v1/carts/{cart_id}"]["get"]>;
/** One line of a cart. */
export type Line = Cart["lines"][number];
/** The answer to creating a cart: a guest's carries its `cart_token`, once. */
export type CreatedCart = JsonOf<Paths["/v1/carts"]["post"]>;
/** The answer to adding a line; `replaced` says what `replace_incompatible` removed. */
export type CartAfterAdd = JsonOf<Paths["/v1/carts/{cart_id}/lines"]["post"]>;
/** What `addLine` sends: `{ sku, quantity, attributes?, seller?, fulfillment?, replace_incompatible? }`. */
export type NewLine = NonNullable<
  Paths["/v1/carts/{cart_id}/lines"]["post"]["requestBody"]
>["content"]["application/json"];
/** The request context passed to order-type plugins (flat string pairs). */
export type CartContext = NonNullable<
  Paths["/v1/carts/{cart_id}/context"]["put"]["requestBody"]
>["content"]["application/json"];
/** The merged cart, each line's outcome and where the guest cart stands. */
export type MergeResult = JsonOf<Paths["/v1/carts/{cart_id}/merge"]["post"]>;
/** What a merge did to one line key (`added`, `summed`, `capped`, …). */
export type MergeOutcome = MergeResult["outcomes"][number];
/** `sum`, `latest`, `keep_target`, `keep_source` or `review`. */
export type MergePolicy = NonNullable<
  NonNullable<
    Paths["/v1/carts/{cart_id}/merge"]["post"]["requestBody"]
  >["content"]["application/json"]["policy"]
>;
/** A binding, immutable checkout snapshot. */
export type Checkout = JsonOf<Paths["/v1/checkouts/{checkout_id}"]["get"]>;
/** An order, made from a checkout snapshot exactly once. */
export type Order = JsonOf<Paths["/v1/orders/{order_id}"]["get"]>;
/** A page of the storefront catalog. */
export type CatalogPage = JsonOf<Paths["/v1/catalog/items"]["get"]>;
/** One item of the storefront catalog. */
export type CatalogItem = JsonOf<Paths["/v1/catalog/items/{sku}"]["get"]>;
