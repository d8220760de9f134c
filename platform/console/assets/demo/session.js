// The shopper's session: the ids and tokens the page keeps in sessionStorage, the page's
// in-memory state, and the credentials the storefront API wants for this shopper.

export const STORE = {
  guest: "trolley.demo.guest",       // {cart_id, cart_token}
  customer: "trolley.demo.customer", // {customer_id, token, expires_at, cart_id}
  checkout: "trolley.demo.checkout", // checkout id of a pending checkout
};

export function load(key) {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch (_) {
    return null;
  }
}

export function save(key, value) {
  try {
    if (value === null || value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch (_) {
    // Private mode or a full storage: the page still works, it just forgets on reload.
  }
}

export const state = {
  config: null,
  catalog: [],
  guest: load(STORE.guest),
  customer: load(STORE.customer),
  cart: null,
  checkout: null,
  order: null,
  timer: null,
};

export function signedIn() {
  return state.customer && state.customer.token &&
    Date.parse(state.customer.expires_at) > Date.now();
}

export function currentCartId() {
  if (signedIn()) return state.customer.cart_id || null;
  return state.guest ? state.guest.cart_id : null;
}

// The credentials the storefront API wants for this shopper.
export function shopperHeaders() {
  if (signedIn()) return { Authorization: "Bearer " + state.customer.token };
  if (state.guest && state.guest.cart_token) return { "X-Cart-Token": state.guest.cart_token };
  return {};
}
