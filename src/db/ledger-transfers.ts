/**
 * @module db/ledger-transfers
 * The second step of an entry between two people (domain/ledger-legs; db/postings.ts posts the
 * first): each following leg is recorded `pending` in the first leg's shard, in the first leg's
 * transaction; it is then posted in its owner's shard (idempotent by its key, and with no guard,
 * so it cannot be refused) and marked `done`. A crash between the two leaves it pending: a retry
 * of the posting or the reconciliation's sweep (`drivePendingTransfers`) posts it.
 */
import { z } from "zod";
import type { Entry } from "../domain/ledger-entries";
import type { Leg } from "../domain/ledger-legs";
import { newId } from "../ids";
import { ledgerOf, postStatements } from "./ledger-statements";
import { allShards } from "./shards";

/** A following leg still to post, and the owner whose shard holds its first leg. */
export type PendingTransfer = { fromOwner: string; leg: Leg };

/** The statement that records `leg` as pending in the first leg's batch, only if that entry went in. */
export function transferStatement(
  d1: D1Database,
  firstEntryId: string,
  first: Leg,
  leg: Leg,
  now: number,
): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO ledger_transfers (leg_key, entry_key, from_owner_id, to_owner_id, leg, status, created_at)
       SELECT ?, ?, ?, ?, ?, 'pending', ?
       WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = ?)
       ON CONFLICT (leg_key) DO NOTHING`,
    )
    .bind(leg.entry.key, first.entry.key, first.owner, leg.owner, JSON.stringify(leg.entry), now, firstEntryId);
}

/** A leg as stored: the Entry it posts. Its `data` went in as the first leg's, so it is passed on as it is. */
const StoredLeg = z.object({
  key: z.string(),
  kind: z.enum([
    "top_up",
    "hold",
    "release",
    "capture",
    "fee",
    "refund",
    "tip",
    "payout",
    "payout_paid",
    "payout_failed",
  ]),
  tripId: z.string().nullable(),
  lines: z.array(z.object({ account: z.string(), amount: z.number().int(), currency: z.string() })),
  data: z.unknown(),
});

type TransferRow = { from_owner_id: string; to_owner_id: string; leg: string };

function pendingOf(row: TransferRow): PendingTransfer {
  const entry = StoredLeg.parse(JSON.parse(row.leg));
  return {
    fromOwner: row.from_owner_id,
    leg: { owner: row.to_owner_id, entry: { ...entry, data: entry.data ?? null } as Entry },
  };
}

/** The pending transfers of one entry, in the shard of its first leg. */
export async function pendingTransfersOf(d1: D1Database, entryKey: string): Promise<PendingTransfer[]> {
  const rows = await d1
    .prepare(`SELECT from_owner_id, to_owner_id, leg FROM ledger_transfers WHERE entry_key = ? AND status = 'pending'`)
    .bind(entryKey)
    .all<TransferRow>();
  return rows.results.map(pendingOf);
}

/**
 * Posts what is still pending of the entry keyed `entryKey` (its first leg in `from`): for a replay
 * that finds the entry posted, so that its second leg does not wait for the reconciliation.
 */
export async function finishTransfers(env: Env, from: D1Database, entryKey: string, now: number): Promise<void> {
  await driveTransfers(env, from, await pendingTransfersOf(from, entryKey), now);
}

/**
 * Posts each pending leg in its owner's shard, then marks it done in `from`, the shard of its
 * first leg. Either step may be repeated: the leg's key makes a second posting a no-op, and the
 * mark only moves `pending` to `done`. A leg that cannot be posted now (its owner's money is
 * being moved, a database error) is left pending for the next try; returns how many were posted.
 */
export async function driveTransfers(
  env: Env,
  from: D1Database,
  pending: PendingTransfer[],
  now: number,
): Promise<number> {
  let posted = 0;
  for (const { leg } of pending) {
    try {
      const to = ledgerOf(env, leg.owner);
      const { entryInsert, lines } = postStatements(to, leg.entry, newId("je"), leg.owner, now);
      await to.batch([entryInsert, ...lines]);
      await from
        .prepare(`UPDATE ledger_transfers SET status = 'done', done_at = ? WHERE leg_key = ? AND status = 'pending'`)
        .bind(now, leg.entry.key)
        .run();
      posted++;
    } catch (err) {
      logDeferred({ legKey: leg.entry.key, message: (err as Error).message });
    }
  }
  return posted;
}

/**
 * The reconciliation's sweep: in every shard, the transfers pending since before `before` (the
 * posting that recorded them is given that long to finish them itself), at most `limit` per shard,
 * posted and marked done. Returns how many it finished.
 */
export async function drivePendingTransfers(env: Env, before: number, limit: number, now: number): Promise<number> {
  let driven = 0;
  for (const { binding, db } of allShards(env)) {
    // One shard that cannot be read, or one row that does not parse, must not hold up the others.
    try {
      const rows = await db
        .prepare(
          `SELECT from_owner_id, to_owner_id, leg FROM ledger_transfers
            WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?`,
        )
        .bind(before, limit)
        .all<TransferRow>();
      const pending: PendingTransfer[] = [];
      for (const row of rows.results) {
        try {
          pending.push(pendingOf(row));
        } catch (err) {
          logDeferred({ shard: binding, message: `a transfer row does not parse: ${(err as Error).message}` });
        }
      }
      driven += await driveTransfers(env, db, pending, now);
    } catch (err) {
      logDeferred({ shard: binding, message: (err as Error).message });
    }
  }
  return driven;
}

function logDeferred(fields: Record<string, unknown>): void {
  console.error(JSON.stringify({ level: "warn", where: "ledger", event: "transfer_deferred", ...fields }));
}
