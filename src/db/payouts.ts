/**
 * @module db/payouts
 * Drivers' payouts in D1: the payout account a driver set (in `DB`), what they may pay out, and
 * each payout's row and ledger entries (the posting rules are domain/payouts'), both in the
 * driver's partition beside their earnings (db/postings.ts). Four guarantees, each held by D1 in
 * the statement that inserts the `payout` entry, not by a read before it:
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
import { ledgerOf, postStatements } from "./ledger-statements";
import { countPosting } from "./postings";
import { allShards } from "./shards";
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
};

const COLUMNS = `id, driver_id AS driverId, idempotency_key AS idempotencyKey, trigger, amount,
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
  env: Env,
  driverId: string,
  currency: string,
  holdSince: number,
): Promise<PayoutBalance> {
  const available = availableSql(driverId, currency, holdSince);
  const row = await ledgerOf(env, driverId)
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

export async function findPayout(env: Env, driverId: string, id: string): Promise<PayoutRow | undefined> {
  return (
    (await ledgerOf(env, driverId)
      .prepare(`SELECT ${COLUMNS} FROM payouts WHERE id = ? AND driver_id = ?`)
      .bind(id, driverId)
      .first<PayoutRow>()) ?? undefined
  );
}

export async function findPayoutByKey(env: Env, driverId: string, key: string): Promise<PayoutRow | undefined> {
  return (
    (await ledgerOf(env, driverId)
      .prepare(`SELECT ${COLUMNS} FROM payouts WHERE driver_id = ? AND idempotency_key = ?`)
      .bind(driverId, key)
      .first<PayoutRow>()) ?? undefined
  );
}

export async function pendingPayoutOf(env: Env, driverId: string): Promise<PayoutRow | undefined> {
  return (
    (await ledgerOf(env, driverId)
      .prepare(`SELECT ${COLUMNS} FROM payouts WHERE driver_id = ? AND status = 'pending'`)
      .bind(driverId)
      .first<PayoutRow>()) ?? undefined
  );
}

const newestFirst = (a: PayoutRow, b: PayoutRow) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1);

/**
 * Payouts newest first, one driver's (their shard) or everyone's (every shard), optionally of one
 * status; `before` is the `createdAt` the previous page ended on. A page ends with every payout of
 * its last millisecond, so it may be a little longer than `limit`, and the next page (strictly
 * older) skips none.
 */
export async function listPayouts(
  env: Env,
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
  const shards = filter.driverId === undefined ? allShards(env).map((s) => s.db) : [ledgerOf(env, filter.driverId)];
  const read = async (extra: string, extraParams: unknown[], max: number) => {
    const clause = [...where, extra].join(" AND ");
    const pages = await Promise.all(
      shards.map((db) =>
        db
          .prepare(`SELECT ${COLUMNS} FROM payouts WHERE ${clause} ORDER BY created_at DESC, id DESC LIMIT ?`)
          .bind(...params, ...extraParams, max)
          .all<PayoutRow>(),
      ),
    );
    // While a shard move runs, a payout copied to its new shard and not yet deleted from the old
    // one is in both: listed once, as its newer copy (settled in the new shard since, say).
    const byId = new Map<string, PayoutRow>();
    for (const payout of pages.flatMap((page) => page.results)) {
      const seen = byId.get(payout.id);
      if (!seen || payout.updatedAt > seen.updatedAt) byId.set(payout.id, payout);
    }
    return [...byId.values()].sort(newestFirst);
  };
  const page = (await read("created_at < ?", [before ?? Number.MAX_SAFE_INTEGER], limit)).slice(0, limit);
  const last = page.at(-1);
  if (page.length < limit || !last) return page;
  // The rest of the last millisecond, which a shard's LIMIT may have cut off.
  const seen = new Set(page.map((p) => p.id));
  const ties = (await read("created_at = ?", [last.createdAt], 1_000)).filter((p) => !seen.has(p.id));
  return [...page, ...ties];
}

/**
 * Pending payouts last touched before `before` (their request is over), from every shard: the
 * cron tries them again.
 */
export async function stuckPayouts(env: Env, before: number, limit: number): Promise<PayoutRow[]> {
  const pages = await Promise.all(
    allShards(env).map(({ db }) =>
      db
        .prepare(
          `SELECT ${COLUMNS} FROM payouts WHERE status = 'pending' AND updated_at < ? ORDER BY updated_at LIMIT ?`,
        )
        .bind(before, limit)
        .all<PayoutRow>(),
    ),
  );
  return pages
    .flatMap((page) => page.results)
    .sort((a, b) => a.updatedAt - b.updatedAt)
    .slice(0, limit);
}

/** A driver the scheduled run may pay, as their shard sees them. */
type PayableInShard = { driverId: string; available: number; lastPayout: number | null };

/**
 * Drivers the scheduled run pays: a payout account, not banned (an operator looks at a banned
 * account's money first), nothing in flight, and at least `minimum` available; at most `limit`,
 * those waiting longest since their last payout first. The money is in the drivers' shards and
 * the accounts and bans in `DB`: each shard names its candidates in that order, page by page, and
 * `DB` keeps those with an account who are not banned.
 */
