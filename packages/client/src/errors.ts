/**
 * @module client/errors
 * The one error type of the SDK. HTTP failures carry API.md's error body (`status`, `code`,
 * `message`, `details`); a frame the server rejected, a network failure or an answer that does
 * not match the protocol use the same class with `status` 0 and a code of their own.
 */
import type { ErrorCode } from "../../../src/protocol/common";

/** Codes the SDK itself gives, in addition to the server's `ErrorCode`s. */
export type ClientErrorCode =
  /** fetch() failed: no answer at all (DNS, refused, reset, aborted by a timeout). */
  | "network_error"
  /** The server answered with a body that is not the protocol's shape. */
  | "invalid_response"
  /** A non-2xx answer without API.md's error body (a proxy's page, say). */
  | "http_error"
  /** The connection was closed with `close()` before the frame was acknowledged. */
  | "closed"
  /** The refresh token was refused (expired, revoked, reused): sign in again. */
  | "session_expired";

export class RidewireError extends Error {
  override readonly name = "RidewireError";

  constructor(
    /** HTTP status; 0 when there was no HTTP answer (network failures, socket frames). */
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode | (string & {}),
    message: string,
    /** API.md's `details` (zod issues for `invalid_request`), when the server sent any. */
    readonly details?: unknown,
    /** Seconds from `Retry-After` on 429 answers. */
    readonly retryAfter?: number,
    /** The request's trace id (`X-Trace-Id`): quote it when reporting a problem (docs/OPERATIONS.md). */
    readonly traceId?: string,
  ) {
    super(message);
  }
}

export const isRidewireError = (err: unknown): err is RidewireError => err instanceof RidewireError;
