/**
 * @module http/routes/presence
 * Last seen (docs/API.md, "Last seen and privacy"): `GET /v1/users/:id/presence` answers a
 * user's last seen as their setting lets the caller see it (null otherwise: the same answer as
 * for someone never seen, so a hidden time looks like no time), and `GET`/`PUT /v1/me/privacy`
 * read and set that setting. An unknown user is 404, as `POST /v1/me/blocks` already says.
 */
import { Hono } from "hono";
import { lastSeenFacts, lastSeenVisibilityOf, setLastSeenVisibility } from "../../db/presence";
import { lastSeenVisible } from "../../domain/last-seen";
import { notFound } from "../../errors";
import { PrivacyBody, type PresenceResponse, type PrivacyResponse } from "../../protocol/http";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readBody, readId } from "../validate";

export const presenceRoutes = new Hono<AppEnv>();

presenceRoutes.use("/users/:id/presence", requireUser);
presenceRoutes.use("/me/privacy", requireUser);

presenceRoutes.get("/users/:id/presence", async (c) => {
  const viewer = c.get("identity").userId;
  const target = readId(c);
  const facts = await lastSeenFacts(c.env, viewer, target);
  if (!facts) throw notFound("user not found");
  const visible = lastSeenVisible({ self: viewer === target, ...facts });
  return c.json({ userId: target, lastSeenAt: visible ? facts.lastSeenAt : null } satisfies PresenceResponse);
});

presenceRoutes.get("/me/privacy", async (c) => {
  const visibility = await lastSeenVisibilityOf(c.env.DB, c.get("identity").userId);
  if (!visibility) throw notFound("user not found");
  return c.json({ privacy: { lastSeen: visibility } } satisfies PrivacyResponse);
});

presenceRoutes.put("/me/privacy", requireAccount, async (c) => {
  const body = await readBody(c, PrivacyBody);
  await setLastSeenVisibility(c.env.DB, c.get("identity").userId, body.lastSeen);
  return c.json({ privacy: { lastSeen: body.lastSeen } } satisfies PrivacyResponse);
});
