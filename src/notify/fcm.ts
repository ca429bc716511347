/**
 * @module notify/fcm
 * Firebase Cloud Messaging, HTTP v1 API (`POST {FCM_API_BASE}/v1/projects/{project}/messages:send`),
 * which reaches Android apps directly and iOS apps through APNs. Each message carries:
 * - `notification` (title and body, as every channel words them: notify/message) and `data`,
 *   string values the app routes on (type, notification id, trip or room id, ...);
 * - an `android` block (priority, TTL, collapse key) and an `apns` block (`apns-priority`,
 *   `apns-push-type`, `apns-expiration`, `apns-collapse-id`, the interruption level). Both go
 *   to every token: FCM applies the one of the token's platform, so an app that reported the
 *   wrong platform still gets the right treatment.
 *
 * Answers, as FCM documents them: `UNREGISTERED` (404) or an `INVALID_ARGUMENT` about the
 * token mean the token is dead: the device is removed. `SENDER_ID_MISMATCH` (the token is
 * another project's) is refused without a retry, the device kept. 401 means
 * the access token is no longer good: it is fetched again once. 429 and 5xx are retried by the
 * queue's backoff, never sooner than `Retry-After`.
 */
import { z } from "zod";
import type { DeviceRow } from "../db/notifications";
import { httpErrorClass, retryAfterSeconds, type DeliveryResult } from "./delivery-result";
import { FcmAuthError, fcmAccessToken, forgetFcmAccessToken, type FcmServiceAccount } from "./fcm-auth";
import { deliveryPayload, deliveryUrgency, routingData, type NotificationMessage } from "./message";

/** FCM refuses a message whose notification and data exceed 4096 bytes. */
export const MAX_FCM_PAYLOAD_BYTES = 4_096;

export type FcmOptions = { apiBase: string; now: number; ttlSeconds: number; timeoutMs: number };

/** The `message` of a send request, for one registration token. */
export function fcmMessage(token: string, message: NotificationMessage, now: number, ttlSeconds: number) {
  const { title, body } = deliveryPayload(message);
  const urgency = deliveryUrgency(message, now, ttlSeconds);
  const ttl = Math.max(0, urgency.ttlSeconds);
  const high = urgency.priority === "high";
  const collapse = urgency.collapseKey;
  return {
    token,
    notification: { title, body },
    data: routingData(message),
    android: {
      priority: high ? "HIGH" : "NORMAL",
      ttl: `${ttl}s`,
      ...(collapse ? { collapse_key: collapse, notification: { tag: collapse } } : {}),
    },
    apns: {
      headers: {
        "apns-priority": high ? "10" : "5",
        "apns-push-type": "alert",
        // When APNs stops trying: the same moment the Android TTL ends.
        "apns-expiration": String(Math.floor(now / 1000) + ttl),
        ...(collapse ? { "apns-collapse-id": collapse } : {}),
      },
      payload: {
        aps: {
          "interruption-level": urgency.timeSensitive ? "time-sensitive" : "active",
          ...(high ? { sound: "default" } : {}),
        },
      },
    },
  };
}

/** FCM's error body (google.rpc.Status with FcmError and BadRequest details). */
const FcmErrorBody = z.object({
  error: z.object({
    status: z.string().optional(),
    message: z.string().optional(),
    details: z
      .array(
        z.looseObject({
          errorCode: z.string().optional(),
          fieldViolations: z.array(z.looseObject({ field: z.string().optional() })).optional(),
        }),
      )
      .optional(),
  }),
});

export async function sendFcm(
  device: Pick<DeviceRow, "endpoint">,
  message: NotificationMessage,
  account: FcmServiceAccount,
  options: FcmOptions,
): Promise<DeliveryResult> {
  // An offer with under a second left is not sent: FCM's TTL of 0 means "now or never", and
  // the driver could not accept it in time anyway.
  if (deliveryUrgency(message, options.now, options.ttlSeconds).ttlSeconds <= 0)
    return { kind: "refused", reason: "expired" };
  const body = fcmMessage(device.endpoint, message, options.now, options.ttlSeconds);
  const bytes = new TextEncoder().encode(JSON.stringify({ notification: body.notification, data: body.data })).length;
  if (bytes > MAX_FCM_PAYLOAD_BYTES) return { kind: "refused", reason: "payload_too_large" };
  const url = `${options.apiBase.replace(/\/+$/, "")}/v1/projects/${account.project_id}/messages:send`;
  const payload = JSON.stringify({ message: body });
  const post = (accessToken: string) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${accessToken}` },
      body: payload,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });

  let res: Response;
  try {
    let accessToken = await fcmAccessToken(account, options.timeoutMs);
    res = await post(accessToken);
    if (res.status === 401) {
      // Revoked or expired early: one fresh token, one more try; a second 401 waits for the backoff.
      await res.body?.cancel();
      forgetFcmAccessToken(account, accessToken);
      accessToken = await fcmAccessToken(account, options.timeoutMs);
      res = await post(accessToken);
    }
  } catch (err) {
    if (err instanceof FcmAuthError) return { kind: "failed", reason: err.reason };
    throw err;
  }
  if (res.ok) {
    await res.body?.cancel();
    return { kind: "delivered" };
  }
  const parsed = FcmErrorBody.safeParse(await res.json().catch(() => null));
  const error = parsed.success ? parsed.data.error : undefined;
  const codes = new Set(
    [error?.status, ...(error?.details ?? []).map((d) => d.errorCode)].filter((c): c is string => Boolean(c)),
  );
  // Only FCM's own verdict on the token removes a device: a bare 404 (a wrong FCM_API_BASE or
  // project) or SENDER_ID_MISMATCH (a service account of another project, or a token from
  // another app) would otherwise wipe every device on a configuration mistake.
  if (codes.has("UNREGISTERED")) return { kind: "gone", reason: "FCM answered UNREGISTERED" };
  if (codes.has("SENDER_ID_MISMATCH")) return { kind: "refused", reason: "fcm_rejected" };
  if (res.status === 400 && codes.has("INVALID_ARGUMENT")) {
    if (aboutTheToken(error)) return { kind: "gone", reason: "FCM answered INVALID_ARGUMENT for the token" };
    return { kind: "refused", reason: "fcm_rejected" };
  }
  const after = retryAfterSeconds(res.headers.get("Retry-After"), options.now);
  return {
    kind: "failed",
    reason: httpErrorClass(res.status),
    ...(after === undefined ? {} : { retryAfterSeconds: after }),
  };
}

/** An INVALID_ARGUMENT names the token in a field violation, or in its message. */
function aboutTheToken(error: z.infer<typeof FcmErrorBody>["error"] | undefined): boolean {
  if (!error) return false;
  const fields = (error.details ?? []).flatMap((d) => d.fieldViolations ?? []).map((v) => v.field);
  if (fields.includes("message.token")) return true;
  return /registration token/i.test(error.message ?? "");
}
