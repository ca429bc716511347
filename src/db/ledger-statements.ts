/**
 * @module db/ledger-statements
 * Where a user's money is (their partition, src/db/shards.ts kind "ledger") and the statements
 * that post one leg of an entry there (domain/ledger-legs): the guarded, idempotent entry insert
 * and its lines. db/postings.ts puts them in batches; db/ledger-transfers.ts posts following legs.
 */
import { type Entry, guardsOf, isBalanced } from "../domain/ledger-entries";
import { ApiError } from "../errors";
import { earlierShardDatabase, shardDatabase } from "./shards";
import type { SqlCondition } from "./sql-condition";

/**
 * The D1 database of `ownerId`'s partition, where their accounts' lines are. While a shard move
 * takes their bucket elsewhere (SHARD_MAP_PREVIOUS names another shard for it), their money is in
 * two places and no guard could see all of it: every read and write of it is refused (503, retry
 * in a minute) until the move is done. A move of a few buckets takes minutes (docs/OPERATIONS.md).
 */
export function ledgerOf(env: Env, ownerId: string): D1Database {
  if (earlierShardDatabase(env, "ledger", ownerId))
    throw new ApiError(
      503,
      "internal",
      "this account's money is being moved to another database; try again in a minute",
      undefined,
      60,
    );
  return shardDatabase(env, "ledger", ownerId);
}

/**
 * The statements that post one leg, `entry`, in `ownerId`'s shard if its key is new and its guards
 * hold (and `alsoIf`, when given): `entryInsert` is the guarded entry insert, `lines` its lines.
 */
export function postStatements(
  d1: D1Database,
  entry: Entry,
  entryId: string,
  ownerId: string,
  now: number,
  alsoIf?: SqlCondition,
): { entryInsert: D1PreparedStatement; lines: D1PreparedStatement[] } {
  if (!isBalanced(entry)) throw new RangeError(`unbalanced entry ${entry.key}`);
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
      `INSERT INTO journal_entries (id, idempotency_key, owner_id, kind, trip_id, data, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE ${where}
       ON CONFLICT (idempotency_key) DO NOTHING`,
    )
    .bind(
      entryId,
      entry.key,
      ownerId,
      entry.kind,
      entry.tripId,
      entry.data === null ? null : JSON.stringify(entry.data),
      now,
      ...guards.flatMap((g) => [g.account, g.currency, g.atLeast]),
      ...(alsoIf?.params ?? []),
    );
  const lines = entry.lines.map((l) =>
    d1
      .prepare(
        `INSERT INTO journal_lines (entry_id, owner_id, account_id, amount, currency, created_at)
         SELECT ?, ?, ?, ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)`,
      )
      .bind(entryId, ownerId, l.account, l.amount, l.currency, now, entryId),
  );
  return { entryInsert, lines };
}
