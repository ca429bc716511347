/**
 * @module errors
 * One error type for the whole service. Handlers throw `ApiError`; the Worker's `onError`
 * turns it into docs/API.md's `{ error: { code, message, details } }` body. Durable Object RPC
 * methods return `Result` instead of throwing, because an exception crossing RPC loses its
 * class and fields; `unwrap` rethrows it on the Worker side as the same `ApiError`.
 */
import type { ErrorCode } from "./protocol/common";

export type ContentfulStatus = 400 | 401 | 402 | 403 | 404 | 409 | 410 | 413 | 416 | 422 | 429 | 500 | 502 | 503;

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatus,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds for `Retry-After` (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new ApiError(400, "invalid_request", message, details);
export const unauthorized = (message = "missing or invalid token") => new ApiError(401, "unauthorized", message);
export const forbidden = (message = "not allowed") => new ApiError(403, "forbidden", message);
export const notFound = (message = "not found") => new ApiError(404, "not_found", message);
export const conflict = (message: string, details?: unknown) => new ApiError(409, "conflict", message, details);

/** A direct message refused because one of the two blocked the other. */
export const blocked = (message: string) => new ApiError(403, "blocked", message);
/** What a direct conversation does not allow (a third member, leaving, roles, bans). */
export const directRoom = (message = "a direct conversation has exactly its two members") =>
  new ApiError(409, "direct_room", message);

export type ErrorShape = {
  status: ContentfulStatus;
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfter?: number;
};
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorShape };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: ApiError): Result<never> => ({
  ok: false,
  error: {
    status: error.status,
    code: error.code,
    message: error.message,
    details: error.details,
    // A 429 keeps its Retry-After across RPC.
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
  },
});

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const { status, code, message, details, retryAfter } = result.error;
  throw new ApiError(status, code, message, details, retryAfter);
}
