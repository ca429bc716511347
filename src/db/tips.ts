/**
 * @module db/tips
 * Riders' tips on completed trips in the D1 ledger (the posting rule is domain/tips' `tipEntry`).
 * A tip's first leg is in the rider's partition (their wallet pays it), and its leg to the driver's
 * earnings follows in the driver's (db/postings.ts). Three guarantees, each held by D1 in the
 * statement that inserts the first leg, not by a read before:
 *
 * - one tip per (trip, Idempotency-Key): the entry's key is unique, so a retry posts nothing;
 * - the wallet covers it: the wallet guard every posting carries (db/postings.ts);
 * - the trip's tips never add up to more than the bound: the entry is inserted only if the tips
 *   already posted plus this one stay within it (`INSERT … SELECT … WHERE`), so of two tips
 *   racing for the last of the bound, the second inserts nothing and is refused.
 */
import { Account, type Line } from "../domain/ledger-entries";
import type { Money } from "../domain/fare";
import { tipEntry, tipKey } from "../domain/tips";
import { entryByKey } from "./journal-entries";
import { ledgerOf } from "./ledger-statements";
import { finishTransfers } from "./ledger-transfers";
import { firstLegOf, postFirstLeg } from "./postings";
import type { SqlCondition } from "./sql-condition";
import { walletOf } from "./wallet-views";

export type TipRequest = {
  tripId: string;
  requestKey: string;
  riderId: string;
  driverId: string;
  amount: Money;
  /** The most the trip's tips may add up to (domain/tips' `tipBound` of the fare charged). */
  bound: number;
};

/** A trip's tips as they stand after a tip: this one, all of them, and what is left under the bound. */
export type TipStanding = { amount: Money; tipped: Money; tippable: Money; createdAt: number };

export type TipOutcome =
  | { status: "posted" | "duplicate"; tip: TipStanding }
  /** Refused: this tip would take the trip's tips beyond the bound. */
  | { status: "over_bound"; tipped: Money; tippable: Money }
  /** Refused: the rider's available balance does not cover it. */
  | { status: "insufficient_funds"; needed: Money; available: Money };

/**
 * The SQL total of a trip's tips so far, read where the guard runs (the rider's partition): what
 * they took from the rider's wallet. Only the trip's rider tips it, so that is all its tips.
 */
function tippedSql(tripId: string, riderId: string, currency: string): SqlCondition {
  return {
    sql: `(SELECT -COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
            WHERE e.trip_id = ? AND e.kind = 'tip' AND l.account_id = ? AND l.currency = ?)`,
    params: [tripId, Account.wallet(riderId), currency],
  };
}

export async function tippedSoFar(env: Env, tripId: string, riderId: string, currency: string): Promise<number> {
  const total = tippedSql(tripId, riderId, currency);
  const row = await ledgerOf(env, riderId)
    .prepare(`SELECT ${total.sql} AS tipped`)
    .bind(...total.params)
    .first<{ tipped: number }>();
  return row?.tipped ?? 0;
}

/** The standing of a trip's tips once `tipped` is posted in all, of which `amount` by this tip. */
function standing(amount: Money, tipped: number, bound: number, createdAt: number): TipStanding {
  const { currency } = amount;
  return {
    amount,
    tipped: { amount: tipped, currency },
    tippable: { amount: Math.max(0, bound - tipped), currency },
    createdAt,
  };
}

/** The lines of one stored entry (a tip's amount is what its first leg took from the rider's wallet). */
async function linesOf(d1: D1Database, entryId: string): Promise<Line[]> {
  const rows = await d1
    .prepare(`SELECT account_id AS account, amount, currency FROM journal_lines WHERE entry_id = ?`)
    .bind(entryId)
    .all<{ account: string; amount: number; currency: string }>();
  return rows.results;
}

/** The standing after the tip stored under `key`, read back for a replayed request. */
async function recordedTip(env: Env, request: TipRequest, key: string): Promise<TipStanding | undefined> {
  const d1 = ledgerOf(env, request.riderId);
  const stored = await entryByKey(d1, key);
  if (!stored) return undefined;
  const { currency } = request.amount;
  const amount = -(await linesOf(d1, stored.id))
    .filter((l) => l.account === Account.wallet(request.riderId))
    .reduce((sum, l) => sum + l.amount, 0);
  const tipped = await tippedSoFar(env, request.tripId, request.riderId, currency);
  return standing({ amount, currency }, tipped, request.bound, stored.createdAt);
}

/**
 * Posts the rider's tip of `amount` to the driver, once per Idempotency-Key, within the bound and
 * the wallet. A replayed key answers with the tip it posted first (`duplicate`), whatever amount
 * it names now: the route tells a different amount apart.
 */
export async function tipTrip(env: Env, request: TipRequest, now: number): Promise<TipOutcome> {
  const key = tipKey(request.tripId, request.requestKey);
  const earlier = await recordedTip(env, request, key);
  if (earlier) {
    // A replay after a stop between the legs: the driver's leg goes in now, not at the next sweep.
    await finishTransfers(env, ledgerOf(env, request.riderId), key, now);
    return { status: "duplicate", tip: earlier };
  }
  const { currency } = request.amount;
  const entry = tipEntry(key, request.tripId, request.riderId, request.driverId, request.amount);
  const total = tippedSql(request.tripId, request.riderId, currency);
  const leg = firstLegOf(env, entry, now, {
    sql: `${total.sql} + ? <= ?`,
    params: [...total.params, request.amount.amount, request.bound],
  });
  if (await postFirstLeg(env, leg, entry.kind, now)) {
    const tipped = await tippedSoFar(env, request.tripId, request.riderId, currency);
    return { status: "posted", tip: standing(request.amount, tipped, request.bound, now) };
  }
  // Not posted: a twin request with this key won, the bound was reached, or the wallet is short.
  const twin = await recordedTip(env, request, key);
  if (twin) return { status: "duplicate", tip: twin };
  const tipped = await tippedSoFar(env, request.tripId, request.riderId, currency);
  if (tipped + request.amount.amount > request.bound)
    return {
      status: "over_bound",
      tipped: { amount: tipped, currency },
      tippable: { amount: Math.max(0, request.bound - tipped), currency },
    };
  const wallet = await walletOf(env, request.riderId, currency);
  return { status: "insufficient_funds", needed: request.amount, available: wallet.available };
}
