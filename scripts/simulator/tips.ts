/**
 * @module simulator/tips
 * A rider's tip after a completed ride: a random amount from 1 minor unit to the server's bound
 * (docs/API.md, `POST /v1/trips/:id/tip`: the lower of TIP_MAX_PERCENT of the fare charged and
 * TIP_MAX_MINOR; the defaults here, as a client cannot read the server's settings). The charge
 * settles behind the completion, so a 503 is tried again shortly with the same idempotency key,
 * and a short wallet is topped up first.
 */
import { isRidewireError, type RidewireClient, type Trip } from "@ridewire/client";
import { randomUUID } from "node:crypto";
import { sleep } from "./context";
import type { Stats } from "./stats";

/** wrangler.toml's TIP_MAX_PERCENT and TIP_MAX_MINOR. */
const TIP_MAX_PERCENT = 50;
const TIP_MAX_MINOR = 10_000;
const ATTEMPTS = 4;

/** The most a trip charged `fareMinor` may be tipped in all. */
export function tipBound(fareMinor: number): number {
  return Math.min(Math.floor((fareMinor * TIP_MAX_PERCENT) / 100), TIP_MAX_MINOR);
}

export async function tipAfterRide(
  api: RidewireClient,
  trip: Trip,
  stats: Stats,
  topUp: () => Promise<void>,
): Promise<void> {
  if (!trip.fare) return;
  const bound = tipBound(trip.fare.amount);
  if (bound < 1) return;
  const amount = { amount: 1 + Math.floor(Math.random() * bound), currency: trip.fare.currency };
  const idempotencyKey = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      await api.tip(trip.id, amount, { idempotencyKey });
      stats.tips.sent++;
      stats.tips.minor += amount.amount;
      return;
    } catch (err) {
      const retry = attempt < ATTEMPTS && isRidewireError(err);
      if (retry && err.status === 503) await sleep(500 * attempt);
      else if (retry && err.code === "insufficient_funds") await topUp();
      else return stats.error("tip", err);
    }
  }
}
