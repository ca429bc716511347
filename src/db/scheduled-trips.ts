/**
 * @module db/scheduled-trips
 * The index of riders' upcoming scheduled rides in D1 (README, "Scheduled rides"): written with
 * the request (inside the per-rider limit, with its Idempotency-Key and its place in the request
 * limits, in one transaction), read by the list route and the reconciliation cron, and deleted
 * by the trip's write-behind once the trip leaves `scheduled`. Each trip object stays the record
 * of its ride: readers ask it for the trip.
 */
import { asc, eq, lt } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { scheduledTrips } from "./schema";

export type ScheduledListing = {
  riderId: string;
  tripId: string;
  pickupAt: number;
  now: number;
  /** The request's Idempotency-Key, recorded only if the ride is listed. */
  key: string | undefined;
  /** Upcoming rides a rider may have at once. */
  limit: number;
  /** How far apart (pickup to pickup) two of the rider's rides must be. */
  minGapMs: number;
};

/** What came of listing: listed, or why not (the limit, or the ride `tripId` too close to this one). */
export type ListingOutcome =
  | { listed: true; keyRecorded: boolean }
  | { listed: false; why: "limit" }
  | { listed: false; why: "overlap"; tripId: string };

/**
 * Lists a new scheduled ride unless the rider already has `limit` upcoming or one within
 * `minGapMs` of its pickup, then (only if it was listed) records the request's Idempotency-Key and
 * counts the request towards the rider's request limits, all in one transaction. `keyRecorded`
 * false with a key: a twin request with the same key got there first.
 */
export async function listScheduledTrip(d1: D1Database, listing: ScheduledListing): Promise<ListingOutcome> {
  const { riderId, tripId, pickupAt, now, key, limit, minGapMs } = listing;
  const listed = `EXISTS (SELECT 1 FROM scheduled_trips WHERE trip_id = ?)`;
  const statements = [
    d1
      .prepare(
        `INSERT INTO scheduled_trips (trip_id, rider_id, pickup_at, created_at)
         SELECT ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM scheduled_trips WHERE rider_id = ?) < ?
           AND NOT EXISTS (SELECT 1 FROM scheduled_trips WHERE rider_id = ? AND pickup_at > ? AND pickup_at < ?)`,
      )
      .bind(tripId, riderId, pickupAt, now, riderId, limit, riderId, pickupAt - minGapMs, pickupAt + minGapMs),
    d1
      .prepare(
        `INSERT INTO rider_activity (trip_id, kind, rider_id, at)
         SELECT ?, 'request', ?, ? WHERE ${listed} ON CONFLICT DO NOTHING`,
      )
      .bind(tripId, riderId, now, tripId),
  ];
  if (key !== undefined)
    statements.push(
      d1
        .prepare(
          `INSERT INTO trip_requests (rider_id, idempotency_key, trip_id, created_at)
           SELECT ?, ?, ?, ? WHERE ${listed}
           ON CONFLICT (rider_id, idempotency_key) DO NOTHING`,
        )
        .bind(riderId, key, tripId, now, tripId),
    );
  const [insert, , request] = await d1.batch(statements);
  if ((insert?.meta.changes ?? 0) === 1)
    return { listed: true, keyRecorded: key === undefined || (request?.meta.changes ?? 0) === 1 };
  // Not listed: say why (a read after the batch; the answer only words the refusal).
  const near = await d1
    .prepare(`SELECT trip_id FROM scheduled_trips WHERE rider_id = ? AND pickup_at > ? AND pickup_at < ? LIMIT 1`)
    .bind(riderId, pickupAt - minGapMs, pickupAt + minGapMs)
    .first<{ trip_id: string }>();
  return near ? { listed: false, why: "overlap", tripId: near.trip_id } : { listed: false, why: "limit" };
}

/** Takes a ride off the index (its request failed after listing it, or it is no longer scheduled). */
export async function unlistScheduledTrip(d1: D1Database, tripId: string): Promise<void> {
  await unlistQuery(drizzle(d1), tripId);
}

/** The same, as a query to run in the trip's write-behind batch. */
export function unlistQuery(db: DrizzleD1Database, tripId: string) {
  return db.delete(scheduledTrips).where(eq(scheduledTrips.tripId, tripId));
}

/** The rider's listed rides, soonest pickup first. */
export async function scheduledTripIdsOf(d1: D1Database, riderId: string, limit: number): Promise<string[]> {
  const rows = await drizzle(d1)
    .select({ tripId: scheduledTrips.tripId })
    .from(scheduledTrips)
    .where(eq(scheduledTrips.riderId, riderId))
    .orderBy(asc(scheduledTrips.pickupAt))
    .limit(limit);
  return rows.map((r) => r.tripId);
}

/** Listed rides whose pickup time is before `before`: each should have left `scheduled` by then. */
export async function overdueScheduledTrips(d1: D1Database, before: number, limit: number): Promise<string[]> {
  const rows = await drizzle(d1)
    .select({ tripId: scheduledTrips.tripId })
    .from(scheduledTrips)
    .where(lt(scheduledTrips.pickupAt, before))
    .orderBy(asc(scheduledTrips.pickupAt))
    .limit(limit);
  return rows.map((r) => r.tripId);
}