export async function payableDrivers(
  env: Env,
  currency: string,
  holdSince: number,
  minimum: number,
  limit: number,
): Promise<{ driverId: string; accountId: string; available: number }[]> {
  const chosen: (PayableInShard & { accountId: string })[] = [];
  for (const { db } of allShards(env)) {
    // Each shard needs to offer at most `limit`: the run takes the `limit` longest waiting of all.
    let acceptedHere = 0;
    let after = { lastPayout: -1, driverId: "" };
    while (acceptedHere < limit) {
      const candidates = await payableInShard(db, currency, holdSince, minimum, limit, after);
      const accounts = await payoutAccountsOfUnbanned(
        env.DB,
        candidates.map((c) => c.driverId),
      );
      for (const c of candidates) {
        const accountId = accounts.get(c.driverId);
        if (accountId === undefined) continue;
        chosen.push({ ...c, accountId });
        acceptedHere++;
      }
      const last = candidates.at(-1);
      if (!last || candidates.length < limit) break;
      after = { lastPayout: last.lastPayout ?? 0, driverId: last.driverId };
    }
  }
  return chosen
    .sort((a, b) => (a.lastPayout ?? 0) - (b.lastPayout ?? 0) || (a.driverId < b.driverId ? -1 : 1))
    .slice(0, limit)
    .map(({ driverId, accountId, available }) => ({ driverId, accountId, available }));
}

/** One page of a shard's drivers with at least `minimum` available and nothing in flight, longest waiting first. */
async function payableInShard(
  db: D1Database,
  currency: string,
  holdSince: number,
  minimum: number,
  limit: number,
  after: { lastPayout: number; driverId: string },
): Promise<PayableInShard[]> {
  // The earnings account's owner is the part after 'earnings:' (9 characters).
  const rows = await db
    .prepare(
      `SELECT driverId, available, lastPayout FROM (
         SELECT substr(a.account_id, 10) AS driverId,
                SUM(a.amount)
                - (SELECT COALESCE(SUM(l.amount), 0) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
                    WHERE l.account_id = a.account_id AND l.currency = ? AND l.amount > 0
                      AND l.created_at > ? AND e.kind != 'payout_failed') AS available,
                (SELECT MAX(created_at) FROM payouts p WHERE p.driver_id = substr(a.account_id, 10)) AS lastPayout
           FROM journal_lines a
          WHERE a.account_id >= 'earnings:' AND a.account_id < 'earnings;' AND a.currency = ?
          GROUP BY a.account_id)
       WHERE available >= ? AND available > 0
         AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.driver_id = driverId AND p.status = 'pending')
         AND (COALESCE(lastPayout, 0) > ? OR (COALESCE(lastPayout, 0) = ? AND driverId > ?))
       ORDER BY COALESCE(lastPayout, 0), driverId
       LIMIT ?`,
    )
    .bind(currency, holdSince, currency, minimum, after.lastPayout, after.lastPayout, after.driverId, limit)
    .all<PayableInShard>();
  return rows.results;
}

/** Of `driverIds`, those with a payout account and no ban, with the account. */
async function payoutAccountsOfUnbanned(d1: D1Database, driverIds: string[]): Promise<Map<string, string>> {
  if (driverIds.length === 0) return new Map();
  const rows = await d1
    .prepare(
      `SELECT a.driver_id AS driverId, a.account_id AS accountId
         FROM payout_accounts a JOIN users u ON u.id = a.driver_id
        WHERE u.banned_at IS NULL AND a.driver_id IN (SELECT value FROM json_each(?))`,
    )
    .bind(JSON.stringify(driverIds))
    .all<{ driverId: string; accountId: string }>();
  return new Map(rows.results.map((r) => [r.driverId, r.accountId]));
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
export async function startPayout(env: Env, start: PayoutStart, now: number): Promise<StartOutcome> {
  const d1 = ledgerOf(env, start.driverId);
  const id = newId("po");
  const entry = payoutEntry(id, start.driverId, start.amount);
  const available = availableSql(start.driverId, start.amount.currency, start.holdSince);
  const entryId = newId("je");
  const { entryInsert, lines } = postStatements(d1, entry, entryId, start.driverId, now, {
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
  const [inserted] = await d1.batch([entryInsert, ...lines, rowInsert]);
  if ((inserted?.meta.changes ?? 0) === 1) {
    countPosting(entry.kind, "posted");
    const payout = await findPayout(env, start.driverId, id);
    if (payout) return { status: "started", payout };
  }
  const twin = await findPayoutByKey(env, start.driverId, start.idempotencyKey);
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
  env: Env,
  payout: PayoutRow,
  outcome: TransferOutcome,
  now: number,
): Promise<PayoutRow> {
  const d1 = ledgerOf(env, payout.driverId);
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
    const { entryInsert, lines } = postStatements(d1, entry, entryId, payout.driverId, now, {
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
    const [inserted] = await d1.batch([entryInsert, ...lines, mark]);
    if ((inserted?.meta.changes ?? 0) === 1) countPosting(entry.kind, "posted");
  }
  return (await findPayout(env, payout.driverId, payout.id)) ?? payout;
}
