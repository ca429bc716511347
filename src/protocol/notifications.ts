/**
 * @module protocol/notifications
 * Devices, the notification log and notification preferences (docs/API.md, "Notifications"): bodies and
 * resources of `/v1/devices`, `/v1/notifications` and `/v1/me/preferences`.
 */
import { z } from "zod";

export const NotificationType = z.enum(["chat_message", "offer", "trip_status", "receipt"]);
export type NotificationType = z.infer<typeof NotificationType>;

/** `rate_limited`: over NOTIFICATIONS_PER_USER_PER_MINUTE, logged and not delivered. */
export const NotificationStatus = z.enum(["pending", "delivered", "failed", "muted", "rate_limited"]);
export type NotificationStatus = z.infer<typeof NotificationStatus>;

export const Notification = z.object({
  id: z.string(),
  type: NotificationType,
  status: NotificationStatus,
  attempts: z.number().int(),
  /** Why the last delivery attempt failed, if it did. */
  lastError: z.string().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type Notification = z.infer<typeof Notification>;

/**
 * A URL the service is asked to POST to: any string that parses as an http(s) URL (a bad one is
 * a 400 with details, never a throw). Whether the service may reach it (https, a public host)
 * is the server's outbound policy, checked at registration and again at delivery
 * (src/notify/outbound-url.ts), since it depends on the deployment's settings.
 */
export const DeliveryUrl = z
  .string()
  .max(2_048)
  .refine((raw) => {
    const protocol = protocolOf(raw);
    return protocol === "https:" || protocol === "http:";
  }, "must be an absolute https URL");

function protocolOf(raw: string): string | null {
  try {
    return new URL(raw).protocol;
  } catch {
    return null;
  }
}

/** base64url of exactly `bytes` bytes; browsers omit the padding, some libraries keep it. */
const base64UrlOf = (bytes: number) =>
  z
    .string()
    .transform((s) => s.replace(/=+$/, ""))
    .pipe(
      z
        .string()
        .regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`), `must be ${bytes} bytes, base64url`),
    );

/** `PushSubscription.toJSON()` as a browser gives it (RFC 8030 endpoint, RFC 8291 keys). */
export const PushSubscription = z.object({
  endpoint: DeliveryUrl,
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    /** The user agent's ECDH public key: an uncompressed P-256 point. */
    p256dh: base64UrlOf(65).refine((s) => s.startsWith("B"), "must be an uncompressed P-256 point"),
    /** The 16-byte authentication secret. */
    auth: base64UrlOf(16),
  }),
});
export type PushSubscription = z.infer<typeof PushSubscription>;

/** The platform of an app that receives FCM messages: `ios` messages carry an APNs block. */
export const FcmPlatform = z.enum(["android", "ios"]);
export type FcmPlatform = z.infer<typeof FcmPlatform>;

/**
 * An FCM registration token, as `FirebaseMessaging.getToken()` gives it to the app (about 150
 * to 200 characters today: base64url text and a colon). Bounded and restricted to that
 * alphabet, so a token cannot smuggle a path, a query or a header into the request that
 * names it.
 */
export const FcmToken = z
  .string()
  .min(32, "must be an FCM registration token")
  .max(1_024)
  .regex(/^[A-Za-z0-9_:.-]+$/, "must be an FCM registration token");

export const DeviceBody = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("webpush"), subscription: PushSubscription }),
  z.object({ kind: z.literal("webhook"), url: DeliveryUrl }),
  z.object({ kind: z.literal("fcm"), token: FcmToken, platform: FcmPlatform }).meta({
    description:
      "An app's FCM registration token. One token belongs to one account: another account's " +
      "registration is 409 conflict and leaves the owner's device alone; the app gets a new token " +
      "(deleteToken, getToken) or the owner removes the device first.",
  }),
]);
export type DeviceBody = z.infer<typeof DeviceBody>;

export const Device = z.discriminatedUnion("kind", [
  z.object({ id: z.string(), kind: z.literal("webpush"), endpoint: z.string(), createdAt: z.number().int() }),
  z.object({
    id: z.string(),
    kind: z.literal("webhook"),
    url: z.string(),
    /** The HMAC-SHA256 key of `X-Ridewire-Signature`; present only in the registration answer. */
    secret: z.string().optional(),
    createdAt: z.number().int(),
  }),
  z.object({
    id: z.string(),
    kind: z.literal("fcm"),
    /** The app's registration token, as it registered it. */
    token: z.string(),
    platform: FcmPlatform,
    createdAt: z.number().int(),
  }),
]);
export type Device = z.infer<typeof Device>;

export const DeviceResponse = z.object({ device: Device });
export const DeviceListResponse = z.object({ devices: z.array(Device) });
/** The key a browser passes to `pushManager.subscribe` as `applicationServerKey`; null when Web Push is off. */
export const PushKeyResponse = z.object({ publicKey: z.string().nullable() });

export const NotificationListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });
export type NotificationListQuery = z.infer<typeof NotificationListQuery>;

export const NotificationListResponse = z.object({ notifications: z.array(Notification) });
export type NotificationListResponse = z.infer<typeof NotificationListResponse>;

export const Preferences = z.object({ muted: z.array(NotificationType) });
export type Preferences = z.infer<typeof Preferences>;

export const PreferencesBody = z.object({ muted: z.array(NotificationType).max(NotificationType.options.length) });
export type PreferencesBody = z.infer<typeof PreferencesBody>;

export const PreferencesResponse = z.object({ preferences: Preferences });
