/**
 * @module db/postings
 * Posting ledger entries to D1: each entry at most once per key, its lines with it, and only if
 * the wallets it takes from cover it. The posting rules themselves (which lines an event
 * produces) are in domain/ledger-entries.ts and the entry modules beside it.
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
 * Raw statements (D1 prepared statements), because drizzle cannot express an
 * `INSERT … SELECT … WHERE` guard with an upsert.
 */
import {
  accountKind,
  accountOwner,
  guardsOf,
  isBalanced,
  type Entry,
  type PostOutcome,
} from "../domain/ledger-entries";
import { newId } from "../ids";
import { metrics } from "../metrics";
import { entryByKey } from "./journal-entries";
import type { SqlCondition } from "./sql-condition";

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
    countPosting(entry.kind, outcomes[i] ?? "refused");
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

/** A posting's outcome as a metric (src/metrics.ts): posted or refused, by entry kind; a duplicate is neither. */
export function countPosting(kind: string, outcome: PostOutcome): void {
  if (outcome === "posted") metrics.count("ledger_posting", kind);
  else if (outcome === "refused") metrics.count("ledger_refused", kind);
}
