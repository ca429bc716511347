/**
 * @module db/alerts
 * SOS alerts in D1 (schema's trip_alerts): raised by a trip's rider or driver, listed and
 * acknowledged by operators. An alert is written at once, never behind an outbox.
 */
import { and, desc, eq, isNull, lt, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { OpsAlertsQuery, TripAlert } from "../protocol/safety";
import { tripAlerts } from "./schema";

type AlertRow = typeof tripAlerts.$inferSelect;

const alertOf = (row: AlertRow): TripAlert => ({
  id: row.id,
  tripId: row.tripId,
  raisedBy: row.raisedBy,
  role: row.role,
  location: { lat: row.lat, lng: row.lng },
  note: row.note,
  createdAt: row.createdAt,
  acknowledgedAt: row.acknowledgedAt,
  acknowledgedBy: row.acknowledgedBy,
});

/**
 * Stores an alert; with an idempotency key, a repeat from the same user on the same trip
 * answers the first alert (and `created: false`) instead of a second one.
 */
export async function raiseAlert(
  d1: D1Database,
  alert: Omit<AlertRow, "acknowledgedAt" | "acknowledgedBy">,
): Promise<{ alert: TripAlert; created: boolean }> {
  const db = drizzle(d1);
  const inserted = await db.insert(tripAlerts).values(alert).onConflictDoNothing().returning();
  if (inserted[0]) return { alert: alertOf(inserted[0]), created: true };
  const [earlier] = await db
    .select()
    .from(tripAlerts)
    .where(
      and(
        eq(tripAlerts.raisedBy, alert.raisedBy),
        eq(tripAlerts.tripId, alert.tripId),
        eq(tripAlerts.idempotencyKey, alert.idempotencyKey ?? ""),
      ),
    );
  if (!earlier) throw new Error("an alert that conflicted is not there");
  return { alert: alertOf(earlier), created: false };
}

export async function listAlerts(d1: D1Database, query: OpsAlertsQuery): Promise<TripAlert[]> {
  const conditions: SQL[] = [];
  if (query.state === "open") conditions.push(isNull(tripAlerts.acknowledgedAt));
  if (query.before !== undefined) conditions.push(lt(tripAlerts.createdAt, query.before));
  const rows = await drizzle(d1)
    .select()
    .from(tripAlerts)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(tripAlerts.createdAt), desc(tripAlerts.id))
    .limit(query.limit);
  return rows.map(alertOf);
}

/** Marks an alert taken in hand by `adminId` (the first acknowledgement stands); null when there is no such alert. */
export async function acknowledgeAlert(
  d1: D1Database,
  id: string,
  adminId: string,
  now: number,
): Promise<TripAlert | null> {
  const db = drizzle(d1);
  await db
    .update(tripAlerts)
    .set({ acknowledgedAt: now, acknowledgedBy: adminId })
    .where(and(eq(tripAlerts.id, id), isNull(tripAlerts.acknowledgedAt)));
  const [row] = await db.select().from(tripAlerts).where(eq(tripAlerts.id, id));
  return row ? alertOf(row) : null;
}
