/**
 * @module http/holds
 * A trip request's hold on the rider's wallet as the API answers it: db/holds' `holdFare`
 * says whether the wallet covered the fare, and a refusal becomes 402 `insufficient_funds`
 * with what was needed and what is available.
 */
import { holdFare } from "../db/holds";
import type { Money } from "../domain/fare";
import { ApiError } from "../errors";

/** Holds the fare (see `holdFare`); throws 402 `insufficient_funds` when the wallet does not cover it. */
export async function placeHold(env: Env, tripId: string, riderId: string, amount: Money, now: number): Promise<void> {
  const hold = await holdFare(env, tripId, riderId, amount, now);
  if (hold.held) return;
  throw new ApiError(
    402,
    "insufficient_funds",
    "your available balance does not cover this trip's fare; top up your wallet",
    { needed: hold.needed, available: hold.available },
  );
}
