/**
 * @module db/trips
 * Quotes, the one-active-trip claim, trip-request idempotency and riders' recent requests and
 * cancels (for the request limits) in `DB`; a trip's write-behind and the user's list of trips,
 * whose rows are in the partitions (db/trip-history.ts).
 */
import { and, eq, gt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { RequestLimits, RiderActivity } from "../domain/request-limits";
import { isActive, type QuoteTerms } from "../domain/trip";
import {
  Quote,
  type Trip,
  tripCursorOf,
  type TripHistoryResponse,
  type TripListQuery,
  type TripRatingSummary,
} from "../protocol/dispatch";
import { QuoteTerms as QuoteTermsSchema } from "../domain/trip";
import { z } from "zod";
import { type Rating, ratingFromRow, ratingQuery } from "./ratings";
import { unlistQuery } from "./scheduled-trips";
import { activeTrips, quotes, ratings, riderActivity, tripRequests } from "./schema";
import { inList } from "./in-list";
import { historyRowsOf, userTripPage, writeTripHistory } from "./trip-history";

const StoredQuote = z.object({ quote: Quote, terms: QuoteTermsSchema });
export type StoredQuote = z.infer<typeof StoredQuote>;

export async function saveQuote(d1: D1Database, riderId: string, quote: Quote, terms: QuoteTerms): Promise<void> {
  await drizzle(d1)
    .insert(quotes)
    .values({ id: quote.id, riderId, data: { quote, terms }, expiresAt: quote.expiresAt });
}

/** A quote's quotes, one per tier, in one D1 round trip. */
export async function saveQuotes(d1: D1Database, riderId: string, stored: readonly StoredQuote[]): Promise<void> {
  const db = drizzle(d1);
  const [first, ...rest] = stored.map(({ quote, terms }) =>
    db.insert(quotes).values({ id: quote.id, riderId, data: { quote, terms }, expiresAt: quote.expiresAt }),
  );
  if (first) await db.batch([first, ...rest]);
}

/**
 * What a trip request reads before it goes on, in one D1 round trip: the trip an earlier request
 * with this Idempotency-Key made, the quote it names, the rider's recent requests and cancels
 * (the request limits), and the rider's rating (what their driver is shown of them).
 */
export async function findRequestQuoteAndActivity(
  d1: D1Database,
  riderId: string,
  key: string | undefined,
  quoteId: string | undefined,
  now: number,
  limits: RequestLimits,
): Promise<{
  earlierTripId: string | undefined;
  /** When the earlier request recorded the key (with its claim or listing, before creating its trip). */
  earlierAt: number | undefined;
  quote: StoredQuote | undefined;
  activity: RiderActivity;
  riderRating: Rating;
}> {
  const db = drizzle(d1);
  // A lookup the request does not need runs as LIMIT 0, so the batch keeps one shape.
  const request = tripRequestQuery(db, riderId, key ?? "").limit(key === undefined ? 0 : 1);
  const quote = db
    .select()
    .from(quotes)
    .where(and(eq(quotes.id, quoteId ?? ""), eq(quotes.riderId, riderId)))
    .limit(quoteId === undefined ? 0 : 1);
  const [[requestRow], [quoteRow], [activity], [rating]] = await db.batch([
    request,
    quote,
    riderActivityQuery(db, riderId, now, limits),
    ratingQuery(db, riderId),
  ]);
  return {
    earlierTripId: requestRow?.tripId,
    earlierAt: requestRow?.createdAt,
    quote: quoteRow ? StoredQuote.parse(quoteRow.data) : undefined,
    activity: activity ?? NO_ACTIVITY,
    riderRating: ratingFromRow(rating),
  };
}

/** The rider's active-trip slot, as one attempt at it left it. */
export interface SlotClaim {
  /** The slot is the attempting trip's. */
  claimed: boolean;
  /** The trip holding the slot after the attempt and when it claimed it; null if nobody does (freed meanwhile). */
  holder: { tripId: string; claimedAt: number } | null;
  /** The trip the request's Idempotency-Key is recorded for, and when, if it is. */
  keyed: { tripId: string; recordedAt: number } | null;
}

/**
 * One round trip at the rider's active-trip slot for `tripId` (once its fare is held). It claims
 * the slot if it is free, or, with `from`, takes it from that trip if it still holds it (the
 * caller found that trip over). Then, only if the slot is `tripId`'s, it records the request's
 * Idempotency-Key, and it reads back who holds the slot and which trip the key names, so that a
 * refused claim costs no second round trip to learn why. The claim and the key are written in one
 * transaction, so a twin request (same key, same moment) finds the key as soon as it finds the
 * slot taken. `alongside` run in the same batch.
 */
export async function claimRiderSlot(
  d1: D1Database,
  riderId: string,
  tripId: string,
  now: number,
  { key, from, alongside = [] }: { key?: string; from?: string; alongside?: D1PreparedStatement[] },
): Promise<SlotClaim> {
  const claim =
    from === undefined
      ? d1
          .prepare(
            `INSERT INTO active_trips (rider_id, trip_id, created_at) VALUES (?, ?, ?)
             ON CONFLICT (rider_id) DO NOTHING`,
          )
          .bind(riderId, tripId, now)
      : d1
          .prepare(`UPDATE active_trips SET trip_id = ?, created_at = ? WHERE rider_id = ? AND trip_id = ?`)
          .bind(tripId, now, riderId, from);
  const holder = d1.prepare(`SELECT trip_id, created_at FROM active_trips WHERE rider_id = ?`).bind(riderId);
  if (key === undefined) {
    const results = await d1.batch([claim, ...alongside, holder]);
    return slotClaimOf(tripId, results.at(-1), null);
  }
  const saveKey = d1
    .prepare(
      `INSERT INTO trip_requests (rider_id, idempotency_key, trip_id, created_at)
       SELECT ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM active_trips WHERE rider_id = ? AND trip_id = ?)
       ON CONFLICT (rider_id, idempotency_key) DO NOTHING`,
    )
    .bind(riderId, key, tripId, now, riderId, tripId);
  const keyTrip = d1
    .prepare(`SELECT trip_id, created_at FROM trip_requests WHERE rider_id = ? AND idempotency_key = ?`)
    .bind(riderId, key);
  const results = await d1.batch([claim, saveKey, ...alongside, holder, keyTrip]);
  const [keyRow] = (results.at(-1)?.results ?? []) as TripRow[];
  return slotClaimOf(tripId, results.at(-2), keyRow ? { tripId: keyRow.trip_id, recordedAt: keyRow.created_at } : null);
}

type TripRow = { trip_id: string; created_at: number };

function slotClaimOf(tripId: string, holderResult: D1Result | undefined, keyed: SlotClaim["keyed"]): SlotClaim {
  const [row] = (holderResult?.results ?? []) as TripRow[];
  const holder = row ? { tripId: row.trip_id, claimedAt: row.created_at } : null;
  return { claimed: holder?.tripId === tripId, holder, keyed };
}

/** The trip holding the rider's active-trip slot, if any: written with the request, so it never lags. */
export async function activeTripOf(d1: D1Database, riderId: string): Promise<string | null> {
  const [row] = await drizzle(d1)
    .select({ tripId: activeTrips.tripId })
    .from(activeTrips)
    .where(eq(activeTrips.riderId, riderId))
    .limit(1);
  return row?.tripId ?? null;
}

/** Frees the slot, only if `tripId` still holds it. */
export async function releaseActiveTrip(d1: D1Database, riderId: string, tripId: string): Promise<void> {
  await releaseActiveTripQuery(drizzle(d1), riderId, tripId);
}

/** The same, as a query to run in a batch. */
function releaseActiveTripQuery(db: DrizzleD1Database, riderId: string, tripId: string) {
  return db.delete(activeTrips).where(and(eq(activeTrips.riderId, riderId), eq(activeTrips.tripId, tripId)));
}

export async function findTripRequest(d1: D1Database, riderId: string, key: string): Promise<string | undefined> {
  const [row] = await tripRequestQuery(drizzle(d1), riderId, key).limit(1);
  return row?.tripId;
}

/**
 * Forgets the Idempotency-Key of a request that made no trip (its create failed, or it died
 * between recording the key and creating the trip), only while it still names `tripId`: a retry
 * with the key then makes the trip instead of asking one that will never exist.
 */
export async function forgetTripRequest(d1: D1Database, riderId: string, key: string, tripId: string): Promise<void> {
  await drizzle(d1)
    .delete(tripRequests)
    .where(
      and(eq(tripRequests.riderId, riderId), eq(tripRequests.idempotencyKey, key), eq(tripRequests.tripId, tripId)),
    );
}

function tripRequestQuery(db: DrizzleD1Database, riderId: string, key: string) {
  return db
    .select({ tripId: tripRequests.tripId, createdAt: tripRequests.createdAt })
    .from(tripRequests)
    .where(and(eq(tripRequests.riderId, riderId), eq(tripRequests.idempotencyKey, key)));
}

/**
 * A trip room's write-behind: the trip's newest status into its parties' history rows
 * (db/trip-history.ts, in their partitions), then, in one `DB` batch, what the trip's end frees
 * or records: the rider's active-trip slot, a scheduled ride's listing and the rider's cancel.
 * History first, so that a rider whose slot is free finds the trip over in their list. Each write
 * is idempotent, and a failure of either retries both. `latest` is null when the flushed events
 * hold no status; `assignedDrivers` are every driver the trip was ever given to.
 */
export async function saveTripHistory(
  env: Env,
  latest: Trip | null,
  assignedDrivers: readonly string[],
): Promise<void> {
  if (!latest) return;
  await writeTripHistory(env, latest, historyRowsOf(latest, assignedDrivers));
  const db = drizzle(env.DB);
  const [first, ...rest] = endOfTripQueries(db, latest);
  if (first) await db.batch([first, ...rest]);
}

function endOfTripQueries(db: DrizzleD1Database, trip: Trip): BatchItem<"sqlite">[] {
  const queries: BatchItem<"sqlite">[] = [];
  // The rider may request again once this trip is over.
  if (!isActive(trip.status)) queries.push(releaseActiveTripQuery(db, trip.riderId, trip.id));
  // A scheduled ride whose dispatch began, or that ended, is no longer upcoming (a no-op for any other trip).
  if (trip.scheduledAt !== undefined && trip.status !== "scheduled") queries.push(unlistQuery(db, trip.id));
  // Every path by which the rider cancels (the route records it first, too) counts towards
  // their cool-down; an operator's force-cancel and the service's end of a scheduled ride do not.
  if (trip.status === "cancelled" && trip.cancelledBy !== "admin" && trip.cancelledBy !== "system")
    queries.push(recordCancelQuery(db, trip.riderId, trip.id, trip.updatedAt));
  return queries;
}

/**
 * A page of the trips `userId` rode or drove, newest first (ties by id), each with its receipt's path, its route and
 * the ratings given and received on it: the trips from the user's partition, then their ratings from `DB`.
 */
export async function listTrips(env: Env, userId: string, query: TripListQuery): Promise<TripHistoryResponse> {
  const { trips: page, last, more } = await userTripPage(env, userId, query);
  const nextCursor = more && last ? tripCursorOf(last) : null;
  const given = new Map<string, TripRatingSummary>();
  const received = new Map<string, TripRatingSummary>();
  if (page.length > 0) {
    const rated = await drizzle(env.DB)
      .select({ tripId: ratings.tripId, raterId: ratings.raterId, stars: ratings.stars, comment: ratings.comment })
      .from(ratings)
      .where(
        and(
          inList(
            ratings.tripId,
            page.map((t) => t.id),
          ),
          or(eq(ratings.raterId, userId), eq(ratings.rateeId, userId)),
        ),
      );
    for (const r of rated)
      (r.raterId === userId ? given : received).set(r.tripId, { stars: r.stars, comment: r.comment });
  }
  return {
    trips: page.map((trip) => ({
      ...trip,
      receiptUrl: hasReceipt(trip) ? `/v1/trips/${encodeURIComponent(trip.id)}/receipt` : null,
      route: {
        pickup: trip.pickup,
        dropoff: trip.dropoff,
        distanceKm: trip.quote.distanceKm,
        durationMin: trip.quote.durationMin,
        drivenKm: trip.fareDecision?.trace.km ?? null,
      },
      ratings: { given: given.get(trip.id) ?? null, received: received.get(trip.id) ?? null },
    })),
    nextCursor,
  };
}

/** A trip that charged the rider has a receipt (routes/wallet's `GET /v1/trips/:id/receipt`): a fare, or a fee. */
const hasReceipt = (trip: Trip): boolean =>
  trip.status === "completed" || (trip.status === "cancelled" && trip.cancellationFee !== undefined);

// ---- riders' recent requests and cancels --------------------------------------------------------

const NO_ACTIVITY: RiderActivity = { requests: 0, oldestRequestAt: null, cancels: 0, lastCancelAt: null };

/**
 * The rider's requests inside the request window and cancels inside the cool-down window: one query (a builder, so
 * that it goes in a batch), over the rider's rows of the longer window.
 */
function riderActivityQuery(db: DrizzleD1Database, riderId: string, now: number, limits: RequestLimits) {
  const requestsSince = now - limits.requestWindowMs;
  const cancelsSince = now - limits.cooldownWindowMs;
  const { kind, at } = riderActivity;
  const request = sql`${kind} = 'request' AND ${at} > ${requestsSince}`;
  const cancel = sql`${kind} = 'cancel' AND ${at} > ${cancelsSince}`;
  return db
    .select({
      requests: sql<number>`COUNT(CASE WHEN ${request} THEN 1 END)`,
      oldestRequestAt: sql<number | null>`MIN(CASE WHEN ${request} THEN ${at} END)`,
      cancels: sql<number>`COUNT(CASE WHEN ${cancel} THEN 1 END)`,
      lastCancelAt: sql<number | null>`MAX(CASE WHEN ${cancel} THEN ${at} END)`,
    })
    .from(riderActivity)
    .where(and(eq(riderActivity.riderId, riderId), gt(at, Math.min(requestsSince, cancelsSince))));
}

/** Records a trip request (once its fare is held), for the rider's request limits. */
export function recordRequestStatement(
  d1: D1Database,
  riderId: string,
  tripId: string,
  now: number,
): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO rider_activity (trip_id, kind, rider_id, at) VALUES (?, 'request', ?, ?)
       ON CONFLICT DO NOTHING`,
    )
    .bind(tripId, riderId, now);
}

/** Records the rider's cancel of a trip; a repeat records nothing. */
function recordCancelQuery(db: DrizzleD1Database, riderId: string, tripId: string, at: number) {
  return db.insert(riderActivity).values({ tripId, kind: "cancel", riderId, at }).onConflictDoNothing();
}

export async function recordCancel(d1: D1Database, riderId: string, tripId: string, at: number): Promise<void> {
  await recordCancelQuery(drizzle(d1), riderId, tripId, at);
}
