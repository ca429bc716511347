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
 * - the audit record is written in the same batch, only if the entry was.
 */
import { Account, type Entry } from "../domain/ledger-entries";
import { partialRefundEntry, tripRefundKey } from "../domain/refunds";
import type { Money } from "../domain/fare";
import { newId } from "../ids";
import type { Refund } from "../protocol/admin";
import { chargeOf, entryByKey } from "./journal-entries";
import { countPosting, postStatements } from "./postings";
import type { SqlCondition } from "./sql-condition";

export type RefundRequest = { tripId: string; requestKey: string; amount: Money | undefined };

/** Where a trip's charge stands: what was charged, refunded so far, and what is left. */
export type RefundStanding = { charged: Money; refunded: Money; refundable: Money };

export type RefundOutcome =
  | { status: "posted"; refund: Refund; entry: Entry; extra: D1Result[] }
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

/** The SQL total of a trip's refunds so far: what they gave the rider back (wallet and receivable lines). */
function refundedSql(tripId: string, riderId: string, currency: string): SqlCondition {
  return {
    sql: `(SELECT COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
            WHERE e.trip_id = ? AND e.kind = 'refund' AND l.account_id IN (?, ?) AND l.currency = ?)`,
    params: [tripId, Account.wallet(riderId), Account.receivable(riderId), currency],
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
 * Refunds `amount` (all that is left when undefined) of the trip's capture or fee. `audit`
 * builds the statements that record it, given the SQL condition "this refund was posted";
 * they run in the same transaction, and their results come back in `extra`. Refused when the
 * trip was not charged, is refunded in full, or the amount exceeds what is left.
 */
export async function refundTrip(
  d1: D1Database,
  request: RefundRequest,
  now: number,
  audit: (refund: Refund, posted: SqlCondition) => D1PreparedStatement[],
): Promise<RefundOutcome> {
  const key = tripRefundKey(request.tripId, request.requestKey);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await entryByKey(d1, key)) return { status: "duplicate", ledgerKey: key };
    const charge = await chargeOf(d1, request.tripId);
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
    const entryId = newId("je");
    const { entryInsert, rest } = postStatements(d1, entry, entryId, now, {
      sql: `${total.sql} = ?`,
      params: [...total.params, refunded],
    });
    const accountCount = new Set(entry.lines.map((l) => l.account)).size;
    const extra = audit(refund, { sql: "EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)", params: [entryId] });
    const batch = [...rest.slice(0, accountCount), entryInsert, ...rest.slice(accountCount), ...extra];
    const results = await d1.batch(batch);
    if ((results[accountCount]?.meta.changes ?? 0) === 1) {
      countPosting(entry.kind, "posted");
      return { status: "posted", refund, entry, extra: results.slice(batch.length - extra.length) };
    }
    // Not posted: a twin request with this key won, or another refund moved the total. Look again.
  }
  return { status: "contended" };
}
