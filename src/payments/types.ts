/**
 * @module payments/types
 * What every payment provider implements and answers (top-ups in, payouts out); its own module so that the providers
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

/**
 * A payout to send: the same payout id (so the same idempotency key) on every attempt; `retry`
 * when an earlier attempt may have made the transfer already.
 */
export type TransferStart = { payoutId: string; driverId: string; amount: Money; destination: string; retry: boolean };

/**
 * What came of a transfer attempt. `failed` is definite: the provider moved nothing and never
 * will for this payout. `unknown` (no answer, a server error, a rate limit) may have moved the
 * money: the payout stays pending and is tried again with the same idempotency key.
 */
export type TransferOutcome =
  | { status: "paid"; providerRef: string }
  | { status: "failed"; reason: string }
  | { status: "unknown"; reason: string };

export interface PaymentProvider {
  readonly name: "stripe" | "sandbox";
  startTopUp(topUp: TopUpStart): Promise<StartedTopUp>;
  /** Verifies and reads a webhook; throws ApiError 400 when it is not authentic. */
  readWebhook(rawBody: string, headers: Headers, now: number): Promise<ProviderEvent>;
  /** Sends a payout to the driver's connected account; never throws for the provider's answers. */
  transfer(transfer: TransferStart): Promise<TransferOutcome>;
  /** Whether payouts can go to `accountId` (a connected account of this platform). */
  payoutAccountExists(accountId: string): Promise<boolean>;
}
