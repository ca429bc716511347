/**
 * @module db/refunds
 * Operators' refunds of a trip's charge in the D1 ledger (the posting rule is
 * domain/refunds' `partialRefundEntry`). Three guarantees, each held by D1 rather than by a
 * read before the write:
 *
 * - one refund per (trip, Idempotency-Key): the entry's key is unique, so a retry posts nothing;
 * - never more than was charged, across all refunds: the entry is inserted only if the trip's
 *   refunds still add up to what this one was computed from (`INSERT … SELECT … WHERE`), so of
 *   two refunds racing, the second is recomputed from the new total or refused;
 *
 * The refund's first leg is in the rider's partition (it credits their wallet or receivable, and
 * the guard reads their lines); the driver's share and the commission follow in the driver's
 * (db/postings.ts). The caller writes the audit record once the refund is posted
 * (http/routes/admin.ts), in `DB`.
 */
import { Account, type Entry } from "../domain/ledger-entries";
import { legKey } from "../domain/ledger-legs";
import { partialRefundEntry, refundedBy, tripRefundKey } from "../domain/refunds";
import type { Money } from "../domain/fare";
import type { Refund } from "../protocol/admin";
import { chargeOf, entryByKey } from "./journal-entries";
import { ledgerOf } from "./ledger-statements";
import { finishTransfers } from "./ledger-transfers";
import { firstLegOf, postFirstLeg } from "./postings";
import type { SqlCondition } from "./sql-condition";

export type RefundRequest = { tripId: string; riderId: string; requestKey: string; amount: Money | undefined };

/** Where a trip's charge stands: what was charged, refunded so far, and what is left. */
export type RefundStanding = { charged: Money; refunded: Money; refundable: Money };

export type RefundOutcome =
  | { status: "posted"; refund: Refund; entry: Entry }
  /** The same request was refunded before: answer with its record. */
  | { status: "duplicate"; ledgerKey: string }
  /** Refused: the trip was not charged. */
  | { status: "not_charged" }
  /** Refused: the amount asked is in another currency than the charge. */
  | { status: "other_currency"; charged: Money }
  /** Refused: nothing is left to refund, or less than the amount asked. */
  | { status: "refunded_in_full" | "over_refundable"; standing: RefundStanding }
  /** Refused: other refunds of the trip kept moving its total while this one was computed. */
  | { status: "contended" };

const ATTEMPTS = 5;

/**
 * The SQL total of a trip's refunds so far: what they gave the rider back (wallet and receivable
 * lines), or up to the line `upToLine` (a refund read back with those before it).
 */
function refundedSql(
  tripId: string,
  riderId: string,
  currency: string,
  upToLine = Number.MAX_SAFE_INTEGER,
): SqlCondition {
  return {
    sql: `(SELECT COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
            WHERE e.trip_id = ? AND e.kind = 'refund' AND l.account_id IN (?, ?) AND l.currency = ? AND l.id <= ?)`,
    params: [tripId, Account.wallet(riderId), Account.receivable(riderId), currency, upToLine],
  };
}

async function refundedSoFar(d1: D1Database, tripId: string, riderId: string, currency: string): Promise<number> {
  const total = refundedSql(tripId, riderId, currency);
  const row = await d1
    .prepare(`SELECT ${total.sql} AS refunded`)
    .bind(...total.params)
    .first<{ refunded: number }>();
  return row?.refunded ?? 0;
}

/**
 * Refunds `amount` (all that is left when undefined) of the trip's capture or fee. Refused when
 * the trip was not charged, is refunded in full, or the amount exceeds what is left.
 */
