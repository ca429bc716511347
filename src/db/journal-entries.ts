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

/** The capture or fee entry of a trip, if it was charged. */
export async function chargeOf(d1: D1Database, tripId: string): Promise<StoredEntry | undefined> {
  return (await entryByKey(d1, chargeKey(tripId, "capture"))) ?? (await entryByKey(d1, chargeKey(tripId, "fee")));
}
