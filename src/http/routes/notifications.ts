/**
 * @module http/routes/notifications
 * Devices that receive notifications (Web Push subscriptions, signed webhooks, FCM app
 * installs), the caller's notification log with delivery status and each channel's attempts,
 * and muting by type and by channel. A webhook's secret is answered once, at registration; nothing reads it back.
 */
import { Hono } from "hono";
import {
  ackNotification,
  deleteDevice,
  devicesOf,
  listNotifications,
  preferencesOf,
  registerDevice,
  setPreferences,
  type DeviceRow,
} from "../../db/notifications";
import { ApiError, badRequest, conflict, notFound } from "../../errors";
import { checkOutboundUrl } from "../../notify/outbound-url";
import { newWebhookSecret } from "../../notify/webhook";
import {
  DeviceBody,
  NotificationId,
  NotificationListQuery,
  PreferencesBody,
  type Device,
} from "../../protocol/notifications";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { newId } from "../../ids";
import { readBody, readId, readQuery } from "../validate";

export const notificationRoutes = new Hono<AppEnv>();

notificationRoutes.use("/devices", requireUser);
notificationRoutes.use("/devices/*", requireUser);
notificationRoutes.use("/notifications", requireUser);
notificationRoutes.use("/notifications/*", requireUser);
notificationRoutes.use("/me/preferences", requireUser);

function toDevice(row: DeviceRow): Device {
  switch (row.kind) {
    case "webpush":
      return { id: row.id, kind: "webpush", endpoint: row.endpoint, createdAt: row.createdAt };
    case "webhook":
      return { id: row.id, kind: "webhook", url: row.endpoint, createdAt: row.createdAt };
    case "fcm":
      return {
        id: row.id,
        kind: "fcm",
        token: row.endpoint,
        platform: row.platform ?? "android",
        createdAt: row.createdAt,
      };
  }
}

/** The VAPID public key a browser subscribes with (`applicationServerKey`); null while Web Push is off. */
notificationRoutes.get("/devices/webpush-key", (c) => c.json({ publicKey: c.get("config").VAPID_PUBLIC_KEY ?? null }));

notificationRoutes.post("/devices", requireAccount, async (c) => {
  const body = await readBody(c, DeviceBody);
  const config = c.get("config");
  const userId = c.get("identity").userId;
  const base = { id: newId("dev"), userId, createdAt: Date.now() };
  // A registration token is not a URL: nothing of it reaches a request but the JSON body sent
  // to FCM's fixed endpoint (FCM_API_BASE is configuration, never the user's).
  if (body.kind !== "fcm") {
    const url = body.kind === "webpush" ? body.subscription.endpoint : body.url;
    const verdict = checkOutboundUrl(url, { allowLoopback: config.ALLOW_LOOPBACK_WEBHOOKS });
    if (!verdict.ok) {
      const path = body.kind === "webpush" ? "subscription.endpoint" : "url";
      throw badRequest(`the ${body.kind === "webpush" ? "push endpoint" : "webhook URL"} ${verdict.reason}`, [
        { path, message: verdict.reason, code: "refused_url" },
      ]);
    }
  }
  if (body.kind === "webpush" && !config.VAPID_PUBLIC_KEY)
    throw new ApiError(409, "conflict", "Web Push is not configured on this server; register a webhook instead");
  // Registering the same webhook URL again rotates the secret: the new one is the only one shown.
  const secret = body.kind === "webhook" ? newWebhookSecret() : null;
  const none = { p256dh: null, auth: null, secret: null, platform: null };
  const device =
    body.kind === "webpush"
      ? {
          ...base,
          ...none,
          kind: "webpush" as const,
          endpoint: body.subscription.endpoint,
          p256dh: body.subscription.keys.p256dh,
          auth: body.subscription.keys.auth,
        }
      : body.kind === "webhook"
        ? { ...base, ...none, kind: "webhook" as const, endpoint: body.url, secret }
        : { ...base, ...none, kind: "fcm" as const, endpoint: body.token, platform: body.platform };
  const result = await registerDevice(c.env.DB, device, config.MAX_DEVICES_PER_USER);
  if ("refused" in result) {
    if (result.refused === "endpoint_taken")
      throw conflict(
        body.kind === "fcm"
          ? "this FCM registration token is registered to another account; the app signing in gets a new one " +
              "with deleteToken() and getToken(), or the other account removes its device first"
          : "this push subscription is registered to another account; " +
              "subscribe again from this browser to get a new endpoint",
      );
    throw new ApiError(
      409,
      "too_many_devices",
      `an account may register at most ${config.MAX_DEVICES_PER_USER} devices; ` +
        "remove one first (DELETE /v1/devices/:id)",
      { max: config.MAX_DEVICES_PER_USER },
    );
  }
  return c.json({ device: secret === null ? toDevice(result.row) : { ...toDevice(result.row), secret } }, 201);
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
  return c.json({ notifications: await listNotifications(c.env, c.get("identity").userId, query.limit) });
});

/**
 * The user's app showed the notification. Idempotent: the first time is kept. Another user's
 * notification is 404, as an unknown one is, so ids cannot be probed.
 */
notificationRoutes.post("/notifications/:id/ack", async (c) => {
  const id = NotificationId.safeParse(c.req.param("id"));
  if (!id.success) throw badRequest("invalid notification id");
  const ackedAt = await ackNotification(c.env, c.get("identity").userId, id.data, Date.now());
  if (ackedAt === undefined) throw notFound("notification not found");
  return c.json({ id: id.data, ackedAt });
});

notificationRoutes.get("/me/preferences", async (c) => {
  return c.json({ preferences: await preferencesOf(c.env.DB, c.get("identity").userId) });
});

/** Mutes types and channels; the body's schema refuses muting security notices with a 400 that says so. */
notificationRoutes.patch("/me/preferences", requireAccount, async (c) => {
  const body = await readBody(c, PreferencesBody);
  return c.json({ preferences: await setPreferences(c.env.DB, c.get("identity").userId, body, Date.now()) });
});
