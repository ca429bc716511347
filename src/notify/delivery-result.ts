/**
 * @module notify/delivery-result
 * How one delivery went, as the providers (webhook, Web Push) report it and the consumer reads
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
  | "not_configured";

export type DeliveryResult =
  | { kind: "delivered" }
  | { kind: "gone"; reason: string }
  | { kind: "refused"; reason: DeliveryErrorClass }
  | { kind: "failed"; reason: DeliveryErrorClass };

/** The class of a non-2xx answer. */
export function httpErrorClass(status: number): DeliveryErrorClass {
  if (status >= 500) return "http_5xx";
  if (status >= 400) return "http_4xx";
  return "http_3xx";
}
