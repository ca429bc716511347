/**
 * @module payments/provider
 * How money gets into a wallet: a PaymentProvider starts a top-up and turns the provider's
 * notifications into events. PAYMENT_PROVIDER picks the implementation: `stripe` (PaymentIntents
 * over Stripe's REST API, confirmed by signed webhooks) or `sandbox` (settles at once, like a
 * provider's test mode, for `npm run dev` and the tests). Both end in the same place: the route
 * hands a `succeeded` event to db/ledger's `creditTopUp`, keyed by the top-up id.
 */
import type { Config } from "../config";
import type { Money } from "../domain/fare";
import { SandboxProvider } from "./sandbox";
import { StripeProvider } from "./stripe";

export type TopUpStart = { topUpId: string; userId: string; amount: Money };

/** What the provider made of a new top-up; `event` is set when it settled at once (the sandbox). */
export type StartedTopUp = { providerRef: string; clientSecret: string | null; event: ProviderEvent | null };

export type ProviderEvent =
  | { type: "top_up.succeeded"; topUpId: string; providerRef: string; amount: Money }
  | { type: "top_up.failed"; topUpId: string; providerRef: string }
  /** A genuine event the service has nothing to do for (answered 200 so the provider stops). */
  | { type: "ignored"; providerType: string };

export interface PaymentProvider {
  readonly name: "stripe" | "sandbox";
  startTopUp(topUp: TopUpStart): Promise<StartedTopUp>;
  /** Verifies and reads a webhook; throws ApiError 400 when it is not authentic. */
  readWebhook(rawBody: string, headers: Headers, now: number): Promise<ProviderEvent>;
}

export function paymentProvider(config: Config): PaymentProvider {
  return config.PAYMENT_PROVIDER === "stripe" ? new StripeProvider(config) : new SandboxProvider();
}
