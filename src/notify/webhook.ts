/**
 * @module notify/webhook
 * Signed webhooks. Each delivery is a POST of the JSON payload with
 * `X-Ridewire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with
 * the secret the user was given once at registration. The receiver recomputes the HMAC over
 * the exact bytes it got and rejects old timestamps, which stops replays.
 */
import { toBase64Url, utf8 } from "../auth/encoding";
import { httpErrorClass, type DeliveryResult } from "./delivery-result";

export const SIGNATURE_HEADER = "X-Ridewire-Signature";

/** A fresh secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export async function signatureHeader(secret: string, body: string, unixSeconds: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`${unixSeconds}.${body}`)));
  return `t=${unixSeconds},v1=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function sendWebhook(
  target: { url: string; secret: string },
  notificationId: string,
  body: string,
  options: { now: number; timeoutMs: number },
): Promise<DeliveryResult> {
  const signature = await signatureHeader(target.secret, body, Math.floor(options.now / 1000));
  const res = await fetch(target.url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "ridewire-webhooks/1",
      "X-Ridewire-Notification-Id": notificationId,
      [SIGNATURE_HEADER]: signature,
    },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  await res.body?.cancel();
  if (res.ok) return { kind: "delivered" };
  // 410 is the receiver's way to unsubscribe; anything else (404 included) may be passing.
  if (res.status === 410) return { kind: "gone", reason: "webhook answered 410" };
  return { kind: "failed", reason: httpErrorClass(res.status) };
}
