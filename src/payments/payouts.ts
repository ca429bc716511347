/**
 * @module payments/payouts
 * Paying drivers (README, "Payouts"): a payout on the driver's request, the daily scheduled run
 * that pays every driver with at least PAYOUT_MIN_MINOR available, and the retry of payouts left
 * pending, which the reconciliation cron runs every 10 minutes.
 *
 * A payout is crash-safe because each step is durable before the next starts: the money moves
 * into transit with the pending row (db/payouts' `startPayout`, one batch); then the provider is
 * called with the Idempotency-Key `payout-<id>`, the same on every attempt; then the answer is
 * recorded with its entry (`settlePayout`, one batch). A crash or a lost answer anywhere leaves a
 * pending row, and the next attempt (the cron's) asks the provider again with the same key,
 * which answers with the first transfer rather than making a second.
 */
import type { Config } from "../config";
import {
  findPayoutByKey,
  payableDrivers,
  payoutAccountOf,
  payoutBalanceOf,
  pendingPayoutOf,
  type PayoutRow,
  settlePayout,
  startPayout,
  stuckPayouts,
} from "../db/payouts";
import type { Money } from "../domain/fare";
import { payoutAmount } from "../domain/payouts";
import { ApiError, conflict } from "../errors";
import type { Payout } from "../protocol/payouts";
import { errorReason } from "../redact";
import { paymentProvider, paymentProviderNamed } from "./provider";

/** The cron of wrangler.toml's `[triggers]` that runs the scheduled payouts; the other reconciles. */
export const PAYOUT_CRON = "0 3 * * *";

/** How the scheduled run's payout keys start; a driver's own key may not (http/routes/payouts.ts). */
export const SCHEDULED_KEY_PREFIX = "scheduled:";

/** Pending payouts the cron tries again per run at most. */
const MAX_RETRIES_PER_RUN = 50;

