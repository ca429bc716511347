/**
 * @module db/ledger
 * The payments ledger in D1: posting entries, balances derived from the lines, holds, trip
 * settlement, top-ups, transactions, receipts and earnings. The posting rules themselves
 * (which lines an event produces) are in domain/ledger-entries.ts and the entry modules beside it.
 *
 * How two requests by one rider cannot spend the same money: every entry is posted as ONE D1
 * batch, and D1 runs a batch as a single transaction on a database that executes one statement
 * at a time. The batch inserts the entry with `INSERT … SELECT … WHERE <guard> ON CONFLICT
 * (idempotency_key) DO NOTHING`, where the guard is "this wallet's lines sum to at least what
 * the entry takes from it", then inserts the lines only `WHERE EXISTS` that entry. The check
 * and the write are one statement, so of N holds racing for one balance, the first batch D1
 * runs inserts its entry and every later one sees the reduced wallet and inserts nothing.
 * Because a wallet is the rider's *available* money (holds have moved to `hold:<rider>`), the
 * guard is exactly "balance − holds ≥ amount". A per-rider wallet object would serialise too,
 * but it would be a second owner of the same money next to D1, which has to stay the system
 * of record for the ledger anyway; the conditional insert needs no extra hop and no object.
 * A trigger (migration 0004) aborts any batch that would still take a wallet below zero.
 *
 * Raw statements (D1 prepared statements) for the posting batch, because drizzle cannot express
 * an `INSERT … SELECT … WHERE` guard with an upsert, and for the reads that ride in a batch with
 * it (settlement's balances and charge); drizzle for the other reads.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { chargeKey } from "../domain/charges";
import {
  Account,
  accountKind,
  accountOwner,
  guardsOf,
  isBalanced,
  transactionKind,
  type ChargeData,
  type Entry,
  type PostOutcome,
} from "../domain/ledger-entries";
import { settlementEntries, type Settlement } from "../domain/settlement";
import { holdEntry, holdKey, releaseEntry, topUpEntry } from "../domain/wallet-entries";
import type { Money } from "../domain/fare";
import { FareBreakdown, FareDecision } from "../domain/fare";
import { newId } from "../ids";
import { journalEntries, journalLines, topUps } from "./schema";

/**
 * The statements that post `entry` if its key is new and its guards hold (and `alsoIf`, when
 * given); `entryInsert` is the guarded entry insert.
 */
