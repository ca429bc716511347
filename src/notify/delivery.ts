/**
 * @module notify/delivery
 * One notification to one device: picks the provider (Web Push or webhook) and says how it
 * went, as the consumer needs it: delivered, gone for good (the device is removed), or failed
 * for now (the message is retried).
 */
import type { Config } from "../config";
import type { DeviceRow } from "../db/notifications";
import { redactSecrets } from "../redact";
import { deliveryPayload, type NotificationMessage } from "./message";
import { sendWebhook } from "./webhook";
import { sendWebPush } from "./webpush";

export type DeliveryResult = { kind: "delivered" } | { kind: "gone"; reason: string } | { kind: "failed"; reason: string };

export async function deliverTo(device: DeviceRow, message: NotificationMessage, config: Config, now: number): Promise<DeliveryResult> {
  const payload = JSON.stringify(deliveryPayload(message));
  const timeoutMs = config.NOTIFY_TIMEOUT_MS;
  try {
    if (device.kind === "webhook") {
      if (!device.secret) return { kind: "gone", reason: "webhook without a secret" };
      return await sendWebhook({ url: device.endpoint, secret: device.secret }, message.id, payload, { now, timeoutMs });
    }
    if (!device.p256dh || !device.auth) return { kind: "gone", reason: "push subscription without keys" };
    if (!config.VAPID_PUBLIC_KEY || !config.VAPID_PRIVATE_KEY) return { kind: "failed", reason: "Web Push is not configured (VAPID keys)" };
    const keys = { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY, subject: config.VAPID_SUBJECT };
    // An offer is worth waking a phone for; it expires within seconds.
    const urgency = message.type === "offer" ? "high" : "normal";
    const ttlSeconds = message.type === "offer" ? Math.max(0, Math.floor((message.data.expiresAt - now) / 1000)) : config.PUSH_TTL_SECONDS;
    return await sendWebPush({ endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth }, payload, keys, { now, ttlSeconds, timeoutMs, urgency });
  } catch (err) {
    // Network errors and timeouts: the endpoint may be back later.
    // Kept as the notification's lastError: a message that quotes the endpoint keeps no token of its query.
    return { kind: "failed", reason: err instanceof Error ? redactSecrets(`${err.name}: ${err.message}`) : "delivery error" };
  }
}
