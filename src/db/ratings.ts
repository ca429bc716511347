/**
 * @module db/ratings
 * Ratings as a user sees them on `/v1/me`: the average of the stars others gave them.
 */
import { avg, count, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ratings } from "./schema";

export async function ratingOf(d1: D1Database, userId: string): Promise<{ average: number | null; count: number }> {
  const [row] = await drizzle(d1)
    .select({ average: avg(ratings.stars), count: count() })
    .from(ratings)
    .where(eq(ratings.rateeId, userId));
  const average =
    row?.average === null || row?.average === undefined ? null : Math.round(Number(row.average) * 100) / 100;
  return { average, count: row?.count ?? 0 };
}
