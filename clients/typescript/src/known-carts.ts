// What a client remembers about the carts it has touched: the guest cart tokens it was given,
// and the last ETag with the cart it came with (for `If-Match` on writes and
// `If-None-Match` on reads). Kept in memory only; a storefront that reloads keeps the cart id
// and token itself and hands them back with `rememberCartToken`.

import type { Cart } from "./types.js";

interface KnownCart {
  token?: string;
  etag?: string;
  cart?: Cart;
}

export class KnownCarts {
  private readonly carts = new Map<string, KnownCart>();
  /** Checkout and order ids → the cart they came from, to send that cart's token. */
  private readonly cartOf = new Map<string, string>();

  token(cartId: string): string | undefined {
    return this.carts.get(cartId)?.token;
  }

  setToken(cartId: string, token: string): void {
    this.entry(cartId).token = token;
  }

  etag(cartId: string): string | undefined {
    return this.carts.get(cartId)?.etag;
  }

  /** Whether a copy of the cart is kept (what a `304` would answer). */
  hasCart(cartId: string): boolean {
    return this.carts.get(cartId)?.cart !== undefined;
  }

  /** A copy of the cart that came with the kept ETag. */
  cart(cartId: string): Cart | undefined {
    const cart = this.carts.get(cartId)?.cart;
    return cart === undefined ? undefined : structuredClone(cart);
  }

  /**
   * Keeps a cart answer and its ETag, unless a newer version is kept already (a replayed
   * answer or a slower concurrent one must not move the client back).
   */
  remember(answer: Cart, etag: string | null): void {
    const known = this.entry(answer.cart_id);
    if (known.cart !== undefined && known.cart.version > answer.version) return;
    // What only a write's answer carries is not part of the cart as a read shows it.
    const { cart_token: _token, replaced: _replaced, ...cart } = answer;
    known.cart = cart;
    if (etag === null) delete known.etag;
    else known.etag = etag;
  }

  link(id: string, cartId: string): void {
    this.cartOf.set(id, cartId);
  }

  cartIdOf(id: string): string | undefined {
    return this.cartOf.get(id);
  }

  forget(cartId: string): void {
    this.carts.delete(cartId);
    for (const [id, cart] of this.cartOf) if (cart === cartId) this.cartOf.delete(id);
  }

  private entry(cartId: string): KnownCart {
    let known = this.carts.get(cartId);
    if (known === undefined) {
      known = {};
      this.carts.set(cartId, known);
    }
    return known;
  }
}
