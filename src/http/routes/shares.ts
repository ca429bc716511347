/**
 * @module http/routes/shares
 * Share my trip (README, "Safety"): the rider makes a link to their trip and revokes it; anyone
 * with the link reads the trip's live view, without an account. The trip's own object keeps
 * the links (hashed) and decides what a link may see.
 */
import { Hono } from "hono";
import { badRequest, unwrap } from "../../errors";
import { ShareToken } from "../../protocol/safety";
import { tripRoom } from "../../rooms/stubs";
import { requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readId } from "../validate";

export const shareRoutes = new Hono<AppEnv>();

/** How often the shared page asks again: a driver's fix comes every few seconds. */
const POLL_AFTER_MS = 3_000;

shareRoutes.post("/trips/:id/share", requireUser, async (c) => {
  const tripId = readId(c);
  const link = unwrap(await tripRoom(c.env, tripId).createShare(c.get("identity")));
  const token = `${tripId}.${link.secret}`;
  // The web app's page for it, on the origin that serves the app and this API.
  const url = `${new URL(c.req.url).origin}/#/shared/${token}`;
  return c.json({ share: { id: link.id, token, url, expiresAt: link.expiresAt } }, 201);
});

shareRoutes.delete("/trips/:id/share", requireUser, async (c) => {
  const revoked = unwrap(await tripRoom(c.env, readId(c)).revokeShares(c.get("identity")));
  return c.json(revoked);
});

shareRoutes.get("/shared/:token", async (c) => {
  const parsed = ShareToken.safeParse(c.req.param("token"));
  if (!parsed.success) throw badRequest("not a share token");
  const dot = parsed.data.indexOf(".");
  const trip = unwrap(await tripRoom(c.env, parsed.data.slice(0, dot)).sharedTrip(parsed.data.slice(dot + 1)));
  // A live view: no cache between the viewer and the trip may keep an old position.
  c.header("Cache-Control", "no-store");
  return c.json({ trip, pollAfterMs: POLL_AFTER_MS });
});
