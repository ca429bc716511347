/**
 * @module http/routes/notifications
 * Devices that receive notifications (Web Push subscriptions, signed webhooks), the caller's
 * notification log with delivery status and attempts, and muting by type. A webhook's secret
 * is answered once, at registration; nothing reads it back.
 */
import { Hono } from "hono";
import { deleteDevice, devicesOf, listNotifications, mutedTypes, setMutedTypes, upsertDevice, type DeviceRow } from "../../db/notifications";
import { ApiError, notFound } from "../../errors";
import { newWebhookSecret } from "../../notify/webhook";
import { DeviceBody, NotificationListQuery, PreferencesBody, type Device } from "../../protocol/notifications";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { newId, readBody, readId, readQuery } from "../validate";

export const notificationRoutes = new Hono<AppEnv>();

notificationRoutes.use("/devices", requireUser);
notificationRoutes.use("/devices/*", requireUser);
notificationRoutes.use("/notifications", requireUser);
notificationRoutes.use("/me/preferences", requireUser);

function toDevice(row: DeviceRow): Device {
  return row.kind === "webpush"
    ? { id: row.id, kind: "webpush", endpoint: row.endpoint, createdAt: row.createdAt }
    : { id: row.id, kind: "webhook", url: row.endpoint, createdAt: row.createdAt };
}

/** The VAPID public key a browser subscribes with (`applicationServerKey`); null while Web Push is off. */
notificationRoutes.get("/devices/webpush-key", (c) => c.json({ publicKey: c.get("config").VAPID_PUBLIC_KEY ?? null }));

notificationRoutes.post("/devices", requireAccount, async (c) => {
  const body = await readBody(c, DeviceBody);
  const userId = c.get("identity").userId;
  const base = { id: newId("dev"), userId, createdAt: Date.now() };
  if (body.kind === "webpush") {
    if (!c.get("config").VAPID_PUBLIC_KEY) throw new ApiError(409, "conflict", "Web Push is not configured on this server; register a webhook instead");
    const { endpoint, keys } = body.subscription;
    const row = await upsertDevice(c.env.DB, { ...base, kind: "webpush", endpoint, p256dh: keys.p256dh, auth: keys.auth, secret: null });
    return c.json({ device: toDevice(row) }, 201);
  }
  // Registering the same URL again rotates the secret: the new one is the only one shown.
  const secret = newWebhookSecret();
  const row = await upsertDevice(c.env.DB, { ...base, kind: "webhook", endpoint: body.url, p256dh: null, auth: null, secret });
  return c.json({ device: { ...toDevice(row), secret } }, 201);
});

notificationRoutes.get("/devices", async (c) => {
  const rows = await devicesOf(c.env.DB, c.get("identity").userId);
  return c.json({ devices: rows.map(toDevice) });
});

notificationRoutes.delete("/devices/:id", async (c) => {
  if (!(await deleteDevice(c.env.DB, c.get("identity").userId, readId(c)))) throw notFound("device not found");
  return c.body(null, 204);
});

notificationRoutes.get("/notifications", async (c) => {
  const query = readQuery(c, NotificationListQuery);
  return c.json({ notifications: await listNotifications(c.env.DB, c.get("identity").userId, query.limit) });
});

notificationRoutes.get("/me/preferences", async (c) => {
  return c.json({ preferences: { muted: await mutedTypes(c.env.DB, c.get("identity").userId) } });
});

notificationRoutes.patch("/me/preferences", requireAccount, async (c) => {
  const body = await readBody(c, PreferencesBody);
  const muted = await setMutedTypes(c.env.DB, c.get("identity").userId, body.muted, Date.now());
  return c.json({ preferences: { muted } });
});
