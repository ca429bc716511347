/**
 * The local stand-in of Stripe's API that test/helpers/stripe-server.mjs runs on 127.0.0.1:
 * where it listens and the keys it checks and signs with, as the global setup provides them.
 */
import { inject } from "vitest";

export type StripeStandIn = { baseUrl: string; secretKey: string; webhookSecret: string };

declare module "vitest" {
  export interface ProvidedContext {
    stripe: StripeStandIn;
  }
}

/** Where the stand-in listens, and its secret key and webhook signing secret. */
export const stripeStandIn = (): StripeStandIn => inject("stripe");
