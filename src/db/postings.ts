/**
 * @module db/postings
 * Posting ledger entries to D1: each entry at most once per key, its lines with it, and only if
 * the wallets it takes from cover it. The posting rules themselves (which lines an event
 * produces) are in domain/ledger-entries.ts and the entry modules beside it.
 *
 * Where: each user's money is in their own partition (src/db/shards.ts, kind "ledger"). An entry
 * between two people (a charge, a refund, a tip) is posted as one leg per owner
 * (domain/ledger-legs): the first leg in the lead owner's shard, in one transaction with a
 * `pending` transfer row for each following leg; then each following leg in its owner's shard and
 * its transfer marked done. A following leg has no guard, so nothing can refuse it once the first
 * is posted; a crash between the steps leaves the transfer pending, and the next posting of the
 * same entry or the reconciliation's sweep (db/ledger-transfers.ts) posts it. Its money sits on
 * the transit account meanwhile.
 *
 * How two requests by one rider cannot spend the same money: the first leg is posted as ONE D1
 * batch, and D1 runs a batch as a single transaction on a database that executes one statement
 * at a time. The batch inserts the entry with `INSERT … SELECT … WHERE <guard> ON CONFLICT
 * (idempotency_key) DO NOTHING`, where the guard is "this wallet's lines sum to at least what
 * the entry takes from it", then inserts the lines only `WHERE EXISTS` that entry. The check
 * and the write are one statement, so of N holds racing for one balance, the first batch D1
 * runs inserts its entry and every later one sees the reduced wallet and inserts nothing.
 * Because a wallet is the rider's *available* money (holds have moved to `hold:<rider>`), the
 * guard is exactly "balance − holds ≥ amount". All of a wallet's lines are in its owner's shard,
 * and the guards are all on the lead owner's accounts, so the guard still reads one database.
 * A trigger (migrations-shard/0005) aborts any batch that would still take a wallet below zero.
 *
 * Raw statements (D1 prepared statements), because drizzle cannot express an
 * `INSERT … SELECT … WHERE` guard with an upsert.
 */
import type { Entry, PostOutcome } from "../domain/ledger-entries";
import { type Leg, legsOf } from "../domain/ledger-legs";
import { newId } from "../ids";
import { metrics } from "../metrics";
import { entryByKey } from "./journal-entries";
import { ledgerOf, postStatements } from "./ledger-statements";
import { driveTransfers, pendingTransfersOf, transferStatement } from "./ledger-transfers";
import type { SqlCondition } from "./sql-condition";

/**
 * An entry's first leg, ready for a batch in the lead owner's shard: its statements (the guarded
 * entry insert first, then its lines and the transfer rows of the following legs, each only if
 * the entry went in), the shard, and the following legs to post once the batch has run.
 *
 * A following leg whose owner's money is in the same database goes in the same batch instead,
 * only if the first leg went in: one transaction for both, so no transfer is recorded and no
 * second round trip made (with N shards, one pair in N).
 */
export type FirstLeg = {
  d1: D1Database;
  owner: string;
  key: string;
  entryId: string;
  statements: D1PreparedStatement[];
  following: Leg[];
};

export function firstLegOf(env: Env, entry: Entry, now: number, alsoIf?: SqlCondition): FirstLeg {
  const [first, ...others] = legsOf(entry);
  if (!first) throw new RangeError(`entry ${entry.key} has no lines`);
  const d1 = ledgerOf(env, first.owner);
  const entryId = newId("je");
  const { entryInsert, lines } = postStatements(d1, first.entry, entryId, first.owner, now, alsoIf);
  const together = others.filter((leg) => sameDatabase(env, leg.owner, d1));
  const following = others.filter((leg) => !together.includes(leg));
  const firstPosted = { sql: "EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)", params: [entryId] };
  const alongside = together.flatMap((leg) => {
    const posted = postStatements(d1, leg.entry, newId("je"), leg.owner, now, firstPosted);
    return [posted.entryInsert, ...posted.lines];
  });
  const transfers = following.map((leg) => transferStatement(d1, entryId, first, leg, now));
  return {
    d1,
    owner: first.owner,
    key: entry.key,
    entryId,
    statements: [entryInsert, ...lines, ...alongside, ...transfers],
    following,
  };
}

