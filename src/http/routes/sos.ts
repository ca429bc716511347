/**
 * @module http/routes/sos
 * SOS (README, "Safety"): a trip's rider or driver raises an alert with where they are. The
 * trip's own object says whether the caller is one of its parties; the alert goes to D1 at
 * once, where the operations view lists it (routes/ops.ts), to the operators connected now
 * (the operations desk's live feed), and into the service's log.
 */
import { Hono } from "hono";
import { raiseAlert } from "../../db/alerts";
import { unwrap } from "../../errors";
import { newId } from "../../ids";
import { SosBody } from "../../protocol/safety";
import { tripRoom } from "../../rooms/stubs";
import { requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readBody, readId, readIdempotencyKey } from "../validate";
import { announce } from "./ops";
import { logJson } from "../../log";

export const sosRoutes = new Hono<AppEnv>();

sosRoutes.post("/trips/:id/sos", requireUser, async (c) => {
  const tripId = readId(c);
  const key = readIdempotencyKey(c);
  const body = await readBody(c, SosBody);
  const identity = c.get("identity");
  const { role, status } = unwrap(await tripRoom(c.env, tripId).partyRole(identity));
  const { alert, created } = await raiseAlert(c.env.DB, {
    id: newId("sos"),
    tripId,
    raisedBy: identity.userId,
    role,
    lat: body.location.lat,
    lng: body.location.lng,
    note: body.note ?? null,
    idempotencyKey: key ?? null,
    createdAt: Date.now(),
  });
  if (created) {
    announce(c, alert);
    // Operators' alerting reads the log too; no position or note in it (those stay in D1).
    logJson("warn", { where: "sos", event: "sos_raised", alertId: alert.id, tripId, role, status });
  }
  return c.json({ alert }, created ? 201 : 200);
});
