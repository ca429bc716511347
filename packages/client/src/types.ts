/**
 * @module client/types
 * Types that the HTTP client (http.ts) and the room connections (room.ts) both take; here so
 * that room.ts needs nothing from http.ts, which builds the connections.
 */

/**
 * The part of `fetch` the SDK uses; pass your own (a test double, a proxy-aware one) in the
 * options. Bodies are JSON text, but for an attachment's bytes.
 */
export type FetchLike = (
  input: string,
  init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Blob | ArrayBuffer | Uint8Array<ArrayBuffer>;
    signal?: AbortSignal;
  },
) => Promise<Response>;
