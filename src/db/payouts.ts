/**
 * @module db/payouts
 * Drivers' payouts in D1: the payout account a driver set, what they may pay out, and each
 * payout's row and ledger entries (the posting rules are domain/payouts'). Four guarantees, each
 * held by D1 in the statement that inserts the `payout` entry, not by a read before it:
 *
 * - never more than is available: the entry goes in only if the earnings, less what was credited
 *   within the hold period, cover it (`INSERT … SELECT … WHERE`), so of two payouts racing for
 *   the same earnings the second inserts nothing;
 * - one payout in flight per driver: and only if the driver has no pending payout (besides, the
 *   partial unique index `payouts_one_pending_idx` aborts the batch of a second one);
 * - one payout per (driver, request key): and only if no payout has that key yet;
 * - the row and the entry together: the row is inserted in the same batch only if the entry was.
 *
 * A payout then ends `paid` or `failed` in one batch with the entry that settles it, each entry
 * guarded on the other's absence, so a payout settles once and one way.
 */
import { Account, type Entry } from "../domain/ledger-entries";
import type { Money } from "../domain/fare";
import {
  availableForPayout,
  payoutEntry,
  payoutFailedEntry,
  payoutFailedKey,
  payoutPaidEntry,
  payoutPaidKey,
} from "../domain/payouts";
import { newId } from "../ids";
import type { TransferOutcome } from "../payments/types";
import { countPosting, postStatements } from "./postings";
import type { SqlCondition } from "./sql-condition";

export type PayoutStatus = "pending" | "paid" | "failed";

export type PayoutRow = {
  id: string;
  driverId: string;
  idempotencyKey: string;
  trigger: "request" | "scheduled";
  amount: number;
  currency: string;
  provider: string;
  destination: string;
  status: PayoutStatus;
  providerRef: string | null;
  failure: string | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  /** The row's place in insertion order: the history's page cursor. */
  seq: number;
};

const COLUMNS = `rowid AS seq, id, driver_id AS driverId, idempotency_key AS idempotencyKey, trigger, amount,
  currency, provider, destination, status, provider_ref AS providerRef, failure, attempts,
  created_at AS createdAt, updated_at AS updatedAt`;

// ---- payout accounts -------------------------------------------------------------------------

export async function payoutAccountOf(
  d1: D1Database,
  driverId: string,
): Promise<{ accountId: string; updatedAt: number } | undefined> {
  const row = await d1
    .prepare(`SELECT account_id AS accountId, updated_at AS updatedAt FROM payout_accounts WHERE driver_id = ?`)
    .bind(driverId)
    .first<{ accountId: string; updatedAt: number }>();
  return row ?? undefined;
}

/**
 * Sets the driver's payout account; `taken` when another driver registered that account (the
 * unique index decides, so two drivers racing for one account cannot both have it).
 */
export async function setPayoutAccount(
  d1: D1Database,
  driverId: string,
  accountId: string,
  now: number,
): Promise<"set" | "taken"> {
  try {
    await d1
      .prepare(
        `INSERT INTO payout_accounts (driver_id, account_id, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (driver_id) DO UPDATE SET account_id = excluded.account_id, updated_at = excluded.updated_at`,
      )
      .bind(driverId, accountId, now, now)
      .run();
    return "set";
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed: payout_accounts\.account_id/.test(err.message))
      return "taken";
    throw err;
  }
}

// ---- what a driver may pay out ---------------------------------------------------------------

/**
 * The SQL of a driver's available earnings (domain/payouts' `availableForPayout` before its floor
 * at zero): the earnings balance less the credits within the hold period. A failed payout's
 * return is not a new credit: it was available before it left.
 */
function availableSql(driverId: string, currency: string, holdSince: number): SqlCondition {
  const account = Account.earnings(driverId);
  return {
    sql: `((SELECT COALESCE(SUM(amount), 0) FROM journal_lines WHERE account_id = ? AND currency = ?)
          - (SELECT COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
              WHERE l.account_id = ? AND l.currency = ? AND l.amount > 0 AND l.created_at > ?
                AND e.kind != 'payout_failed'))`,
    params: [account, currency, account, currency, holdSince],
  };
}

export type PayoutBalance = {
  /** The earnings account: what the platform owes the driver, less payouts under way or made. */
  balance: Money;
  /** Of the balance, what was earned within the hold period and cannot be paid out yet. */
  onHold: Money;
  available: Money;
  /** Payouts requested and not yet confirmed by the provider. */
  inTransit: Money;
};

