// Safe retries: a call gets its `Idempotency-Key` once, before its first attempt, and every
// retry of that call sends the same key, so the server applies it at most once and answers a
// retry of an applied write with the first answer (`Idempotent-Replayed: true`).

import { TrolleyError } from "./errors.js";

/** A fresh `Idempotency-Key` (a random UUID). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  // `randomUUID` needs a secure context in browsers; a page on plain http still has
  // `getRandomValues`.
  if (typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How the layer retries a call. */
export interface RetryPolicy {
  /** Retries after the first attempt (2 by default; 0 turns retrying off). */
  retries: number;
  /** The longest wait before a retry; an answer asking for longer is thrown at once. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 2, maxDelayMs: 5_000 };

/**
 * How long to wait before retrying after `failure`, or `undefined` when it must not be
 * retried. Retried: a network failure, `429`, `502`–`504`, and `409
 * idempotency_key_in_use` (the first attempt is still running). Never a decision the
 * server made about the request itself.
 */
export function retryDelay(failure: unknown, attempt: number, policy: RetryPolicy): number | undefined {
  let delay: number;
  if (failure instanceof TrolleyError) {
    const transient =
      failure.status === 429 ||
      failure.status === 502 ||
      failure.status === 503 ||
      failure.status === 504 ||
      failure.code === "idempotency_key_in_use";
    if (!transient) return undefined;
    delay = failure.retryAfterSeconds !== undefined ? failure.retryAfterSeconds * 1000 : backoff(attempt);
  } else if (isNetworkFailure(failure)) {
    delay = backoff(attempt);
  } else {
    return undefined;
  }
  return delay <= policy.maxDelayMs ? delay : undefined;
}

/** 100 ms, 200 ms, 400 ms, … with jitter, so clients that failed together spread out. */
export function backoff(attempt: number): number {
  const base = 100 * 2 ** Math.min(attempt, 8);
  return base / 2 + Math.random() * (base / 2);
}

/** `fetch` rejects with a `TypeError` when no answer came (refused, reset, DNS, CORS). */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
