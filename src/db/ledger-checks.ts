/**
 * @module db/ledger-checks
 * The reads behind the reconciliation (payments/reconcile.ts), over every partition that holds
 * money (db/postings.ts): the holds still open, and what breaks the ledger's own rules (an entry
 * or leg whose lines do not sum to zero in its shard, an account whose balance has a sign its kind
 * does not allow, money on the transit account that no pending transfer explains). A driver's
 * earnings may be below zero: a refund after a payout takes the driver's share back, and the
 * driver owes it (domain/payouts).
 */
import { Account, accountOwner } from "../domain/ledger-entries";
import { allShards, earlierShardDatabase, shardRouter } from "./shards";

/** Money a trip still holds on a rider's hold account, and since when. */
export type OpenHold = { tripId: string; account: string; currency: string; held: number; since: number };

export type LedgerProblem =
  | { kind: "account_balance"; account: string; currency: string; balance: number; rule: string }
  | { kind: "unbalanced_entry"; entryId: string; currency: string; sum: number; accounts: string[] }
  /** The transit account of all shards should be what the pending transfers carry, to the unit. */
  | { kind: "transit_mismatch"; currency: string; transit: number; pending: number };

/** Per trip and rider, the money still held, for holds placed before `before`; at most `limit`, from every shard. */
export async function openHolds(env: Env, before: number, limit: number): Promise<OpenHold[]> {
  const perShard = await Promise.all(allShards(env).map(({ db }) => openHoldsIn(db, before, limit)));
  return perShard
    .flat()
    .sort((a, b) => a.since - b.since)
    .slice(0, limit);
}

async function openHoldsIn(d1: D1Database, before: number, limit: number): Promise<OpenHold[]> {
  // A range on account_id (not LIKE) so that the lines' account index serves it.
  const rows = await d1
    .prepare(
      `SELECT e.trip_id AS tripId, l.account_id AS account, l.currency AS currency, SUM(l.amount) AS held,
              MIN(l.created_at) AS since
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
        WHERE l.account_id >= 'hold:' AND l.account_id < 'hold;' AND e.trip_id IS NOT NULL
        GROUP BY e.trip_id, l.account_id, l.currency
       HAVING held > 0 AND since < ?
        LIMIT ?`,
    )
    .bind(before, limit)
    .all<OpenHold>();
  return rows.results;
}

/**
 * In every shard, accounts whose balance breaks their kind's sign and entries whose lines do not
 * sum to zero; across shards, transit money that the pending transfers do not account for.
 */
export async function ledgerProblems(env: Env): Promise<LedgerProblem[]> {
  const perShard = (await Promise.all(allShards(env).map(({ db }) => problemsIn(db)))).flat();
  if (transitCheckable(env)) return [...perShard, ...(await transitProblems(env))];
  // A moving owner's lines are partly in each of two shards: a balance read in one is not theirs.
  return perShard.filter((problem) => {
    const owner = problem.kind === "account_balance" ? ownerOrNull(problem.account) : null;
    return owner === null || earlierShardDatabase(env, "ledger", owner) === null;
  });
}

/** An account's owner; null for an unowned account and for an id of no known kind (its problem is kept). */
function ownerOrNull(account: string): string | null {
  try {
    return accountOwner(account);
  } catch {
    return null;
  }
}

/**
 * Whether the transit account can be checked across shards now: not while a shard move runs
 * (`SHARD_MAP_PREVIOUS` set), since an entry copied to its new shard and not yet deleted from the
 * old one is in both, and its transit line would be counted twice: a mismatch that is not one. The
 * same goes for the balances of the accounts whose owners move. Each shard's other checks still
 * run, and all of them again once the move is over.
 */
export const transitCheckable = (env: Env): boolean => shardRouter(env).previous === null;

/**
 * The transit account summed over all shards against the amounts of the pending transfers: a
 * following leg not yet posted leaves exactly its amount on transit, so any difference is money
 * lost or made between shards.
 */
async function transitProblems(env: Env): Promise<LedgerProblem[]> {
  const transit = new Map<string, number>();
  const pending = new Map<string, number>();
  const add = (into: Map<string, number>, currency: string, amount: number) =>
    into.set(currency, (into.get(currency) ?? 0) + amount);
  for (const { db } of allShards(env)) {
    const [onTransit, inFlight] = await db.batch<{ currency: string; amount: number }>([
      db
        .prepare(`SELECT currency, SUM(amount) AS amount FROM journal_lines WHERE account_id = ? GROUP BY currency`)
        .bind(Account.transit),
      // A pending leg's own transit line is what it will take off transit when it is posted.
      db
        .prepare(
          `SELECT json_extract(line.value, '$.currency') AS currency,
                  -SUM(json_extract(line.value, '$.amount')) AS amount
           FROM ledger_transfers t, json_each(t.leg, '$.lines') AS line
          WHERE t.status = 'pending' AND json_extract(line.value, '$.account') = ?
          GROUP BY 1`,
        )
        .bind(Account.transit),
    ]);
    for (const row of onTransit?.results ?? []) add(transit, row.currency, row.amount);
    for (const row of inFlight?.results ?? []) add(pending, row.currency, row.amount);
  }
  const problems: LedgerProblem[] = [];
  for (const currency of new Set([...transit.keys(), ...pending.keys()])) {
    const onTransit = transit.get(currency) ?? 0;
    const inFlight = pending.get(currency) ?? 0;
    if (onTransit !== inFlight)
      problems.push({ kind: "transit_mismatch", currency, transit: onTransit, pending: inFlight });
  }
  return problems;
}

async function problemsIn(d1: D1Database): Promise<LedgerProblem[]> {
  const [accounts, entries] = await d1.batch<Record<string, unknown>>([
    d1.prepare(
      `SELECT account_id AS account, currency, SUM(amount) AS balance,
              CASE WHEN account_id >= 'wallet:' AND account_id < 'wallet;' AND SUM(amount) < 0
                     THEN 'a wallet never goes below zero'
                   WHEN account_id >= 'hold:' AND account_id < 'hold;' AND SUM(amount) < 0
                     THEN 'a hold never goes below zero'
                   WHEN account_id >= 'receivable:' AND account_id < 'receivable;' AND SUM(amount) > 0
                     THEN 'a receivable never goes above zero'
                   WHEN account_id >= 'payout:' AND account_id < 'payout;' AND SUM(amount) < 0
                     THEN 'a payout in transit never goes below zero'
              END AS rule
         FROM journal_lines GROUP BY account_id, currency HAVING rule IS NOT NULL`,
    ),
    d1.prepare(
      `SELECT entry_id AS entryId, currency, SUM(amount) AS sum, GROUP_CONCAT(account_id) AS accounts
         FROM journal_lines GROUP BY entry_id, currency HAVING SUM(amount) != 0`,
    ),
  ]);
  const problems: LedgerProblem[] = [];
  for (const row of (accounts?.results ?? []) as {
    account: string;
    currency: string;
    balance: number;
    rule: string;
  }[]) {
    problems.push({
      kind: "account_balance",
      account: row.account,
      currency: row.currency,
      balance: row.balance,
      rule: row.rule,
    });
  }
  for (const row of (entries?.results ?? []) as {
    entryId: string;
    currency: string;
    sum: number;
    accounts: string;
  }[]) {
    problems.push({
      kind: "unbalanced_entry",
      entryId: row.entryId,
      currency: row.currency,
      sum: row.sum,
      accounts: [...new Set(row.accounts.split(","))],
    });
  }
  return problems;
}
