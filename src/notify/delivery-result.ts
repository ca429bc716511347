/**
 * @module notify/delivery-result
 * How one delivery went, as the providers (webhook, Web Push, FCM) report it and the consumer reads
 * it. Failures carry a class, never raw error text: see notify/delivery.
 */

/** What a user may learn of a failed delivery. */
export type DeliveryErrorClass =
  | "timeout"
  | "network"
  | "http_3xx"
  | "http_4xx"
  | "http_5xx"
  | "refused_url"
  | "not_configured"
  /** FCM's token endpoint refused the service account (a revoked key, a wrong account). */
  | "fcm_auth"
  /** FCM refused the message itself (400 not about the token): resending it cannot help. */
  | "fcm_rejected"
  /** Its time ran out before it could be sent (an offer). */
  | "expired"
  | "payload_too_large"
  /** The email provider refused the message (a bad address or sender, a revoked key). */
  | "email_rejected"
  /** Twilio refused the message (not a valid number, the number opted out, credentials). */
  | "sms_rejected";

export type DeliveryResult =
  | { kind: "delivered" }
  | { kind: "gone"; reason: string }
  | { kind: "refused"; reason: DeliveryErrorClass }
  /** `retryAfterSeconds`: the provider asked for at least this long before the next try (429, 503). */
  | { kind: "failed"; reason: DeliveryErrorClass; retryAfterSeconds?: number };

/** The class of a non-2xx answer. */
export function httpErrorClass(status: number): DeliveryErrorClass {
  if (status >= 500) return "http_5xx";
  if (status >= 400) return "http_4xx";
  return "http_3xx";
}

/** A `Retry-After` header in seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  // Only the IMF-fixdate form HTTP requires ("Sun, 06 Nov 1994 08:49:37 GMT"): Date.parse
  // would read "-5" or "3000" as years.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
