/**
 * @module protocol/notifications
 * Devices, the notification log and notification preferences (docs/API.md, "Notifications"): bodies and
 * resources of `/v1/devices`, `/v1/notifications` and `/v1/me/preferences`.
 */
import { z } from "zod";

export const NotificationType = z.enum(["chat_message", "offer", "trip_status", "receipt", "security"]);
export type NotificationType = z.infer<typeof NotificationType>;

/** Security notices (a new sign-in, a ban) reach the account holder whatever their preferences. */
export const UNMUTABLE_TYPES: ReadonlySet<NotificationType> = new Set(["security"]);

/**
 * The ways a notification leaves the service: the user's registered devices by kind (FCM app
 * installs, Web Push subscriptions, webhooks), an email to the account's address, an SMS to the
 * phone number set with `PATCH /v1/me`. Which ones a type takes is src/notify/routing.ts.
 */
export const Channel = z.enum(["fcm", "webpush", "webhook", "email", "sms"]);
export type Channel = z.infer<typeof Channel>;

/**
 * One channel's part in one notification:
 * - `delivered`: the provider accepted it (for devices: at least one device of that kind);
 * - `retrying`: it failed for now and the notification will be tried again;
 * - `failed`: it failed and will not be tried on this channel again;
 * - `skipped`: nothing to send to (no device of that kind, no phone number, the channel is not
 *   configured on this server, or no template for this type);
 * - `muted`: the user muted this channel;
 * - `rate_limited`: over the user's hourly limit for this channel (SMS_PER_HOUR, EMAIL_PER_HOUR);
 * - `not_needed`: a fallback channel, not used because an earlier one delivered;
 * - `pending`: a send is under way.
 */
export const ChannelOutcome = z.enum([
  "pending",
  "delivered",
  "retrying",
  "failed",
  "skipped",
  "muted",
  "rate_limited",
  "not_needed",
]);
export type ChannelOutcome = z.infer<typeof ChannelOutcome>;

export const ChannelAttempt = z.object({
  channel: Channel,
  outcome: ChannelOutcome,
  /** Sends tried on this channel (a retry of the notification counts again). */
  attempts: z.number().int(),
  /** Why it was skipped or failed: a class (`http_5xx`, `timeout`, `no_phone`, ...), never raw provider text. */
  lastError: z.string().nullable(),
  updatedAt: z.number().int(),
});
export type ChannelAttempt = z.infer<typeof ChannelAttempt>;

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
  /** When one of the user's apps acknowledged showing it (`POST /v1/notifications/:id/ack`); null: none did yet. */
  ackedAt: z.number().int().nullable(),
  /**
   * Each channel the routing table gave this type, once the consumer has looked at it, in the
   * fixed order fcm, webpush, webhook, email, sms.
   */
  channels: z.array(ChannelAttempt),
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

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day as HH:MM, 00:00 to 23:59");

/**
 * A daily window in the user's time zone during which non-urgent notifications (chat, receipts)
 * wait until it ends; urgent ones (offers, trip moves, security notices) are sent at once. A
 * start after the end runs over midnight.
 */
export const QuietHours = z
  .object({
    start: ClockTime,
    end: ClockTime,
    /** An IANA time zone name (`Europe/Paris`, `America/New_York`, `UTC`). */
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat("en", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, "must be an IANA time zone name, e.g. Europe/Paris"),
  })
  .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] });
export type QuietHours = z.infer<typeof QuietHours>;

export const Preferences = z.object({
  /** Types sent on no channel (logged `muted`). */
  muted: z.array(NotificationType),
  /** Channels no notification uses, but security notices. */
  mutedChannels: z.array(Channel),
  quietHours: QuietHours.nullable(),
});
export type Preferences = z.infer<typeof Preferences>;

/**
 * Any of the three; a field given replaces the stored one, one left out stays. Security
 * notices cannot be muted: a `muted` list naming `security` is 400 invalid_request.
 */
export const PreferencesBody = z
  .object({
    muted: z
      .array(NotificationType)
      .max(NotificationType.options.length * 2)
      .refine((types) => !types.some((t) => UNMUTABLE_TYPES.has(t)), {
        message: "security notices cannot be muted: they tell you of sign-ins and actions on your account",
      })
      .optional(),
    mutedChannels: z
      .array(Channel)
      .max(Channel.options.length * 2)
      .optional(),
    /** null: no quiet hours. */
    quietHours: QuietHours.nullable().optional(),
  })
  .refine((body) => body.muted !== undefined || body.mutedChannels !== undefined || body.quietHours !== undefined, {
    message: "give muted, mutedChannels, quietHours, or several",
  });
export type PreferencesBody = z.infer<typeof PreferencesBody>;

export const PreferencesResponse = z.object({ preferences: Preferences });

/** A notification id as the queue made it (`trip:<id>:<seq>:<user>`, ...): bounded, and only the characters ids use. */
export const NotificationId = z.string().regex(/^[A-Za-z0-9_:.-]{1,256}$/, "invalid notification id");

export const NotificationAckResponse = z.object({ id: z.string(), ackedAt: z.number().int() });
export type NotificationAckResponse = z.infer<typeof NotificationAckResponse>;
