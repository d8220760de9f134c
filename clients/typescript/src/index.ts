// @trolley/client: the storefront side of Trolley. The generated `openapi-fetch` client does
// the typed HTTP; this layer adds what every storefront would otherwise write by hand: cart
// tokens and customer tokens on the right calls, ETags kept per cart (`If-Match` on writes,
// `If-None-Match` on reads), an `Idempotency-Key` per write that its retries reuse, typed
// errors, and live cart sync.

import createClient, { type Client } from "openapi-fetch";
import type { Paths } from "./contract.js";
import { TrolleyError, errorFromAnswer } from "./errors.js";
import { type RetryPolicy, defaultRetryPolicy, newIdempotencyKey, retryDelay, sleep } from "./idempotency.js";
import { KnownCarts } from "./known-carts.js";
import { type CartListener, type SubscribeOptions, type Subscription, subscribeToEvents } from "./stream.js";
import type {
  Cart,
  CartAfterAdd,
  CartContext,
  CatalogItem,
  CatalogPage,
  Checkout,
  CreatedCart,
  MergePolicy,
  MergeResult,
  NewLine,
  Order,
} from "./types.js";

export type { Paths } from "./contract.js";
export type { components, operations, paths } from "./generated/schema.js";
export {
  TrolleyError,
  isTrolleyError,
  type Problem,
  type ProblemCode,
  type ProblemDocument,
  type TrolleyErrorCode,
  type UnexpectedResponseCode,
} from "./errors.js";
export { newIdempotencyKey, type RetryPolicy } from "./idempotency.js";
export {
  EventStreamParser,
  type CartListener,
  type ServerSentEvent,
  type SubscribeOptions,
  type Subscription,
} from "./stream.js";
export type * from "./types.js";

/** Options of {@link createTrolley}. */
export interface TrolleyOptions {
  /** Where Trolley answers, e.g. `https://carts.example.com`. */
  baseUrl: string;
  /** The tenant's storefront key, sent as `X-Api-Key`. */
  storefrontKey: string;
  /** A `fetch` to use instead of the global one (tests, instrumentation, a proxy agent). */
  fetch?: typeof globalThis.fetch;
  /** Retries of failed calls; each retry of a write reuses its `Idempotency-Key`. */
  retry?: Partial<RetryPolicy>;
  /**
   * Send `If-Match` with the last ETag seen for the cart on every cart write (default
   * `true`): a write based on an outdated cart answers `412 precondition_failed` instead of
   * applying. A call's own `ifMatch` overrides it.
   */
  ifMatch?: boolean;
}

/** Options every write takes. */
export interface WriteOptions {
  /**
   * `If-Match` for this call: an ETag, or `false` to send none. By default the last ETag the
   * client saw for the cart.
   */
  ifMatch?: string | false;
  /** Your own `Idempotency-Key` (e.g. one kept across a page reload); a fresh one by default. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Options of a line write that can insist on the line as the shopper saw it. */
export interface LineWriteOptions extends WriteOptions {
  /** The `line_version` the shopper saw; a stale one answers `409 line_conflict`. */
  expectedLineVersion?: number;
}

/** What {@link Trolley.mergeGuestCart} merges. */
export interface GuestCartMerge {
  /** The guest cart to absorb. */
  sourceCartId: string;
  /** Its cart token; by default the one this client kept when it created the cart. */
  sourceCartToken?: string;
  /** The tenant's default policy when omitted. */
  policy?: MergePolicy;
}

/** Filters of {@link Trolley.listItems}. */
export interface CatalogQuery {
  category?: string;
  /** Free-text search. */
  q?: string;
  /** `next_cursor` of the previous page. */
  cursor?: string;
  limit?: number;
}

/** Creates a storefront client. */
export function createTrolley(options: TrolleyOptions): Trolley {
  return new Trolley(options);
}

interface Shared {
  readonly options: TrolleyOptions;
  readonly http: Client<Paths>;
  readonly known: KnownCarts;
  readonly retry: RetryPolicy;
  readonly fetch: typeof globalThis.fetch;
}

/** Set by `withCustomer` for the constructor it calls next, so sharing stays private. */
let joiningCustomer: { shared: Shared; customerToken: string } | undefined;

/** Headers and behaviour of one call. */
interface Plan {
  /** The cart whose token to send and whose ETag to use. */
  cartId?: string | undefined;
  /** A write: gets an `Idempotency-Key` (and `If-Match` when `ifMatch`). */
  write?: WriteOptions;
  /** Send `If-Match` (a cart write). */
  ifMatch?: boolean;
  /** Send `If-None-Match` with the kept ETag (a cart read). */
  ifNoneMatch?: boolean;
  /** Send no customer token (the catalog needs only the storefront key). */
  anonymous?: boolean;
  signal?: AbortSignal | undefined;
}

type Attempt<T> = (
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
) => Promise<{ data?: T; error?: unknown; response: Response }>;

/**
 * A storefront client. Guests: {@link createCart} keeps the cart's token. Signed-in
 * customers: {@link withCustomer}. Both share what this client has learned about carts.
 */
export class Trolley {
  readonly #shared: Shared;
  readonly #customerToken: string | undefined;

