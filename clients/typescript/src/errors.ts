// Every non-2xx answer becomes one error type a storefront can switch on by `code`.

import type { components } from "./generated/schema.js";

/** An RFC 9457 problem document as the schema describes it. */
export type Problem = components["schemas"]["Problem"];

/**
 * The stable problem codes. The union of the schema's `Problem.code` enum when the spec
 * publishes one, `string` while it does not.
 */
export type ProblemCode = Problem["code"];

/**
 * The code of an answer that was not a problem document (a proxy's HTML error page, an
 * empty 502, a stream that is not `text/event-stream`).
 */
export type UnexpectedResponseCode = "unexpected_response";

/** Any code a {@link TrolleyError} can carry. */
export type TrolleyErrorCode = ProblemCode | UnexpectedResponseCode;

/**
 * The whole problem body: the schema's fields plus whatever extension members the server
 * adds (`current_version`, `current_line`, `retry_after_seconds`, `max_quantity`,
 * `violations`, …).
 */
export type ProblemDocument<C extends string = TrolleyErrorCode> = Omit<Problem, "code"> & {
  code: C;
  readonly [extension: string]: unknown;
};

const BRAND = Symbol.for("@trolley/client.TrolleyError");

/** A non-2xx answer from Trolley. */
export class TrolleyError<C extends TrolleyErrorCode = TrolleyErrorCode> extends Error {
  override name = "TrolleyError";
  /** HTTP status of the answer. */
  readonly status: number;
  /** The stable machine-readable code, e.g. `line_conflict`. */
  readonly code: C;
  readonly title: string;
  readonly detail: string;
  /** The whole problem body, extension members included. */
  readonly problem: ProblemDocument<C>;
  /** Seconds to wait before retrying, from `Retry-After` or the problem's `retry_after_seconds`. */
  readonly retryAfterSeconds: number | undefined;
  /** The server's `X-Request-Id`, to quote when asking for help. */
  readonly requestId: string | undefined;

  constructor(problem: ProblemDocument<C>, headers?: Headers) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.problem = problem;
    this.retryAfterSeconds =
      retryAfter(headers?.get("Retry-After") ?? null) ??
      (typeof problem["retry_after_seconds"] === "number" ? problem["retry_after_seconds"] : undefined);
    this.requestId = headers?.get("X-Request-Id") ?? undefined;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * Whether `error` is a {@link TrolleyError}, and of `code` when given:
 *
 * ```ts
 * if (isTrolleyError(e, "line_conflict")) show(e.problem.current_line);
 * ```
 */
export function isTrolleyError(error: unknown): error is TrolleyError;
export function isTrolleyError<C extends TrolleyErrorCode>(error: unknown, code: C): error is TrolleyError<C>;
export function isTrolleyError(error: unknown, code?: string): boolean {
  // The brand also recognises an error made by another copy of this package.
  const trolley =
    error instanceof TrolleyError || (typeof error === "object" && error !== null && BRAND in error);
  return trolley && (code === undefined || (error as TrolleyError).code === code);
}

/** The error for a non-2xx `response` whose body openapi-fetch read as `body`. */
export function errorFromAnswer(response: Response, body: unknown): TrolleyError {
  if (isProblem(body)) {
    return new TrolleyError(body, response.headers);
  }
  const text = typeof body === "string" ? body.trim().slice(0, 200) : "";
  return unexpectedResponse(response, text || `the answer was not a problem document (${response.status})`);
}

/** A {@link TrolleyError} for an answer that is not what the contract promises. */
export function unexpectedResponse(response: Response, detail: string): TrolleyError {
  const problem: ProblemDocument<UnexpectedResponseCode> = {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail,
    code: "unexpected_response",
  };
  return new TrolleyError(problem, response.headers);
}

function isProblem(body: unknown): body is ProblemDocument<ProblemCode> {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b["code"] === "string" && typeof b["status"] === "number";
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function retryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