export async function refundTrip(env: Env, request: RefundRequest, now: number): Promise<RefundOutcome> {
  const key = tripRefundKey(request.tripId, request.requestKey);
  const d1 = ledgerOf(env, request.riderId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await entryByKey(d1, key)) {
      // A replay after a stop between the legs: the driver's leg goes in now, not at the next sweep.
      await finishTransfers(env, d1, key, now);
      return { status: "duplicate", ledgerKey: key };
    }
    const charge = await chargeOf(env, request.riderId, request.tripId);
    if (!charge?.data) return { status: "not_charged" };
    const data = charge.data;
    const { currency } = data.charge;
    const charged = data.charge.amount;
    if (request.amount && request.amount.currency !== currency)
      return { status: "other_currency", charged: data.charge };
    const refunded = await refundedSoFar(d1, request.tripId, data.riderId, currency);
    const left = charged - refunded;
    const amount = request.amount?.amount ?? left;
    const money = (value: number) => ({ amount: value, currency });
    const standing = { charged: money(charged), refunded: money(refunded), refundable: money(left) };
    if (left <= 0) return { status: "refunded_in_full", standing };
    if (amount > left) return { status: "over_refundable", standing };

    const entry = partialRefundEntry(
      { chargeKey: charge.key, tripId: request.tripId, charge: data, refunded },
      amount,
      key,
    );
    const driverReversal =
      data.driverId === null
        ? 0
        : -(entry.lines.find((l) => l.account === Account.earnings(data.driverId ?? ""))?.amount ?? 0);
    const refund: Refund = {
      tripId: request.tripId,
      amount: money(amount),
      charged: money(charged),
      refunded: money(refunded + amount),
      refundable: money(left - amount),
      driverReversal: money(driverReversal),
      commissionReversal: money(amount - driverReversal),
      createdAt: now,
    };
    // The entry goes in only if the refunds still add up to what this one was computed from.
    const total = refundedSql(request.tripId, data.riderId, currency);
    const leg = firstLegOf(env, entry, now, { sql: `${total.sql} = ?`, params: [...total.params, refunded] });
    if (await postFirstLeg(env, leg, entry.kind, now)) return { status: "posted", refund, entry };
    // Not posted: a twin request with this key won, or another refund moved the total. Look again.
  }
  return { status: "contended" };
}

/**
 * A posted refund as it was answered, read back from the ledger: for a retry whose first attempt
 * posted the refund but lost its audit record (the two are in different databases). Its amount,
 * the driver's and the commission's shares are its legs' lines; what was refunded in all and what
 * was left, the trip's refunds up to and including it.
 */
export async function refundFromLedger(
  env: Env,
  riderId: string,
  key: string,
  now: number,
): Promise<Refund | undefined> {
  const d1 = ledgerOf(env, riderId);
  // The driver's share is read from their leg: post it first if the stop left it pending.
  await finishTransfers(env, d1, key, now);
  const stored = await entryByKey(d1, key);
  if (!stored?.data || stored.tripId === null) return undefined;
  const data = stored.data;
  const { currency } = data.charge;
  const lines = await d1
    .prepare(`SELECT id, account_id AS account, amount, currency FROM journal_lines WHERE entry_id = ?`)
    .bind(stored.id)
    .all<{ id: number; account: string; amount: number; currency: string }>();
  const amount = refundedBy({ lines: lines.results }, riderId);
  const lastLine = Math.max(...lines.results.map((l) => l.id));
  const total = refundedSql(stored.tripId, riderId, currency, lastLine);
  const row = await d1
    .prepare(`SELECT ${total.sql} AS refunded`)
    .bind(...total.params)
    .first<{ refunded: number }>();
  const refunded = row?.refunded ?? amount;
  let driverReversal = 0;
  if (data.driverId !== null) {
    // The driver's leg in their partition; when rider and driver share one, the same database.
    const driverLeg = await ledgerOf(env, data.driverId)
      .prepare(
        `SELECT COALESCE(SUM(l.amount), 0) AS earnings
           FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
          WHERE e.idempotency_key = ? AND l.account_id = ?`,
      )
      .bind(legKey(key, data.driverId), Account.earnings(data.driverId))
      .first<{ earnings: number }>();
    driverReversal = -(driverLeg?.earnings ?? 0);
  }
  const money = (value: number) => ({ amount: value, currency });
  return {
    tripId: stored.tripId,
    amount: money(amount),
    charged: data.charge,
    refunded: money(refunded),
    refundable: money(data.charge.amount - refunded),
    driverReversal: money(driverReversal),
    commissionReversal: money(amount - driverReversal),
    createdAt: stored.createdAt,
  };
}
