/**
 * @module notify/delivery
 * One notification to one device: picks the provider (Web Push, webhook or FCM) and says how it
 * went, as the consumer needs it: delivered, gone for good (the device is removed), refused
 * (its URL breaks the outbound rules; nothing is sent), or failed for now (the message is
 * retried). A failure is told by its class only (`timeout`, `network`, `http_4xx`, ...): the
 * user reads it in their notification log, and raw error text or exact statuses from a URL
 * they chose would make the service a port scanner of whatever it can reach.
 */
import type { Config } from "../config";
import type { DeviceRow } from "../db/notifications";
import { sendFcm } from "./fcm";
import { deliveryPayload, deliveryUrgency, type NotificationMessage } from "./message";
import type { DeliveryResult } from "./delivery-result";
import { checkOutboundUrl } from "./outbound-url";
import { sendWebhook } from "./webhook";
import { sendWebPush } from "./webpush";

export async function deliverTo(
  device: DeviceRow,
  message: NotificationMessage,
  config: Config,
  now: number,
): Promise<DeliveryResult> {
  const timeoutMs = config.NOTIFY_TIMEOUT_MS;
  if (device.kind === "fcm") {
    const account = config.FCM_SERVICE_ACCOUNT;
    if (!account) {
      sayFcmIsOff();
      return { kind: "refused", reason: "not_configured" };
    }
    try {
      return await sendFcm(device, message, account, {
        apiBase: config.FCM_API_BASE,
        now,
        ttlSeconds: config.PUSH_TTL_SECONDS,
        timeoutMs,
      });
    } catch (err) {
      return { kind: "failed", reason: err instanceof Error && err.name === "TimeoutError" ? "timeout" : "network" };
    }
  }
  // Checked again here, not only at registration: a row written before the rules (or under a
  // setting since turned off) must not be sent to, and redirects are never followed (a public
  // URL cannot bounce the request inward).
  if (!checkOutboundUrl(device.endpoint, { allowLoopback: config.ALLOW_LOOPBACK_WEBHOOKS }).ok)
    return { kind: "refused", reason: "refused_url" };
  const payload = JSON.stringify(deliveryPayload(message));
  try {
    if (device.kind === "webhook") {
      if (!device.secret) return { kind: "gone", reason: "webhook without a secret" };
      return await sendWebhook({ url: device.endpoint, secret: device.secret }, message.id, payload, {
        now,
        timeoutMs,
      });
    }
    if (!device.p256dh || !device.auth) return { kind: "gone", reason: "push subscription without keys" };
    if (!config.VAPID_PUBLIC_KEY || !config.VAPID_PRIVATE_KEY) return { kind: "failed", reason: "not_configured" };
    const keys = {
      publicKey: config.VAPID_PUBLIC_KEY,
      privateKey: config.VAPID_PRIVATE_KEY,
      subject: config.VAPID_SUBJECT,
    };
    // An offer is worth waking a phone for; it expires within seconds.
    const urgency = deliveryUrgency(message, now, config.PUSH_TTL_SECONDS);
    return await sendWebPush({ endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth }, payload, keys, {
      now,
      ttlSeconds: Math.max(0, urgency.ttlSeconds),
      timeoutMs,
      urgency: urgency.priority,
    });
  } catch (err) {
    // Network errors and timeouts: the endpoint may be back later. Which one, and nothing more.
    return { kind: "failed", reason: err instanceof Error && err.name === "TimeoutError" ? "timeout" : "network" };
  }
}

// Per isolate: set once the isolate has said that FCM is off, so the log says it once, not per message.
let fcmOffSaid = false;

/** Workers have no start-up hook: the first FCM delivery of an isolate without the secret says so. */
function sayFcmIsOff(): void {
  if (fcmOffSaid) return;
  fcmOffSaid = true;
  console.warn(
    JSON.stringify({
      level: "warn",
      where: "notify.fcm",
      reason: "FCM_SERVICE_ACCOUNT is not set: the fcm channel is off, and its deliveries are logged not_configured",
    }),
  );
}