export function toPayout(row: PayoutRow): Payout {
  return {
    id: row.id,
    driverId: row.driverId,
    status: row.status,
    amount: { amount: row.amount, currency: row.currency },
    trigger: row.trigger,
    destination: row.destination,
    ...(row.providerRef === null ? {} : { providerRef: row.providerRef }),
    ...(row.failure === null ? {} : { failure: row.failure }),
    attempts: row.attempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Asks the provider for the payout's transfer and records the answer; the row as it stands after. */
export async function sendPayout(env: Env, config: Config, payout: PayoutRow, now: number): Promise<PayoutRow> {
  const provider = paymentProviderNamed(payout.provider, config);
  let outcome: Awaited<ReturnType<typeof provider.transfer>>;
  try {
    outcome = await provider.transfer({
      payoutId: payout.id,
      driverId: payout.driverId,
      amount: { amount: payout.amount, currency: payout.currency },
      destination: payout.destination,
      retry: payout.attempts > 0,
    });
  } catch (err) {
    // Not the provider's answer (a missing secret, say): nothing is known to have moved.
    outcome = { status: "unknown", reason: errorReason(err) };
  }
  return settlePayout(env, payout, outcome, now);
}

export type PayoutRequest = {
  driverId: string;
  idempotencyKey: string;
  /** Undefined: everything available. */
  amount: Money | undefined;
};

/**
 * A driver's payout on request: refused (ApiError) without a payout account, with nothing
 * available, below the minimum, above what is available, or while another is in flight; a key
 * used before answers with its payout (`replayed`), or 409 when it named another amount.
 */
export async function requestPayout(
  env: Env,
  config: Config,
  request: PayoutRequest,
  now: number,
): Promise<{ payout: PayoutRow; replayed: boolean }> {
  const currency = config.FARE_CURRENCY;
  const earlier = await findPayoutByKey(env, request.driverId, request.idempotencyKey);
  if (earlier) return replay(earlier, request);
  if (request.amount && request.amount.currency !== currency)
    throw new ApiError(400, "invalid_request", `payouts are in ${currency}`);
  const destination = (await payoutAccountOf(env.DB, request.driverId))?.accountId;
  if (!destination)
    throw new ApiError(409, "payout_account_missing", "set a payout account first (PUT /v1/drivers/me/payout-account)");
  const holdSince = now - config.PAYOUT_HOLD_MS;
  for (let attempt = 0; attempt < 3; attempt++) {
    const inFlight = await pendingPayoutOf(env, request.driverId);
    if (inFlight) throw payoutInFlight(inFlight);
    const balance = await payoutBalanceOf(env, request.driverId, currency, holdSince);
    const decided = payoutAmount(request.amount?.amount, balance.available.amount, config.PAYOUT_MIN_MINOR);
    if (!decided.ok) throw payoutRefusal(decided.reason, balance, config);
    const started = await startPayout(
      env,
      {
        driverId: request.driverId,
        idempotencyKey: request.idempotencyKey,
        trigger: "request",
        amount: { amount: decided.amount, currency },
        provider: paymentProvider(config).name,
        destination,
        holdSince,
      },
      now,
    );
    if (started.status === "duplicate") return replay(started.payout, request);
    if (started.status === "started")
      return { payout: await sendPayout(env, config, started.payout, Date.now()), replayed: false };
    // Refused by the guard: another payout started, or the earnings moved, since the reads. Look again.
  }
  throw new ApiError(503, "internal", "the driver's earnings kept changing; try again");
}

function replay(payout: PayoutRow, request: PayoutRequest): { payout: PayoutRow; replayed: boolean } {
  if (request.amount && request.amount.amount !== payout.amount)
    throw conflict("this Idempotency-Key was used for a payout of another amount", { payout: toPayout(payout) });
  return { payout, replayed: true };
}

function payoutInFlight(payout: PayoutRow): ApiError {
  return new ApiError(409, "payout_in_flight", "a payout of yours is still under way; wait for it to finish", {
    payout: toPayout(payout),
  });
}

function payoutRefusal(
  reason: "nothing_available" | "below_minimum" | "over_available",
  balance: Awaited<ReturnType<typeof payoutBalanceOf>>,
  config: Config,
): ApiError {
  const minimum = { amount: config.PAYOUT_MIN_MINOR, currency: config.FARE_CURRENCY };
  const details = { ...balance, minimum };
  switch (reason) {
    case "nothing_available":
      return new ApiError(409, "nothing_to_pay_out", "you have no earnings available to pay out", details);
    case "below_minimum":
      return new ApiError(
        409,
        "payout_below_minimum",
        `a payout is at least ${config.PAYOUT_MIN_MINOR} minor units`,
        details,
      );
    case "over_available":
      return new ApiError(
        409,
        "payout_exceeds_available",
        `at most ${balance.available.amount} is available to pay out`,
        details,
      );
  }
}

export type PayoutRunSummary = {
  at: number;
  /** Drivers with enough available, this run's batch of them. */
  eligible: number;
  paid: number;
  failed: number;
  pending: number;
  errors: { driverId: string; error: string }[];
};

/**
 * The scheduled run (the daily cron in wrangler.toml): pays everything available to each driver
 * with a payout account, nothing in flight, and at least PAYOUT_MIN_MINOR available, at most
 * PAYOUT_BATCH_SIZE drivers a run (the rest, next run). Each payout's key is the run's time, so a
 * repeated delivery of the same run pays nobody twice.
 */
export async function runScheduledPayouts(env: Env, config: Config, scheduledTime: number): Promise<PayoutRunSummary> {
  const now = Math.max(scheduledTime, Date.now());
  const currency = config.FARE_CURRENCY;
  const holdSince = now - config.PAYOUT_HOLD_MS;
  const summary: PayoutRunSummary = { at: now, eligible: 0, paid: 0, failed: 0, pending: 0, errors: [] };
  const drivers = await payableDrivers(env, currency, holdSince, config.PAYOUT_MIN_MINOR, config.PAYOUT_BATCH_SIZE);
  summary.eligible = drivers.length;
  // One at a time: a run of a hundred transfers is minutes at worst, and it keeps the provider's
  // rate limit out of the picture.
  for (const driver of drivers) {
    try {
      const started = await startPayout(
        env,
        {
          driverId: driver.driverId,
          idempotencyKey: `${SCHEDULED_KEY_PREFIX}${scheduledTime}`,
          trigger: "scheduled",
          amount: { amount: driver.available, currency },
          provider: paymentProvider(config).name,
          destination: driver.accountId,
          holdSince,
        },
        now,
      );
      // A repeat of this run, or earnings that moved since the read: the next run sees them again.
      if (started.status !== "started") continue;
      const payout = await sendPayout(env, config, started.payout, Date.now());
      summary[payout.status]++;
    } catch (err) {
      summary.errors.push({ driverId: driver.driverId, error: errorReason(err) });
    }
  }
  console.log(
    JSON.stringify({
      level: summary.errors.length + summary.failed > 0 ? "warn" : "info",
      where: "payouts",
      event: "scheduled_run",
      ...summary,
    }),
  );
  return summary;
}

export type PayoutRetrySummary = { retried: number; paid: number; failed: number; pending: number };

/**
 * Pending payouts whose request is over (untouched for PAYOUT_RETRY_AFTER_MS): their transfer is
 * asked for again with the same idempotency key. Run by the reconciliation cron.
 */
export async function retryStuckPayouts(env: Env, config: Config, now: number): Promise<PayoutRetrySummary> {
  const summary: PayoutRetrySummary = { retried: 0, paid: 0, failed: 0, pending: 0 };
  for (const payout of await stuckPayouts(env, now - config.PAYOUT_RETRY_AFTER_MS, MAX_RETRIES_PER_RUN)) {
    summary.retried++;
    // One payout that cannot settle now (its driver's money is being moved, 503) must not hold up
    // the rest; it stays pending, and the provider answers its key with the same transfer next time.
    try {
      const after = await sendPayout(env, config, payout, now);
      summary[after.status]++;
    } catch (err) {
      summary.pending++;
      console.error(
        JSON.stringify({
          level: "warn",
          where: "payouts",
          event: "retry_deferred",
          payoutId: payout.id,
          reason: String(err),
        }),
      );
    }
  }
  return summary;
}
