/**
 * @module payments/provider
 * How money gets into a wallet: a PaymentProvider starts a top-up and turns the provider's
 * notifications into events. PAYMENT_PROVIDER picks the implementation: `stripe` (PaymentIntents
 * over Stripe's REST API, confirmed by signed webhooks) or `sandbox` (settles at once, like a
 * provider's test mode, for `npm run dev` and the tests). Both end in the same place: the route
 * hands a `succeeded` event to db/top-ups' `creditTopUp`, keyed by the top-up id. The interface
 * and its events are in types.ts.
 */
import type { Config } from "../config";
import { SandboxProvider } from "./sandbox";
import { StripeProvider } from "./stripe";
import type { PaymentProvider } from "./types";

export function paymentProvider(config: Config): PaymentProvider {
  return paymentProviderNamed(config.PAYMENT_PROVIDER, config);
}

/**
 * The provider of that name: a payout is settled through the provider it was made with, even
 * after PAYMENT_PROVIDER changed (a Stripe transfer is only ever looked up at Stripe).
 */
export function paymentProviderNamed(name: string, config: Config): PaymentProvider {
  return name === "stripe" ? new StripeProvider(config) : new SandboxProvider();
}
