/**
 * @module http/upgrade
 * Hands an authenticated WebSocket upgrade, SSE stream or long poll to the object that owns
 * the room. The forwarded request is built here from scratch, so only the verified identity
 * and the resume cursor reach the object, never a header the client chose.
 */
import { badRequest, forbidden } from "../errors";
import { identityHeader } from "../rooms/identity";
import type { AppContext } from "./context";
import { originAllowed } from "./origin";

export async function forwardUpgrade(c: AppContext, room: { fetch(request: Request): Promise<Response> }): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw badRequest("expected a WebSocket upgrade (Upgrade: websocket)");
  if (!originAllowed(c.req.header("Origin"), c.req.url, c.get("config").allowedOrigins)) throw forbidden("origin not allowed");
  const target = new URL("https://room.internal/ws");
  const since = c.req.query("since");
  if (since !== undefined) target.searchParams.set("since", since);
  return room.fetch(new Request(target, { headers: { Upgrade: "websocket", ...identityHeader(c.get("identity")) } }));
}

/**
 * The fallbacks for clients without WebSockets: `events` (SSE; resumes from `Last-Event-ID`,
 * or `?since=`) and `poll` (`?since=&timeout=`).
 */
export async function forwardFallback(c: AppContext, room: { fetch(request: Request): Promise<Response> }, kind: "events" | "poll"): Promise<Response> {
  const target = new URL(`https://room.internal/${kind}`);
  const since = (kind === "events" ? c.req.header("Last-Event-ID") : undefined) ?? c.req.query("since");
  if (since !== undefined) target.searchParams.set("since", since);
  const timeout = c.req.query("timeout");
  if (kind === "poll" && timeout !== undefined) target.searchParams.set("timeout", timeout);
  return room.fetch(new Request(target, { headers: identityHeader(c.get("identity")) }));
}
