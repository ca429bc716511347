/**
 * @module payments/types
 * What every payment provider implements and answers; its own module so that the providers
 * (sandbox.ts, stripe.ts) and provider.ts, which picks one, import it without importing each
 * other in a loop.
 */
import type { Money } from "../domain/fare";

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
