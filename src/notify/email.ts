/**
 * @module notify/email
 * The email channel over Resend's REST API (resend.com/docs/api-reference/emails/send-email):
 * `POST {RESEND_API_BASE}/emails` with `Authorization: Bearer RESEND_API_KEY` and a JSON body
 * `{ from, to, subject, text, html }`. The notification id goes as `Idempotency-Key`, so a
 * retried send of one notification (a lost answer, a redelivered queue message) is one email
 * at Resend. Failures are told by class only, as every provider's (notify/delivery-result).
 */
import { httpErrorClass, retryAfterSeconds, type DeliveryResult } from "./delivery-result";
import type { Email } from "./templates";

export type EmailSettings = { apiBase: string; apiKey: string; from: string; timeoutMs: number; now: number };

export async function sendEmail(
  to: string,
  email: Email,
  idempotencyKey: string,
  settings: EmailSettings,
): Promise<DeliveryResult> {
  const res = await fetch(`${settings.apiBase.replace(/\/+$/, "")}/emails`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${settings.apiKey}`,
      // Resend keeps a key for 24 hours; a notification id is at most 256 characters, as it allows.
      "Idempotency-Key": idempotencyKey,
      "User-Agent": "ridewire-notify/1",
    },
    body: JSON.stringify({ from: settings.from, to: [to], subject: email.subject, text: email.text, html: email.html }),
    redirect: "manual",
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
  await res.body?.cancel();
  if (res.ok) return { kind: "delivered" };
  // 429 (rate or daily quota), 409 (the same key still in flight) and 5xx pass; Resend says so.
  if (res.status === 429 || res.status === 409 || res.status >= 500) {
    const after = retryAfterSeconds(res.headers.get("Retry-After"), settings.now);
    return {
      kind: "failed",
      reason: httpErrorClass(res.status),
      ...(after === undefined ? {} : { retryAfterSeconds: after }),
    };
  }
  // 400/422 (a bad address or sender), 401/403 (the key): the same email would be refused again.
  return { kind: "refused", reason: "email_rejected" };
}