export async function payoutBalanceOf(
  d1: D1Database,
  driverId: string,
  currency: string,
  holdSince: number,
): Promise<PayoutBalance> {
  const available = availableSql(driverId, currency, holdSince);
  const row = await d1
    .prepare(
      `SELECT (SELECT COALESCE(SUM(amount), 0) FROM journal_lines WHERE account_id = ? AND currency = ?) AS balance,
              ${available.sql} AS unheld,
              (SELECT COALESCE(SUM(amount), 0) FROM journal_lines WHERE account_id = ? AND currency = ?) AS inTransit`,
    )
    .bind(Account.earnings(driverId), currency, ...available.params, Account.payout(driverId), currency)
    .first<{ balance: number; unheld: number; inTransit: number }>();
  const balance = row?.balance ?? 0;
  // unheld = balance − credited within the hold period.
  const free = availableForPayout(balance, balance - (row?.unheld ?? 0));
  const money = (amount: number) => ({ amount, currency });
  return {
    balance: money(balance),
    onHold: money(Math.max(0, balance - free)),
    available: money(free),
    inTransit: money(row?.inTransit ?? 0),
  };
}

// ---- reading payouts -------------------------------------------------------------------------

export async function findPayout(d1: D1Database, id: string): Promise<PayoutRow | undefined> {
  return (await d1.prepare(`SELECT ${COLUMNS} FROM payouts WHERE id = ?`).bind(id).first<PayoutRow>()) ?? undefined;
}

export async function findPayoutByKey(d1: D1Database, driverId: string, key: string): Promise<PayoutRow | undefined> {
  return (
    (await d1
      .prepare(`SELECT ${COLUMNS} FROM payouts WHERE driver_id = ? AND idempotency_key = ?`)
      .bind(driverId, key)
      .first<PayoutRow>()) ?? undefined
  );
}

export async function pendingPayoutOf(d1: D1Database, driverId: string): Promise<PayoutRow | undefined> {
  return (
    (await d1
      .prepare(`SELECT ${COLUMNS} FROM payouts WHERE driver_id = ? AND status = 'pending'`)
      .bind(driverId)
      .first<PayoutRow>()) ?? undefined
  );
}

/** Payouts newest first, one driver's or everyone's, optionally of one status; `before` is a `seq`. */
export async function listPayouts(
  d1: D1Database,
  filter: { driverId?: string; status?: PayoutStatus },
  limit: number,
  before: number | undefined,
): Promise<PayoutRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.driverId !== undefined) {
    where.push("driver_id = ?");
    params.push(filter.driverId);
  }
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  if (before !== undefined) {
    where.push("rowid < ?");
    params.push(before);
  }
  const rows = await d1
    .prepare(
      `SELECT ${COLUMNS} FROM payouts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY rowid DESC LIMIT ?`,
    )
    .bind(...params, limit)
    .all<PayoutRow>();
  return rows.results;
}

/** Pending payouts last touched before `before` (their request is over): the cron tries them again. */
export async function stuckPayouts(d1: D1Database, before: number, limit: number): Promise<PayoutRow[]> {
  const rows = await d1
    .prepare(`SELECT ${COLUMNS} FROM payouts WHERE status = 'pending' AND updated_at < ? ORDER BY updated_at LIMIT ?`)
    .bind(before, limit)
    .all<PayoutRow>();
  return rows.results;
}

/**
 * Drivers the scheduled run pays: a payout account, not banned (an operator looks at a banned
 * account's money first), nothing in flight, and at least `minimum` available; at most `limit`,
 * those waiting longest since their last payout first.
 */
export async function payableDrivers(
  d1: D1Database,
  currency: string,
  holdSince: number,
  minimum: number,
  limit: number,
): Promise<{ driverId: string; accountId: string; available: number }[]> {
  // The earnings account id is built in SQL ('earnings:' || driver_id), so one statement reads all.
  const rows = await d1
    .prepare(
      `SELECT driverId, accountId, available FROM (
         SELECT a.driver_id AS driverId, a.account_id AS accountId,
                (SELECT COALESCE(SUM(amount), 0) FROM journal_lines
                  WHERE account_id = 'earnings:' || a.driver_id AND currency = ?)
                - (SELECT COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
                    WHERE l.account_id = 'earnings:' || a.driver_id AND l.currency = ? AND l.amount > 0
                      AND l.created_at > ? AND e.kind != 'payout_failed') AS available,
                (SELECT MAX(created_at) FROM payouts p WHERE p.driver_id = a.driver_id) AS lastPayout
           FROM payout_accounts a JOIN users u ON u.id = a.driver_id
          WHERE u.banned_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.driver_id = a.driver_id AND p.status = 'pending'))
       WHERE available >= ? AND available > 0
       ORDER BY COALESCE(lastPayout, 0), driverId
       LIMIT ?`,
    )
    .bind(currency, currency, holdSince, minimum, limit)
    .all<{ driverId: string; accountId: string; available: number }>();
  return rows.results;
}

// ---- starting and settling -------------------------------------------------------------------