export function postStatements(
  d1: D1Database,
  entry: Entry,
  entryId: string,
  now: number,
  alsoIf?: SqlCondition,
): { entryInsert: D1PreparedStatement; rest: D1PreparedStatement[] } {
  if (!isBalanced(entry)) throw new RangeError(`unbalanced entry ${entry.key}`);
  const accounts = [...new Set(entry.lines.map((l) => l.account))];
  const guards = guardsOf(entry);
  const walletWhere =
    guards.length === 0
      ? "1"
      : guards
          .map(() => `(SELECT COALESCE(SUM(amount), 0) FROM journal_lines WHERE account_id = ? AND currency = ?) >= ?`)
          .join(" AND ");
  const where = alsoIf === undefined ? walletWhere : `${walletWhere} AND (${alsoIf.sql})`;
  const entryInsert = d1
    .prepare(
      `INSERT INTO journal_entries (id, idempotency_key, kind, trip_id, data, created_at)
       SELECT ?, ?, ?, ?, ?, ? WHERE ${where}
       ON CONFLICT (idempotency_key) DO NOTHING`,
    )
    .bind(
      entryId,
      entry.key,
      entry.kind,
      entry.tripId,
      entry.data === null ? null : JSON.stringify(entry.data),
      now,
      ...guards.flatMap((g) => [g.account, g.currency, g.atLeast]),
      ...(alsoIf?.params ?? []),
    );
  const accountInserts = accounts.map((id) =>
    d1
      .prepare(
        `INSERT INTO ledger_accounts (id, kind, owner_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .bind(id, accountKind(id), accountOwner(id), now),
  );
  const lineInserts = entry.lines.map((l) =>
    d1
      .prepare(
        `INSERT INTO journal_lines (entry_id, account_id, amount, currency, created_at)
         SELECT ?, ?, ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)`,
      )
      .bind(entryId, l.account, l.amount, l.currency, now, entryId),
  );
  return { entryInsert, rest: [...accountInserts, ...lineInserts] };
}

/**
 * Posts the entries in order in one batch (one transaction), each at most once per key and only
 * if its guards hold when its turn comes; `extra` statements run in the same transaction, after
 * the entries, and their results come back in `extra`.
 */
export async function postEntriesWith(
  d1: D1Database,
  entries: readonly Entry[],
  now: number,
  extra: D1PreparedStatement[],
): Promise<{ outcomes: PostOutcome[]; extra: D1Result[] }> {
  if (entries.length === 0 && extra.length === 0) return { outcomes: [], extra: [] };
  const batch: D1PreparedStatement[] = [];
  const entryAt: number[] = [];
  for (const entry of entries) {
    const { entryInsert, rest } = postStatements(d1, entry, newId("je"), now);
    // Accounts first (the lines reference them), then the guarded entry, then its lines.
    const accountCount = new Set(entry.lines.map((l) => l.account)).size;
    batch.push(...rest.slice(0, accountCount));
    entryAt.push(batch.length);
    batch.push(entryInsert, ...rest.slice(accountCount));
  }
  const extraAt = batch.length;
  batch.push(...extra);
  const results = await d1.batch(batch);
  const outcomes: PostOutcome[] = [];
  for (const [i, entry] of entries.entries()) {
    const at = entryAt[i] ?? 0;
    if ((results[at]?.meta.changes ?? 0) === 1) outcomes.push("posted");
    else outcomes.push((await entryByKey(d1, entry.key)) ? "duplicate" : "refused");
  }
  return { outcomes, extra: results.slice(extraAt) };
}

export async function postEntries(d1: D1Database, entries: readonly Entry[], now: number): Promise<PostOutcome[]> {
  return (await postEntriesWith(d1, entries, now, [])).outcomes;
}

export async function postEntry(d1: D1Database, entry: Entry, now: number): Promise<PostOutcome> {
  const [outcome] = await postEntries(d1, [entry], now);
  return outcome ?? "refused";
}

// ---- reads ----------------------------------------------------------------------------------

const StoredCharge = z.object({
  riderId: z.string(),
  driverId: z.string().nullable(),
  charge: z.object({ amount: z.number().int(), currency: z.string() }),
  breakdown: FareBreakdown,
  paid: z.number().int(),
  owed: z.number().int(),
  commission: z.number().int(),
  driverEarning: z.number().int(),
  decision: FareDecision.optional(),
});

export type StoredEntry = {
  id: string;
  key: string;
  kind: Entry["kind"];
  tripId: string | null;
  data: ChargeData | null;
  createdAt: number;
};

type EntryRow = {
  id: string;
  idempotency_key: string;
  kind: Entry["kind"];
  trip_id: string | null;
  data: string | null;
  created_at: number;
};

const entryByKeyStatement = (d1: D1Database, key: string) =>
  d1
    .prepare(
      `SELECT id, idempotency_key, kind, trip_id, data, created_at
       FROM journal_entries
       WHERE idempotency_key = ? LIMIT 1`,
    )
    .bind(key);

function storedEntryOf(row: EntryRow | undefined): StoredEntry | undefined {
  if (!row) return undefined;
  const data = row.data === null ? null : StoredCharge.safeParse(parseJson(row.data));
  return {
    id: row.id,
    key: row.idempotency_key,
    kind: row.kind,
    tripId: row.trip_id,
    data: data?.success ? data.data : null,
    createdAt: row.created_at,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function entryByKey(d1: D1Database, key: string): Promise<StoredEntry | undefined> {
  return storedEntryOf((await entryByKeyStatement(d1, key).first<EntryRow>()) ?? undefined);
}

/** The sum of an account's lines: the only balance there is (nothing is cached). */
const balanceStatement = (d1: D1Database, account: string, currency: string) =>
  d1
    .prepare(`SELECT COALESCE(SUM(amount), 0) AS balance FROM journal_lines WHERE account_id = ? AND currency = ?`)
    .bind(account, currency);

export type Wallet = { balance: Money; held: Money; available: Money; owed: Money };

/**
 * `available` is the wallet account, `held` the hold account, `balance` both; `owed` is what the rider's receivable is
 * short.
 */
export async function walletOf(d1: D1Database, userId: string, currency: string): Promise<Wallet> {
  const rows = await d1
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

const heldStatement = (d1: D1Database, tripId: string, riderId: string, currency: string) =>
  d1
    .prepare(
      `SELECT COALESCE(SUM(l.amount), 0) AS held
       FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
       WHERE e.trip_id = ? AND l.account_id = ? AND l.currency = ?`,
    )
    .bind(tripId, Account.hold(riderId), currency);

/** What is on hold for one trip: its lines on the rider's hold account. */
export async function heldFor(d1: D1Database, tripId: string, riderId: string, currency: string): Promise<Money> {
  const row = await heldStatement(d1, tripId, riderId, currency).first<{ held: number }>();
  return { amount: row?.held ?? 0, currency };
}

// ---- trips ------------------------------------------------------------------------------------

/**
 * What came of holding a fare: held (with the results of `then`'s statements), or refused
 * because the wallet's available balance does not cover it.
 */
export type HoldOutcome = { held: true; extra: D1Result[] } | { held: false; needed: Money; available: Money };

/**
 * Holds a trip's fare on the rider's wallet, unless the wallet does not cover it.
 * `then(holdPosted)` builds statements that run in the same transaction right after the hold,
 * given an SQL condition that is true only if the hold was posted: the trip request claims the
 * rider's slot this way, one D1 round trip for both. Their results come back in `extra`.
 */
export async function holdFare(
  d1: D1Database,
  tripId: string,
  riderId: string,
  amount: Money,
  now: number,
  then: (holdPosted: SqlCondition) => D1PreparedStatement[] = () => [],
): Promise<HoldOutcome> {
  if (amount.amount <= 0) {
    const statements = then({ sql: "1", params: [] });
    return { held: true, extra: statements.length === 0 ? [] : await d1.batch(statements) };
  }
  const entry = holdEntry(tripId, riderId, amount);
  const { outcomes, extra } = await postEntriesWith(
    d1,
    [entry],
    now,
    then({ sql: "EXISTS (SELECT 1 FROM journal_entries WHERE idempotency_key = ?)", params: [entry.key] }),
  );
  if (outcomes[0] === "refused") {
    const wallet = await walletOf(d1, riderId, amount.currency);
    return { held: false, needed: amount, available: wallet.available };
  }
  return { held: true, extra };
}

/** A piece of SQL for a WHERE clause and the values of its `?`s. */
export type SqlCondition = { sql: string; params: unknown[] };

/** Gives a trip's hold back (a request that failed after the hold). */
export async function releaseHold(
  d1: D1Database,
  tripId: string,
  riderId: string,
  currency: string,
  now: number,
): Promise<void> {
  const release = releaseEntry(tripId, riderId, await heldFor(d1, tripId, riderId, currency));
  if (release) await postEntry(d1, release, now);
}

/**
 * Settles a trip: releases its hold and takes the charge, if any, from the wallet that now
 * includes it, in one batch. Idempotent by key, so a retried side effect posts nothing. If the
 * wallet moved between the read and the batch (a new hold, say), the charge's guard fails and
 * it is computed again from fresh balances. Returns the charge entry when there is one.
 */
export async function settleTrip(
  d1: D1Database,
  settlement: Settlement,
  commissionBps: number,
  now: number,
): Promise<StoredEntry | undefined> {
  const currency = settlement.type === "release" ? undefined : settlement.charge.currency;
  const key = settlement.type === "release" ? undefined : chargeKey(settlement.tripId, settlement.type);
  for (let attempt = 0; attempt < 5; attempt++) {
    // A trip's hold is in the quote's currency, which is the fare's; a release-only settlement
    // reads the hold entry to learn it.
    const cur = currency ?? (await holdCurrency(d1, settlement.tripId));
    if (cur === undefined) return undefined;
    // Two D1 round trips in all: both balances in one batch, then the postings with the charge
    // entry read back in their own transaction.
    const [walletResult, heldResult] = await d1.batch<{ balance?: number; held?: number }>([
      balanceStatement(d1, Account.wallet(settlement.riderId), cur),
      heldStatement(d1, settlement.tripId, settlement.riderId, cur),
    ]);
    const wallet = walletResult?.results[0]?.balance ?? 0;
    const held = { amount: heldResult?.results[0]?.held ?? 0, currency: cur };
    const entries = settlementEntries(settlement, { wallet, held }, commissionBps);
    const { outcomes, extra } = await postEntriesWith(
      d1,
      entries,
      now,
      key === undefined ? [] : [entryByKeyStatement(d1, key)],
    );
    if (!outcomes.includes("refused"))
      return key === undefined ? undefined : storedEntryOf(extra[0]?.results[0] as EntryRow | undefined);
  }
  throw new Error(`could not settle trip ${settlement.tripId}: its wallet kept changing`);
}

async function holdCurrency(d1: D1Database, tripId: string): Promise<string | undefined> {
  const row = await d1
    .prepare(
      `SELECT l.currency
       FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
       WHERE e.idempotency_key = ? LIMIT 1`,
    )
    .bind(holdKey(tripId))
    .first<{ currency: string }>();
  return row?.currency;
}

/** The capture or fee entry of a trip, if it was charged. */
export async function chargeOf(d1: D1Database, tripId: string): Promise<StoredEntry | undefined> {
  return (await entryByKey(d1, chargeKey(tripId, "capture"))) ?? (await entryByKey(d1, chargeKey(tripId, "fee")));
}

// ---- top-ups ----------------------------------------------------------------------------------

export type TopUpRow = typeof topUps.$inferSelect;

export async function findTopUp(d1: D1Database, id: string): Promise<TopUpRow | undefined> {
  const [row] = await drizzle(d1).select().from(topUps).where(eq(topUps.id, id)).limit(1);
  return row;
}

export async function findTopUpByKey(d1: D1Database, userId: string, key: string): Promise<TopUpRow | undefined> {
  const [row] = await drizzle(d1)
    .select()
    .from(topUps)
    .where(and(eq(topUps.userId, userId), eq(topUps.idempotencyKey, key)))
    .limit(1);
  return row;
}

/** Records a new top-up; returns the row already stored under the same key instead, if any. */
export async function insertTopUp(d1: D1Database, row: TopUpRow): Promise<TopUpRow> {
  const inserted = await drizzle(d1).insert(topUps).values(row).onConflictDoNothing().returning();
  return inserted[0] ?? (await findTopUpByKey(d1, row.userId, row.idempotencyKey)) ?? row;
}

export async function setTopUpProviderRef(
  d1: D1Database,
  id: string,
  providerRef: string,
  clientSecret: string | null,
  now: number,
): Promise<void> {
  await drizzle(d1).update(topUps).set({ providerRef, clientSecret, updatedAt: now }).where(eq(topUps.id, id));
}

export async function failTopUp(d1: D1Database, id: string, now: number): Promise<void> {
  await drizzle(d1)
    .update(topUps)
    .set({ status: "failed", updatedAt: now })
    .where(and(eq(topUps.id, id), eq(topUps.status, "pending")));
}

/**
 * The provider says the money arrived: credit the wallet (once, by the top-up id) and mark the
 * top-up succeeded, in one batch. The one code path for the sandbox and for real webhooks.
 */
export async function creditTopUp(d1: D1Database, topUp: TopUpRow, now: number): Promise<PostOutcome> {
  const entry = topUpEntry(topUp.id, topUp.userId, { amount: topUp.amount, currency: topUp.currency }, topUp.provider);
  const mark = d1.prepare(`UPDATE top_ups SET status = 'succeeded', updated_at = ? WHERE id = ?`).bind(now, topUp.id);
  const [outcome] = (await postEntriesWith(d1, [entry], now, [mark])).outcomes;
  return outcome ?? "refused";
}

// ---- what users see ---------------------------------------------------------------------------

export type TransactionView = {
  id: string;
  kind: ReturnType<typeof transactionKind>;
  amount: Money;
  tripId?: string;
  createdAt: number;
};

/** The lines on the user's wallet (riders) and earnings (drivers), newest first; `before` is a line id. */
export async function listTransactions(
  d1: D1Database,
  userId: string,
  limit: number,
  before: number | undefined,
): Promise<TransactionView[]> {
  const accounts = or(
    eq(journalLines.accountId, Account.wallet(userId)),
    eq(journalLines.accountId, Account.earnings(userId)),
  );
  const rows = await drizzle(d1)
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

export type Earnings = { gross: Money; commission: Money; net: Money; trips: number };

/** A driver's earnings lines in [from, to): net is theirs, commission the platform's line of the same entries. */
export async function earningsOf(
  d1: D1Database,
  driverId: string,
  currency: string,
  from: number,
  to: number,
): Promise<Earnings> {
  const rows = await d1
    .prepare(
      `SELECT e.trip_id AS tripId, e.kind AS kind, l.amount AS net,
              (SELECT COALESCE(SUM(p.amount), 0) FROM journal_lines p
                WHERE p.entry_id = e.id AND p.account_id = ?) AS commission
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
        WHERE l.account_id = ? AND l.currency = ? AND l.created_at >= ? AND l.created_at < ?`,
    )
    .bind(Account.platform, Account.earnings(driverId), currency, from, to)
    .all<{ tripId: string | null; kind: string; net: number; commission: number }>();
  let net = 0;
  let commission = 0;
  const trips = new Set<string>();
  for (const row of rows.results) {
    net += row.net;
    commission += row.commission;
    if (row.tripId !== null && row.kind !== "refund") trips.add(row.tripId);
  }
  const money = (amount: number) => ({ amount, currency });
  return { gross: money(net + commission), commission: money(commission), net: money(net), trips: trips.size };
}
