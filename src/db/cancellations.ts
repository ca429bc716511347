/**
 * @module db/cancellations
 * Trips' cancels with their reasons in D1 (schema's trip_cancellations), for operators: written
 * by the trip room behind each cancel, listed newest first with counts per code.
 */
import { and, count, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { OpsCancellationsQuery, OpsCancellationsResponse, TripCancellation } from "../protocol/ops";
import { CancelReasonCode } from "../domain/cancel-reasons";
import { tripCancellations } from "./schema";

export type CancellationRecord = typeof tripCancellations.$inferInsert;

/** Records cancels; one already recorded (same trip, canceller and time) is left as it is. */
export async function recordCancellations(d1: D1Database, rows: CancellationRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await drizzle(d1).insert(tripCancellations).values(rows).onConflictDoNothing();
}

export async function listCancellations(
  d1: D1Database,
  query: OpsCancellationsQuery,
  currency: string,
): Promise<OpsCancellationsResponse> {
  const span: SQL[] = [];
  if (query.by !== undefined) span.push(eq(tripCancellations.by, query.by));
  if (query.since !== undefined) span.push(gte(tripCancellations.at, query.since));
  const page = [...span];
  if (query.reasonCode !== undefined) page.push(eq(tripCancellations.reasonCode, query.reasonCode));
  if (query.before !== undefined) page.push(lt(tripCancellations.at, query.before));
  const db = drizzle(d1);
  const [rows, tallies] = await Promise.all([
    db
      .select()
      .from(tripCancellations)
      .where(page.length ? and(...page) : undefined)
      .orderBy(desc(tripCancellations.at), desc(tripCancellations.tripId))
      .limit(query.limit),
    db
      .select({ reasonCode: tripCancellations.reasonCode, n: count() })
      .from(tripCancellations)
      .where(span.length ? and(...span) : undefined)
      .groupBy(tripCancellations.reasonCode),
  ]);
  const cancellations: TripCancellation[] = rows.map((row) => {
    const code = CancelReasonCode.safeParse(row.reasonCode);
    return {
      tripId: row.tripId,
      by: row.by,
      userId: row.userId,
      reasonCode: code.success ? code.data : null,
      note: row.note,
      fee: row.fee === null ? null : { amount: row.fee, currency },
      at: row.at,
    };
  });
  const counts: Record<string, number> = {};
  for (const t of tallies) counts[t.reasonCode ?? "none"] = t.n;
  return { cancellations, counts };
}