/** Whether `owner`'s money is in `d1` now (not while a move takes their bucket elsewhere). */
function sameDatabase(env: Env, owner: string, d1: D1Database): boolean {
  try {
    return ledgerOf(env, owner) === d1;
  } catch {
    return false;
  }
}

/**
 * After a first leg's batch: posts its following legs now when it was posted, or finishes any
 * still pending when it was a duplicate (a retry after a crash between the steps). A leg that
 * cannot be posted now is left pending (db/ledger-transfers.ts logs it): the first leg stands,
 * and the reconciliation's sweep posts the rest.
 */
export async function completeLegs(env: Env, leg: FirstLeg, outcome: PostOutcome, now: number): Promise<void> {
  if (leg.following.length === 0 || outcome === "refused") return;
  const pending =
    outcome === "posted"
      ? leg.following.map((l) => ({ fromOwner: leg.owner, leg: l }))
      : await pendingTransfersOf(leg.d1, leg.key);
  await driveTransfers(env, leg.d1, pending, now);
}

/**
 * Runs one entry's first leg (its own batch, for a caller that adds a condition of its own: a tip's
 * bound, a refund's total) and, when its entry went in, counts it and posts its following legs.
 * Returns whether it went in; a caller tells a duplicate from a refusal itself.
 */
export async function postFirstLeg(env: Env, leg: FirstLeg, kind: Entry["kind"], now: number): Promise<boolean> {
  const [inserted] = await leg.d1.batch(leg.statements);
  if ((inserted?.meta.changes ?? 0) !== 1) return false;
  countPosting(kind, "posted");
  await completeLegs(env, leg, "posted", now);
  return true;
}

/**
 * Posts the entries in order, their first legs in one batch (one transaction) in their lead
 * owner's shard, each at most once per key and only if its guards hold when its turn comes; then
 * their following legs. The entries must all lead with the same owner (a trip's release and
 * charge both move the rider's wallet first). `extra(d1)` builds statements that run in the same
 * transaction on that shard, after the entries; their results come back in `extra`.
 */
export async function postEntriesWith(
  env: Env,
  entries: readonly Entry[],
  now: number,
  extra: (d1: D1Database) => D1PreparedStatement[] = () => [],
): Promise<{ outcomes: PostOutcome[]; extra: D1Result[] }> {
  if (entries.length === 0) return { outcomes: [], extra: [] };
  const legs = entries.map((entry) => firstLegOf(env, entry, now));
  const d1 = legs[0]?.d1 as D1Database;
  if (legs.some((leg) => leg.owner !== legs[0]?.owner))
    throw new RangeError("entries posted in one batch must lead with the same owner");
  const batch: D1PreparedStatement[] = [];
  const entryAt: number[] = [];
  for (const leg of legs) {
    entryAt.push(batch.length);
    batch.push(...leg.statements);
  }
  const extraAt = batch.length;
  batch.push(...extra(d1));
  const results = await d1.batch(batch);
  const outcomes: PostOutcome[] = [];
  for (const [i, entry] of entries.entries()) {
    const at = entryAt[i] ?? 0;
    let outcome: PostOutcome;
    if ((results[at]?.meta.changes ?? 0) === 1) outcome = "posted";
    else outcome = (await entryByKey(d1, entry.key)) ? "duplicate" : "refused";
    outcomes.push(outcome);
    countPosting(entry.kind, outcome);
    await completeLegs(env, legs[i] as FirstLeg, outcome, now);
  }
  return { outcomes, extra: results.slice(extraAt) };
}

export async function postEntries(env: Env, entries: readonly Entry[], now: number): Promise<PostOutcome[]> {
  return (await postEntriesWith(env, entries, now)).outcomes;
}

export async function postEntry(env: Env, entry: Entry, now: number): Promise<PostOutcome> {
  const [outcome] = await postEntries(env, [entry], now);
  return outcome ?? "refused";
}

/** A posting's outcome as a metric (src/metrics.ts): posted or refused, by entry kind; a duplicate is neither. */
export function countPosting(kind: string, outcome: PostOutcome): void {
  if (outcome === "posted") metrics.count("ledger_posting", kind);
  else if (outcome === "refused") metrics.count("ledger_refused", kind);
}
