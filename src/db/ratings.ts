/**
 * @module db/ratings
 * Ratings: the one a party of a trip gives the other, and the average of the stars others gave a
 * user, as `/v1/me` shows it.
 */
import { avg, count, eq } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { ratings } from "./schema";

export type Rating = { average: number | null; count: number };

/** The query of a user's rating, for a batch that reads it with other things (`ratingFromRow` reads its row). */
export function ratingQuery(db: DrizzleD1Database, userId: string) {
  return db
    .select({ average: avg(ratings.stars), count: count() })
    .from(ratings)
    .where(eq(ratings.rateeId, userId));
}

/** The average to two decimals, null before any rating. */
export function ratingFromRow(row: { average: string | null; count: number } | undefined): Rating {
  const average =
    row?.average === null || row?.average === undefined ? null : Math.round(Number(row.average) * 100) / 100;
  return { average, count: row?.count ?? 0 };
}

export async function ratingOf(d1: D1Database, userId: string): Promise<Rating> {
  const [row] = await ratingQuery(drizzle(d1), userId);
  return ratingFromRow(row);
}

export type NewRating = typeof ratings.$inferInsert;

/** Stores a rating; false when the rater already rated this trip (the first one stands). */
export async function saveRating(d1: D1Database, rating: NewRating): Promise<boolean> {
  const inserted = await drizzle(d1)
    .insert(ratings)
    .values(rating)
    .onConflictDoNothing()
    .returning({ tripId: ratings.tripId });
  return inserted.length > 0;
}