  constructor(options: TrolleyOptions) {
    const joining = joiningCustomer;
    joiningCustomer = undefined;
    if (joining) {
      this.#shared = joining.shared;
      this.#customerToken = joining.customerToken;
      return;
    }
    const fetchImpl: typeof globalThis.fetch = (input, init) =>
      (options.fetch ?? globalThis.fetch)(input, init);
    this.#shared = {
      options,
      http: createClient<Paths>({ baseUrl: options.baseUrl, fetch: fetchImpl }),
      known: new KnownCarts(),
      retry: { ...defaultRetryPolicy, ...options.retry },
      fetch: fetchImpl,
    };
    this.#customerToken = undefined;
  }

  /**
   * The same client acting for a signed-in customer (`Authorization: Bearer <jwt>`). It
   * shares the cart tokens and ETags this one has kept, so a guest cart created before
   * sign-in can be merged with {@link mergeGuestCart}.
   */
  withCustomer(customerToken: string): Trolley {
    joiningCustomer = { shared: this.#shared, customerToken };
    return new Trolley(this.#shared.options);
  }

  /** Hands back a guest cart's token kept across a reload, to act on that cart again. */
  rememberCartToken(cartId: string, cartToken: string): void {
    this.#shared.known.setToken(cartId, cartToken);
  }

  /** The token of a guest cart this client created or was given. */
  cartToken(cartId: string): string | undefined {
    return this.#shared.known.token(cartId);
  }

  /** The last ETag this client saw for the cart. */
  etag(cartId: string): string | undefined {
    return this.#shared.known.etag(cartId);
  }

  /** Drops what this client kept about a cart (its token, ETag and copy). */
  forgetCart(cartId: string): void {
    this.#shared.known.forget(cartId);
  }

  /**
   * Creates a cart: a guest cart (its `cart_token` is kept for later calls), or for a
   * customer their cart (the live one if they have it).
   */
  async createCart(options: Omit<WriteOptions, "ifMatch"> = {}): Promise<CreatedCart> {
    const { data, response } = await this.#call(
      { write: options, signal: options.signal },
      (headers, signal) => this.#shared.http.POST("/v1/carts", { headers, signal }),
    );
    const cart = required(data, response);
    if (cart.cart_token) this.#shared.known.setToken(cart.cart_id, cart.cart_token);
    this.#shared.known.remember(cart, response.headers.get("ETag"));
    return cart;
  }

  /**
   * The cart. Sends `If-None-Match` with the last ETag seen for it; when the server answers
   * `304 Not Modified` this answers the copy that came with that ETag.
   */
  async getCart(cartId: string, options: { signal?: AbortSignal } = {}): Promise<Cart> {
    const cart =
      (await this.#readCart(cartId, true, options.signal)) ??
      // A 304 whose copy was forgotten meanwhile (`forgetCart`): read the cart whole.
      (await this.#readCart(cartId, false, options.signal));
    if (cart === undefined) throw new Error(`GET /v1/carts/${cartId} without If-None-Match answered 304`);
    return cart;
  }

  /** The cart, or `undefined` after a 304 when the kept copy is gone. */
  async #readCart(cartId: string, conditional: boolean, signal?: AbortSignal): Promise<Cart | undefined> {
    const { data, response } = await this.#call(
      { cartId, ifNoneMatch: conditional, signal },
      (headers, signal) =>
        this.#shared.http.GET("/v1/carts/{cart_id}", {
          params: { path: { cart_id: cartId } },
          headers,
          signal,
        }),
    );
    if (response.status === 304) return this.#shared.known.cart(cartId);
    return this.#cart(data, response);
  }

  /** The signed-in customer's live cart, on any device. */
  async getMyCart(options: { signal?: AbortSignal } = {}): Promise<Cart> {
    const { data, response } = await this.#call({ signal: options.signal }, (headers, signal) =>
      this.#shared.http.GET("/v1/customers/me/cart", { headers, signal }),
    );
    return this.#cart(data, response);
  }

  /**
   * Adds a line, or more of the line with the same line key. With `replace_incompatible:
   * true` a cart of another order type is emptied first; the answer's `replaced` says so.
   */
  async addLine(cartId: string, line: NewLine, options: WriteOptions = {}): Promise<CartAfterAdd> {
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.POST("/v1/carts/{cart_id}/lines", {
          params: { path: { cart_id: cartId } },
          body: line,
          headers,
          signal,
        }),
    );
    return this.#cart(data, response);
  }

  /** Sets a line's quantity (`PATCH`). */
  async setQuantity(
    cartId: string,
    lineId: string,
    quantity: number,
    options: LineWriteOptions = {},
  ): Promise<Cart> {
    const body =
      options.expectedLineVersion === undefined
        ? { quantity }
        : { quantity, expected_line_version: options.expectedLineVersion };
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.PATCH("/v1/carts/{cart_id}/lines/{line_id}", {
          params: { path: { cart_id: cartId, line_id: lineId } },
          body,
          headers,
          signal,
        }),
    );
    return this.#cart(data, response);
  }

  /** Removes a line. */
  async removeLine(cartId: string, lineId: string, options: LineWriteOptions = {}): Promise<Cart> {
    const query =
      options.expectedLineVersion === undefined ? {} : { expected_line_version: options.expectedLineVersion };
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.DELETE("/v1/carts/{cart_id}/lines/{line_id}", {
          params: { path: { cart_id: cartId, line_id: lineId }, query },
          headers,
          signal,
        }),
    );
    return this.#cart(data, response);
  }

  /** Removes every line. */
  async clear(cartId: string, options: WriteOptions = {}): Promise<Cart> {
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.DELETE("/v1/carts/{cart_id}/lines", {
          params: { path: { cart_id: cartId } },
          headers,
          signal,
        }),
    );
    return this.#cart(data, response);
  }

  /** Replaces the request context passed to order-type plugins (distance, age check, …). */
  async setContext(cartId: string, context: CartContext, options: WriteOptions = {}): Promise<Cart> {
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.PUT("/v1/carts/{cart_id}/context", {
          params: { path: { cart_id: cartId } },
          body: context,
          headers,
          signal,
        }),
    );
    return this.#cart(data, response);
  }

  /**
   * Merges a guest cart into the signed-in customer's cart (login). Every line's outcome
   * is in the answer; nothing is dropped silently.
   */
  async mergeGuestCart(
    customerCartId: string,
    merge: GuestCartMerge,
    options: WriteOptions = {},
  ): Promise<MergeResult> {
    const token = merge.sourceCartToken ?? this.#shared.known.token(merge.sourceCartId);
    if (token === undefined) {
      throw new TypeError(
        `no cart token is known for guest cart ${merge.sourceCartId}: pass sourceCartToken`,
      );
    }
    const body = {
      source_cart_id: merge.sourceCartId,
      source_cart_token: token,
      ...(merge.policy === undefined ? {} : { policy: merge.policy }),
    };
    const { data, response } = await this.#call(
      { cartId: customerCartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.POST("/v1/carts/{cart_id}/merge", {
          params: { path: { cart_id: customerCartId } },
          body,
          headers,
          signal,
        }),
    );
    const result = required(data, response);
    this.#shared.known.remember(result.cart, response.headers.get("ETag"));
    return result;
  }

  /**
   * Starts a checkout: validates, binds prices, holds stock and freezes the cart. Sends
   * `If-Match` like every cart write, so the shopper checks out the cart they last saw.
   */
  async checkout(
    cartId: string,
    options: WriteOptions & { acceptPriceChanges?: boolean } = {},
  ): Promise<Checkout> {
    const body =
      options.acceptPriceChanges === undefined ? {} : { accept_price_changes: options.acceptPriceChanges };
    const { data, response } = await this.#call(
      { cartId, write: options, ifMatch: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.POST("/v1/carts/{cart_id}/checkout", {
          params: { path: { cart_id: cartId } },
          body,
          headers,
          signal,
        }),
    );
    const checkout = required(data, response);
    this.#shared.known.link(checkout.checkout_id, checkout.cart_id);
    return checkout;
  }

  /** The checkout snapshot. */
  async getCheckout(checkoutId: string, options: { signal?: AbortSignal } = {}): Promise<Checkout> {
    const cartId = this.#shared.known.cartIdOf(checkoutId);
    const { data, response } = await this.#call({ cartId, signal: options.signal }, (headers, signal) =>
      this.#shared.http.GET("/v1/checkouts/{checkout_id}", {
        params: { path: { checkout_id: checkoutId } },
        headers,
        signal,
      }),
    );
    return required(data, response);
  }

  /** Turns the checkout into an order, exactly once (retries replay the same order). */
  async complete(checkoutId: string, options: Omit<WriteOptions, "ifMatch"> = {}): Promise<Order> {
    const cartId = this.#shared.known.cartIdOf(checkoutId);
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const { data, response } = await this.#call(
      { cartId, write: { ...options, idempotencyKey: key }, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.POST("/v1/checkouts/{checkout_id}/complete", {
          params: { path: { checkout_id: checkoutId }, header: { "Idempotency-Key": key } },
          headers,
          signal,
        }),
    );
    const order = required(data, response);
    this.#shared.known.link(order.order_id, order.cart_id);
    return order;
  }

  /** Cancels the checkout: releases its stock and unfreezes the cart. */
  async cancel(checkoutId: string, options: Omit<WriteOptions, "ifMatch"> = {}): Promise<Checkout> {
    const cartId = this.#shared.known.cartIdOf(checkoutId);
    const { data, response } = await this.#call(
      { cartId, write: options, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.POST("/v1/checkouts/{checkout_id}/cancel", {
          params: { path: { checkout_id: checkoutId } },
          headers,
          signal,
        }),
    );
    return required(data, response);
  }

  /** An order the shopper placed. */
  async getOrder(orderId: string, options: { signal?: AbortSignal } = {}): Promise<Order> {
    const cartId = this.#shared.known.cartIdOf(orderId);
    const { data, response } = await this.#call({ cartId, signal: options.signal }, (headers, signal) =>
      this.#shared.http.GET("/v1/orders/{order_id}", {
        params: { path: { order_id: orderId } },
        headers,
        signal,
      }),
    );
    return required(data, response);
  }

  /** A page of the storefront catalog; pass `next_cursor` back as `cursor` for the next. */
  async listItems(query: CatalogQuery = {}, options: { signal?: AbortSignal } = {}): Promise<CatalogPage> {
    const { data, response } = await this.#call(
      { anonymous: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.GET("/v1/catalog/items", {
          params: { query: withoutUndefined(query) },
          headers,
          signal,
        }),
    );
    return required(data, response);
  }

  /** One catalog item. */
  async getItem(sku: string, options: { signal?: AbortSignal } = {}): Promise<CatalogItem> {
    const { data, response } = await this.#call(
      { anonymous: true, signal: options.signal },
      (headers, signal) =>
        this.#shared.http.GET("/v1/catalog/items/{sku}", {
          params: { path: { sku } },
          headers,
          signal,
        }),
    );
    return required(data, response);
  }

  /**
   * Live cart sync: calls `onCart` with the cart, as `getCart` shows it, after every change
   * (`GET /v1/carts/{cart_id}/stream`). Reconnects after a drop, resuming after the last
   * version seen; ends on `unsubscribe()` or the `signal`, after the cart's last state
   * (`converted`, `merged`, `expired`), and on an answer a retry cannot change (`401`,
   * `403`, `404`, …), which `onError` and `done` report.
   */
  subscribe(cartId: string, onCart: CartListener<Cart>, options: SubscribeOptions = {}): Subscription {
    const url = `${this.#shared.options.baseUrl.replace(/\/+$/, "")}/v1/carts/${encodeURIComponent(cartId)}/stream`;
    return subscribeToEvents<Cart>(
      (lastEventId, signal) => {
        const headers = this.#headers({ cartId });
        headers["Accept"] = "text/event-stream";
        if (lastEventId !== undefined && lastEventId !== "") headers["Last-Event-ID"] = lastEventId;
        return this.#shared.fetch(url, { headers, signal, cache: "no-store" });
      },
      (cart, event) => {
        // A streamed cart is what the next write applies to: `If-Match` compares the
        // version only, so `"<version>"` guards it. (It names no read's ETag, so the next
        // `getCart` is a 200 that brings the full one.)
        this.#shared.known.remember(cart, `"${cart.version}"`);
        return onCart(cart, event);
      },
      options,
      (cart) => ENDED.includes(cart.status),
    );
  }

  #headers(plan: Plan): Record<string, string> {
    const headers: Record<string, string> = { "X-Api-Key": this.#shared.options.storefrontKey };
    if (plan.anonymous) return headers;
    if (this.#customerToken !== undefined) headers["Authorization"] = `Bearer ${this.#customerToken}`;
    if (plan.cartId !== undefined) {
      const token = this.#shared.known.token(plan.cartId);
      if (token !== undefined) headers["X-Cart-Token"] = token;
    }
    return headers;
  }

  /** One call: its headers, then attempts until an answer that is not worth retrying. */
  async #call<T>(plan: Plan, attempt: Attempt<T>): Promise<{ data: T | undefined; response: Response }> {
    const known = this.#shared.known;
    const headers = this.#headers(plan);
    if (plan.write) {
      headers["Idempotency-Key"] = plan.write.idempotencyKey ?? newIdempotencyKey();
      if (plan.ifMatch && plan.cartId !== undefined) {
        const wanted = plan.write.ifMatch;
        const etag =
          wanted === false
            ? undefined
            : (wanted ?? (this.#shared.options.ifMatch === false ? undefined : known.etag(plan.cartId)));
        if (etag !== undefined) headers["If-Match"] = etag;
      }
    }
    if (plan.ifNoneMatch && plan.cartId !== undefined) {
      const etag = known.etag(plan.cartId);
      if (etag !== undefined && known.hasCart(plan.cartId)) headers["If-None-Match"] = etag;
    }
    for (let attemptNo = 0; ; attemptNo++) {
      let failure: unknown;
      try {
        const { data, error, response } = await attempt(headers, plan.signal);
        if (response.ok || response.status === 304) return { data, response };
        failure = errorFromAnswer(response, error);
      } catch (error) {
        if (plan.signal?.aborted) throw error;
        failure = error;
      }
      const delay =
        attemptNo < this.#shared.retry.retries
          ? retryDelay(failure, attemptNo, this.#shared.retry)
          : undefined;
      if (delay === undefined) throw failure;
      await sleep(delay, plan.signal);
    }
  }

  /** A cart answer: kept with its ETag, then handed out. */
  #cart<C extends Cart>(data: C | undefined, response: Response): C {
    const cart = required(data, response);
    this.#shared.known.remember(cart, response.headers.get("ETag"));
    return cart;
  }
}

/** Cart statuses a cart never leaves; its stream ends after it shows one. */
const ENDED = ["converted", "merged", "expired"];

/** The body of a 2xx answer that must have one. */
function required<T>(data: T | undefined, response: Response): T {
  if (data === undefined) {
    throw errorFromAnswerless(response);
  }
  return data;
}

function errorFromAnswerless(response: Response): TrolleyError {
  return errorFromAnswer(response, `a ${response.status} answer without the expected body`);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
