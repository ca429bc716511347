/**
 * @module payments/reconcile
 * The reconciliation the Cron Trigger runs (`[triggers] crons` in wrangler.toml, `scheduled`
 * in src/index.ts). Five jobs:
 *
 * 1. Holds left behind. (A scheduled ride's hold is not one: the trip is `scheduled` until its
 *    dispatch starts, an active status, so it keeps its hold like a trip under way.) A trip
 *    request places its hold before the trip object exists; if the request dies in between (or
 *    its release on the error path fails), nothing else would ever give that money back. Every
 *    trip that still holds money and whose hold is older than RECONCILE_HOLD_GRACE_MS (so a
 *    request still in flight is left alone) is asked for its status: an active trip keeps its
 *    hold; an ended one first posts its own pending settlement (the capture or fee it owes),
 *    then whatever is still held is released; a trip that does not exist has its hold released.
 * 2. Scheduled rides (README, "Scheduled rides") whose pickup is less than SCHEDULE_HOLD_LEAD_MS
 *    away or past: each is asked to set its alarm again for its next step, in case the alarm was
 *    lost; a listed ride whose trip was never created (its request died) is taken off the list.
 * 3. Payouts left pending (payments/payouts.ts): a request that died after moving the money into
 *    transit, or whose provider call got no answer, is tried again with the same idempotency
 *    key, so the provider answers with the transfer it made, if it made one.
 * 4. Money between partitions (db/ledger-transfers.ts): a following leg of an entry between two
 *    people still pending after TRANSFER_GRACE_MS (its posting died between the two steps) is
 *    posted in its owner's shard.
 * 5. The ledger's own rules: every entry's lines sum to zero in its shard, every account's balance
 *    (the sum of its lines) has the sign its kind allows (no wallet, hold or payout in transit
 *    below zero, no receivable above it), and the transit account of all shards holds exactly what
 *    the pending transfers carry. Each account, entry or currency that breaks one is reported.
 *
 * A release is the ledger entry `trip:<id>:release`, the same key a trip's settlement posts, so
 * the cron and a trip settling at the same moment post it once between them, and the
 * settlement's charge is guarded on the wallet it reads in its own transaction (db/settlement.ts,
 * db/postings.ts): running the cron twice, or next to a settling trip, is safe.
 */
import type { Config } from "../config";
import { heldFor } from "../db/holds";
import { type LedgerProblem, ledgerProblems, type OpenHold, openHolds, transitCheckable } from "../db/ledger-checks";
import { drivePendingTransfers } from "../db/ledger-transfers";
import { postEntry } from "../db/postings";
import { overdueScheduledTrips, unlistScheduledTrip } from "../db/scheduled-trips";
import type { Money } from "../domain/fare";
import { releaseEntry } from "../domain/wallet-entries";
import { isActive } from "../domain/trip";
import type { Result } from "../errors";
import { tripRoom } from "../rooms/stubs";
import { type PayoutRetrySummary, retryStuckPayouts } from "./payouts";

/** Trips looked at per run at most; the rest wait for the next run. */
const MAX_HOLDS_PER_RUN = 200;

/**
 * How long a posting has to finish its own following legs before the cron does: they are posted
 * right after the first, within the same request, so a minute is generous.
 */
const TRANSFER_GRACE_MS = 60_000;

/** Pending transfers the cron posts per shard and run at most. */
const MAX_TRANSFERS_PER_RUN = 500;

export type ReleasedHold = { tripId: string; riderId: string; amount: Money; why: "trip_ended" | "unknown_trip" };

export type ReconcileSummary = {
  at: number;
  /** Trips with money on hold older than the grace period. */
  holdsChecked: number;
  released: ReleasedHold[];
  /** Trips still under way: their hold stays. */
  active: number;
  failed: { tripId: string; error: string }[];
  /** Scheduled rides asked to set their alarm again. */
  scheduledRearmed: number;
  /** Pending payouts whose transfer was asked for again. */
  payouts: PayoutRetrySummary;
  /** Following legs of entries between two people that the cron posted (their posting had died). */
  transfersCompleted: number;
  ledgerProblems: LedgerProblem[];
  /** Whether the transit account was checked across shards: not while a shard move runs (db/ledger-checks). */
  transitChecked: boolean;
};

