/**
 * @module trace
 * The trace id of a request: taken from a valid W3C `traceparent` header
 * (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), otherwise a fresh random one. The
 * Worker answers with its own `traceparent` (same trace id, a new span id) and `X-Trace-Id`, puts
 * it in every error body and in its JSON log lines, and stamps it on the queue messages it sends.
 *
 * The current trace id lives in an AsyncLocalStorage for the request (nodejs_compat), so the log
 * helper and the queue producer find it without every function taking it as an argument. It does
 * not cross into Durable Objects by itself (they run in their own isolate): the Worker hands it
 * over as the last argument of the RPC methods that act for a request (trip creation and moves,
 * chat posts) and in the TRACE_HEADER of the connections it forwards, and the object runs the
 * call inside it (rooms/socket-hub's `rpc`), so its log lines and queue messages carry it too.
 * An object's alarm serves no request: each run gets a fresh trace id (rooms/socket-hub's `alarm`).
 */
import { AsyncLocalStorage } from "node:async_hooks";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO_TRACE = "0".repeat(32);
const ALL_ZERO_SPAN = "0".repeat(16);

/** The header the Worker names the trace id in on the requests it forwards to objects (http/upgrade.ts). */
export const TRACE_HEADER = "X-Trace-Id";

/** A trace id as it appears in headers, bodies, logs and queue messages: 32 lowercase hex. */
export const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The trace id of a `traceparent` header, or undefined when the header is missing or not valid
 * (W3C Trace Context: version ff is invalid, an all-zero trace or parent id is invalid, and
 * version 00 has exactly four fields).
 */
export function traceIdFromTraceparent(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId] = match;
  if (version === "ff" || traceId === ALL_ZERO_TRACE || parentId === ALL_ZERO_SPAN) return undefined;
  return traceId;
}

/** Each byte's two hex digits: every request and alarm makes an id, and a table beats formatting each byte. */
const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function randomHex(bytes: number): string {
  let hex = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) hex += HEX_BYTES[b];
  return hex;
}

export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ALL_ZERO_TRACE) id = randomHex(16);
  return id;
}

/** The `traceparent` this service answers with: the trace id, a span id of its own, sampled. */
export function traceparentOf(traceId: string): string {
  let span = randomHex(8);
  while (span === ALL_ZERO_SPAN) span = randomHex(8);
  return `00-${traceId}-${span}-01`;
}

const current = new AsyncLocalStorage<string>();

/** Runs `fn` with `traceId` as the current trace id (for its awaits and the promises it starts). */
export function withTraceId<T>(traceId: string, fn: () => T): T {
  return current.run(traceId, fn);
}

/** The trace id of the request being served, if any. */
export function currentTraceId(): string | undefined {
  return current.getStore();
}
