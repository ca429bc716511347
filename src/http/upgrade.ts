/**
 * @module http/upgrade
 * Hands an authenticated WebSocket upgrade, SSE stream or long poll to the object that owns
 * the room. The forwarded request is built here from scratch, so only the verified identity
 * and the resume cursor reach the object, never a header the client chose.
 */
import { badRequest, forbidden } from "../errors";
import { PollQuery, SinceQuery } from "../protocol/http";
import { identityHeader, sessionHeader } from "../rooms/identity";
import { TRACE_HEADER } from "../trace";
import type { AppContext } from "./context";
import { originAllowed } from "./origin";
import { readQuery } from "./validate";

export async function forwardUpgrade(
  c: AppContext,
  room: { fetch(request: Request): Promise<Response> },
): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
    throw badRequest("expected a WebSocket upgrade (Upgrade: websocket)");
  if (!originAllowed(c.req.header("Origin"), c.req.url, c.get("config").allowedOrigins))
    throw forbidden("origin not allowed");
  const target = new URL("https://room.internal/ws");
  const since = c.req.query("since");
  if (since !== undefined) target.searchParams.set("since", since);
  return room.fetch(
    new Request(target, {
      headers: {
        Upgrade: "websocket",
        ...identityHeader(c.get("identity")),
        ...sessionHeader(c.get("session")),
        [TRACE_HEADER]: c.get("traceId"),
      },
    }),
  );
}

/**
 * The fallbacks for clients without WebSockets: `events` (SSE; resumes from `Last-Event-ID`,
 * which a browser's EventSource sends on reconnect and which wins over `?since=`) and `poll`
 * (`?since=&timeout=`). Validated here for a 400 with details; only the parsed numbers are
 * forwarded, and the object checks them again as its own input.
 */
export async function forwardFallback(
  c: AppContext,
  room: { fetch(request: Request): Promise<Response> },
  kind: "events" | "poll",
): Promise<Response> {
  const target = new URL(`https://room.internal/${kind}`);
  if (kind === "poll") {
    const query = readQuery(c, PollQuery);
    target.searchParams.set("since", String(query.since));
    target.searchParams.set("timeout", String(query.timeout));
  } else {
    const raw = c.req.header("Last-Event-ID") ?? c.req.query("since");
    if (raw !== undefined) {
      const since = SinceQuery.safeParse(raw);
      if (!since.success) throw badRequest("Last-Event-ID and since must be a non-negative integer (a seq)");
      target.searchParams.set("since", String(since.data));
    }
  }
  return room.fetch(
    new Request(target, {
      headers: {
        ...identityHeader(c.get("identity")),
        ...sessionHeader(c.get("session")),
        [TRACE_HEADER]: c.get("traceId"),
      },
    }),
  );
}