export async function reconcile(env: Env, config: Config, now: number): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    at: now,
    holdsChecked: 0,
    released: [],
    active: 0,
    failed: [],
    scheduledRearmed: 0,
    payouts: { retried: 0, paid: 0, failed: 0, pending: 0 },
    transfersCompleted: 0,
    ledgerProblems: [],
    transitChecked: transitCheckable(env),
  };
  for (const hold of await openHolds(env, now - config.RECONCILE_HOLD_GRACE_MS, MAX_HOLDS_PER_RUN)) {
    summary.holdsChecked++;
    try {
      const outcome = await reconcileHold(env, hold, now);
      if (outcome === "active") summary.active++;
      else if (outcome) summary.released.push(outcome);
    } catch (err) {
      summary.failed.push({ tripId: hold.tripId, error: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const tripId of await overdueScheduledTrips(env.DB, now + config.SCHEDULE_HOLD_LEAD_MS, MAX_HOLDS_PER_RUN)) {
    try {
      const rearmed = asResult(await tripRoom(env, tripId).rearmSchedule());
      if (rearmed.ok) summary.scheduledRearmed++;
      else if (rearmed.error.code === "not_found") await unlistScheduledTrip(env.DB, tripId);
    } catch (err) {
      summary.failed.push({ tripId, error: err instanceof Error ? err.message : String(err) });
    }
  }
  try {
    summary.payouts = await retryStuckPayouts(env, config, now);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", where: "reconcile", event: "payout_retry", reason: String(err) }));
  }
  try {
    summary.transfersCompleted = await drivePendingTransfers(env, now - TRANSFER_GRACE_MS, MAX_TRANSFERS_PER_RUN, now);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", where: "reconcile", event: "transfers", reason: String(err) }));
  }
  summary.ledgerProblems = await ledgerProblems(env);
  for (const problem of summary.ledgerProblems)
    console.error(JSON.stringify({ level: "error", where: "reconcile", event: "ledger_mismatch", ...problem }));
  console.log(
    JSON.stringify({
      level: summary.ledgerProblems.length + summary.failed.length > 0 ? "warn" : "info",
      where: "reconcile",
      event: "summary",
      ...summary,
    }),
  );
  return summary;
}

/** The cron's entry: one run, with its summary logged. */
export async function runScheduledReconciliation(
  env: Env,
  config: Config,
  scheduledTime: number,
): Promise<ReconcileSummary> {
  return reconcile(env, config, Math.max(scheduledTime, Date.now()));
}

async function reconcileHold(env: Env, hold: OpenHold, now: number): Promise<ReleasedHold | "active" | null> {
  const riderId = hold.account.slice("hold:".length);
  const trip = tripRoom(env, hold.tripId);
  const status = asResult(await trip.status());
  let why: ReleasedHold["why"];
  if (status.ok) {
    if (isActive(status.value.status)) return "active";
    // The trip's own settlement first: a completed ride captures from its hold, not from a released one.
    const settled = asResult(await trip.settle());
    if (!settled.ok) throw new Error(`the trip could not settle: ${settled.error.message}`);
    why = "trip_ended";
  } else if (status.error.code === "not_found") {
    why = "unknown_trip";
  } else {
    throw new Error(`the trip did not answer: ${status.error.message}`);
  }
  const release = releaseEntry(hold.tripId, riderId, await heldFor(env, hold.tripId, riderId, hold.currency));
  if (!release) return null;
  // "duplicate": the trip's settlement released it first, which is just as good.
  if ((await postEntry(env, release, now)) !== "posted") return null;
  const amount = release.lines.find((l) => l.amount > 0)?.amount ?? 0;
  return { tripId: hold.tripId, riderId, amount: { amount, currency: hold.currency }, why };
}

/** The plain Result: the RPC stub's type of it hides the error variant from narrowing. */
const asResult = <T>(result: Result<T>): Result<T> => result;
