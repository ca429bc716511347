/**
 * @module http/routes/drivers
 * A driver going online and offline, the driver channel socket, and its fallback for networks
 * that break WebSockets: the channel as Server-Sent Events, and fixes posted over HTTP.
 * Everything about the driver's availability is decided by their DriverSession object.
 */
import { Hono } from "hono";
import { ratingOf } from "../../db/ratings";
import { unwrap } from "../../errors";
import { LocationBody, OnlineBody } from "../../protocol/dispatch";
import { requireRole, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { readBody } from "../validate";
import { driverSession } from "../../rooms/stubs";

export const driverRoutes = new Hono<AppEnv>();

driverRoutes.use("/drivers/me/*", requireUser, requireRole("driver"));

/** The caller's session object, created on first use with their current rating. */
async function mySession(c: AppContext) {
  const { userId } = c.get("identity");
  const session = driverSession(c.env, userId);
  await session.ensure(userId, (await ratingOf(c.env.DB, userId)).average);
  return session;
}

driverRoutes.post("/drivers/me/online", async (c) => {
  const body = await readBody(c, OnlineBody);
  const driver = unwrap(await (await mySession(c)).goOnline(body.location));
  return c.json({ driver });
});

driverRoutes.post("/drivers/me/offline", async (c) => {
  const driver = unwrap(await (await mySession(c)).goOffline());
  return c.json({ driver });
});

driverRoutes.get("/drivers/me", async (c) => {
  const driver = unwrap(await (await mySession(c)).get());
  return c.json({ driver });
});

driverRoutes.get("/drivers/me/ws", async (c) => forwardUpgrade(c, await mySession(c)));
driverRoutes.get("/drivers/me/events", async (c) => forwardFallback(c, await mySession(c), "events"));

/** A fix over HTTP, checked like the channel's `location` frame (age, speed, 2 per second). */
driverRoutes.post("/drivers/me/location", async (c) => {
  const { lat, lng, at } = await readBody(c, LocationBody);
  unwrap(await (await mySession(c)).reportLocation({ lat, lng, at }));
  return c.json({ accepted: true });
});
