/**
 * @module db/wallet-views
 * What users see of the ledger: a rider's wallet, a user's transactions and a driver's
 * earnings, each read in the user's own partition (db/postings.ts). Every figure is summed from
 * the journal lines when it is read; no balance is stored.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Money } from "../domain/fare";
import { Account, transactionKind } from "../domain/ledger-entries";
import { ledgerOf } from "./ledger-statements";
import { journalEntries, journalLines } from "./shard-schema";

export type Wallet = { balance: Money; held: Money; available: Money; owed: Money };

/**
 * `available` is the wallet account, `held` the hold account, `balance` both; `owed` is what the rider's receivable is
 * short.
 */
export async function walletOf(env: Env, userId: string, currency: string): Promise<Wallet> {
  const rows = await ledgerOf(env, userId)
    .prepare(
      `SELECT account_id, COALESCE(SUM(amount), 0) AS balance
       FROM journal_lines
       WHERE account_id IN (?, ?, ?) AND currency = ?
       GROUP BY account_id`,
    )
    .bind(Account.wallet(userId), Account.hold(userId), Account.receivable(userId), currency)
    .all<{ account_id: string; balance: number }>();
  const of = (account: string) => rows.results.find((r) => r.account_id === account)?.balance ?? 0;
  const available = of(Account.wallet(userId));
  const held = of(Account.hold(userId));
  const money = (amount: number) => ({ amount, currency });
  return {
    balance: money(available + held),
    held: money(held),
    available: money(available),
    owed: money(-of(Account.receivable(userId))),
  };
}

export type TransactionView = {
  id: string;
  kind: ReturnType<typeof transactionKind>;
  amount: Money;
  tripId?: string;
  createdAt: number;
};

/** The lines on the user's wallet (riders) and earnings (drivers), newest first; `before` is a line id. */
export async function listTransactions(
  env: Env,
  userId: string,
  limit: number,
  before: number | undefined,
): Promise<TransactionView[]> {
  const accounts = or(
    eq(journalLines.accountId, Account.wallet(userId)),
    eq(journalLines.accountId, Account.earnings(userId)),
  );
  const rows = await drizzle(ledgerOf(env, userId))
    .select({
      id: journalLines.id,
      account: journalLines.accountId,
      amount: journalLines.amount,
      currency: journalLines.currency,
      createdAt: journalLines.createdAt,
      kind: journalEntries.kind,
      tripId: journalEntries.tripId,
    })
    .from(journalLines)
    .innerJoin(journalEntries, eq(journalEntries.id, journalLines.entryId))
    .where(and(before === undefined ? undefined : lt(journalLines.id, before), accounts))
    .orderBy(desc(journalLines.id))
    .limit(limit);
  return rows.map((r) => ({
    id: String(r.id),
    kind: transactionKind(r.kind, r.account),
    amount: { amount: r.amount, currency: r.currency },
    ...(r.tripId === null ? {} : { tripId: r.tripId }),
    createdAt: r.createdAt,
  }));
}

export type Earnings = { gross: Money; commission: Money; net: Money; tips: Money; trips: number };

/**
 * A driver's earnings lines in [from, to): net is theirs, commission the platform's line of the same entries, tips the
 * part of net riders gave as tips. Payouts (and their returns) are not earnings: money leaving, not money made.
 */
export async function earningsOf(
  env: Env,
  driverId: string,
  currency: string,
  from: number,
  to: number,
): Promise<Earnings> {
  const rows = await ledgerOf(env, driverId)
    .prepare(
      `SELECT e.trip_id AS tripId, e.kind AS kind, l.amount AS net,
              (SELECT COALESCE(SUM(p.amount), 0) FROM journal_lines p
                WHERE p.entry_id = e.id AND p.account_id = ?) AS commission
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
        WHERE l.account_id = ? AND l.currency = ? AND l.created_at >= ? AND l.created_at < ?
          AND e.kind NOT IN ('payout', 'payout_failed')`,
    )
    .bind(Account.platform, Account.earnings(driverId), currency, from, to)
    .all<{ tripId: string | null; kind: string; net: number; commission: number }>();
  let net = 0;
  let commission = 0;
  let tips = 0;
  const trips = new Set<string>();
  for (const row of rows.results) {
    net += row.net;
    commission += row.commission;
    if (row.kind === "tip") tips += row.net;
    if (row.tripId !== null && row.kind !== "refund" && row.kind !== "tip") trips.add(row.tripId);
  }
  const money = (amount: number) => ({ amount, currency });
  return {
    gross: money(net + commission),
    commission: money(commission),
    net: money(net),
    tips: money(tips),
    trips: trips.size,
  };
}
