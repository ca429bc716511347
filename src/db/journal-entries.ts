/**
 * @module db/journal-entries
 * Ledger entries read back from D1 by their idempotency key: to tell a replay from a refusal
 * after a posting, for receipts, and for refunds. The statement is raw (a D1 prepared
 * statement) because it also rides in the posting batch (db/settlement.ts reads the charge back
 * in the same transaction that posts it).
 */
import { z } from "zod";
import { chargeKey } from "../domain/charges";
import { FareBreakdown, FareDecision } from "../domain/fare";
import type { ChargeData, Entry } from "../domain/ledger-entries";
import { legKey } from "../domain/ledger-legs";
import { ledgerOf } from "./ledger-statements";

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

export type EntryRow = {
  id: string;
  idempotency_key: string;
  kind: Entry["kind"];
  trip_id: string | null;
  data: string | null;
  created_at: number;
};

export const entryByKeyStatement = (d1: D1Database, key: string) =>
  d1
    .prepare(
      `SELECT id, idempotency_key, kind, trip_id, data, created_at
       FROM journal_entries
       WHERE idempotency_key = ? LIMIT 1`,
    )
    .bind(key);

export function storedEntryOf(row: EntryRow | undefined): StoredEntry | undefined {
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

/**
 * The capture or fee of a trip, if it was charged, as `ownerId` has it in their partition: the
 * rider its first leg, the driver the leg that paid them (domain/ledger-legs). Both carry the
 * charge's data, so either side reads its receipt in its own shard.
 */
export async function chargeOf(env: Env, ownerId: string, tripId: string): Promise<StoredEntry | undefined> {
  const keys = [chargeKey(tripId, "capture"), chargeKey(tripId, "fee")];
  const row = await ledgerOf(env, ownerId)
    .prepare(
      `SELECT id, idempotency_key, kind, trip_id, data, created_at
       FROM journal_entries
       WHERE idempotency_key IN (?, ?, ?, ?) LIMIT 1`,
    )
    .bind(...keys, ...keys.map((key) => legKey(key, ownerId)))
    .first<EntryRow>();
  return storedEntryOf(row ?? undefined);
}
