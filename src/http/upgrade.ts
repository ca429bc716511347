/**
 * @module http/upgrade
 * Hands an authenticated WebSocket upgrade to the object that owns the room. The forwarded
 * request is built here from scratch, so only the verified identity and `since` reach the
 * object, never a header the client chose.
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
