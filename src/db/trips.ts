/**
 * @module db/trips
 * Quotes, the one-active-trip claim, trip-request idempotency and trip history in D1.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { QuoteTerms } from "../domain/trip";
import { Quote, Trip } from "../protocol/dispatch";
import { QuoteTerms as QuoteTermsSchema } from "../domain/trip";
import { z } from "zod";
import { activeTrips, quotes, tripRequests, trips } from "./schema";

const StoredQuote = z.object({ quote: Quote, terms: QuoteTermsSchema });
export type StoredQuote = z.infer<typeof StoredQuote>;

export async function saveQuote(d1: D1Database, riderId: string, quote: Quote, terms: QuoteTerms): Promise<void> {
  await drizzle(d1).insert(quotes).values({ id: quote.id, riderId, data: { quote, terms }, expiresAt: quote.expiresAt });
}

export async function findQuote(d1: D1Database, id: string, riderId: string): Promise<StoredQuote | undefined> {
  const [row] = await drizzle(d1).select().from(quotes).where(and(eq(quotes.id, id), eq(quotes.riderId, riderId))).limit(1);
  return row ? StoredQuote.parse(row.data) : undefined;
}

/** Claims the rider's single active-trip slot; returns the trip already holding it, if any. */
export async function claimActiveTrip(d1: D1Database, riderId: string, tripId: string, now: number): Promise<string | null> {
  const db = drizzle(d1);
  const inserted = await db.insert(activeTrips).values({ riderId, tripId, createdAt: now }).onConflictDoNothing().returning({ tripId: activeTrips.tripId });
  if (inserted.length === 1) return null;
  const [holder] = await db.select({ tripId: activeTrips.tripId }).from(activeTrips).where(eq(activeTrips.riderId, riderId)).limit(1);
  return holder?.tripId ?? null;
}

/** Frees the slot, only if `tripId` still holds it. */
export async function releaseActiveTrip(d1: D1Database, riderId: string, tripId: string): Promise<void> {
  await drizzle(d1).delete(activeTrips).where(and(eq(activeTrips.riderId, riderId), eq(activeTrips.tripId, tripId)));
}

export async function findTripRequest(d1: D1Database, riderId: string, key: string): Promise<string | undefined> {
  const [row] = await drizzle(d1)
    .select({ tripId: tripRequests.tripId })
    .from(tripRequests)
    .where(and(eq(tripRequests.riderId, riderId), eq(tripRequests.idempotencyKey, key)))
    .limit(1);
  return row?.tripId;
}

export async function saveTripRequest(d1: D1Database, riderId: string, key: string, tripId: string, now: number): Promise<void> {
  await drizzle(d1).insert(tripRequests).values({ riderId, idempotencyKey: key, tripId, createdAt: now }).onConflictDoNothing();
}

/** The user's trips as rider or driver, newest first; `before` is a createdAt cursor. */
export async function listTrips(d1: D1Database, userId: string, limit: number, before: number | undefined): Promise<Trip[]> {
  const mine = or(eq(trips.riderId, userId), eq(trips.driverId, userId));
  const rows = await drizzle(d1)
    .select({ data: trips.data })
    .from(trips)
    .where(before === undefined ? mine : and(mine, lt(trips.createdAt, before)))
    .orderBy(desc(trips.createdAt))
    .limit(limit);
  return rows.map((row) => Trip.parse(row.data));
}