export type PayoutStart = {
  driverId: string;
  idempotencyKey: string;
  trigger: PayoutRow["trigger"];
  amount: Money;
  provider: string;
  destination: string;
  /** Earnings credited after this are on hold. */
  holdSince: number;
};

/** `started`, or not: the same key was used before (`duplicate`), or the guard refused it. */
export type StartOutcome = { status: "started" | "duplicate"; payout: PayoutRow } | { status: "refused" };

/**
 * Moves `amount` of the driver's earnings into transit and records the pending payout, in one
 * batch, if the amount is available, nothing is in flight and the key is new.
 */
export async function startPayout(d1: D1Database, start: PayoutStart, now: number): Promise<StartOutcome> {
  const id = newId("po");
  const entry = payoutEntry(id, start.driverId, start.amount);
  const available = availableSql(start.driverId, start.amount.currency, start.holdSince);
  const entryId = newId("je");
  const { entryInsert, rest } = postStatements(d1, entry, entryId, now, {
    sql: `${available.sql} >= ?
          AND NOT EXISTS (SELECT 1 FROM payouts WHERE driver_id = ? AND (status = 'pending' OR idempotency_key = ?))`,
    params: [...available.params, start.amount.amount, start.driverId, start.idempotencyKey],
  });
  // No ON CONFLICT: should the guard ever let a second pending payout through, the unique
  // indexes abort the whole batch, entry included.
  const rowInsert = d1
    .prepare(
      `INSERT INTO payouts (id, driver_id, idempotency_key, trigger, amount, currency, provider, destination, status,
                            attempts, created_at, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?
       WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)`,
    )
    .bind(
      id,
      start.driverId,
      start.idempotencyKey,
      start.trigger,
      start.amount.amount,
      start.amount.currency,
      start.provider,
      start.destination,
      now,
      now,
      entryId,
    );
  const accountCount = new Set(entry.lines.map((l) => l.account)).size;
  const results = await d1.batch([...rest.slice(0, accountCount), entryInsert, ...rest.slice(accountCount), rowInsert]);
  if ((results[accountCount]?.meta.changes ?? 0) === 1) {
    countPosting(entry.kind, "posted");
    const payout = await findPayout(d1, id);
    if (payout) return { status: "started", payout };
  }
  const twin = await findPayoutByKey(d1, start.driverId, start.idempotencyKey);
  return twin ? { status: "duplicate", payout: twin } : { status: "refused" };
}

/** The entry that settles a payout, and the key of the one it excludes. */
function settlement(payout: PayoutRow, paid: boolean): { entry: Entry; other: string } {
  const amount = { amount: payout.amount, currency: payout.currency };
  return paid
    ? {
        entry: payoutPaidEntry(payout.id, payout.driverId, amount, payout.provider),
        other: payoutFailedKey(payout.id),
      }
    : { entry: payoutFailedEntry(payout.id, payout.driverId, amount), other: payoutPaidKey(payout.id) };
}

/**
 * Records what came of a transfer attempt: paid or failed with its entry, in one batch (a
 * replay posts nothing and changes nothing), or, when unknown, one more attempt on the pending
 * row. Returns the row as it stands.
 */
export async function settlePayout(
  d1: D1Database,
  payout: PayoutRow,
  outcome: TransferOutcome,
  now: number,
): Promise<PayoutRow> {
  if (outcome.status === "unknown") {
    await d1
      .prepare(
        `UPDATE payouts SET attempts = attempts + 1, failure = ?, updated_at = ? WHERE id = ? AND status = 'pending'`,
      )
      .bind(outcome.reason.slice(0, 500), now, payout.id)
      .run();
  } else {
    const paid = outcome.status === "paid";
    const { entry, other } = settlement(payout, paid);
    const entryId = newId("je");
    const { entryInsert, rest } = postStatements(d1, entry, entryId, now, {
      sql: "NOT EXISTS (SELECT 1 FROM journal_entries WHERE idempotency_key = ?)",
      params: [other],
    });
    const mark = d1
      .prepare(
        `UPDATE payouts SET status = ?, provider_ref = ?, failure = ?, attempts = attempts + 1, updated_at = ?
         WHERE id = ? AND status = 'pending' AND EXISTS (SELECT 1 FROM journal_entries WHERE idempotency_key = ?)`,
      )
      .bind(
        paid ? "paid" : "failed",
        outcome.status === "paid" ? outcome.providerRef : null,
        outcome.status === "failed" ? outcome.reason.slice(0, 500) : null,
        now,
        payout.id,
        entry.key,
      );
    const accountCount = new Set(entry.lines.map((l) => l.account)).size;
    const results = await d1.batch([...rest.slice(0, accountCount), entryInsert, ...rest.slice(accountCount), mark]);
    if ((results[accountCount]?.meta.changes ?? 0) === 1) countPosting(entry.kind, "posted");
  }
  return (await findPayout(d1, payout.id)) ?? payout;
}
