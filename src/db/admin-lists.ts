/**
 * @module db/admin-lists
 * Operators' lists (routes/admin-lists.ts): drivers by name, email or id, and trips by id, status, or their rider's
 * or driver's name, email or id; newest first, a page at a time behind a (createdAt, id) cursor. The trips are D1's
 * record of them (the trip history, written seconds behind each trip's own object).
 */
import { and, type Column, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { alias } from "drizzle-orm/sqlite-core";
import { Trip } from "../protocol/dispatch";
import type {
  AdminDriverListQuery,
  AdminDriverRow,
  AdminTripListQuery,
  AdminTripRow,
  ListCursor,
} from "../protocol/ops-lists";
import { trips, users } from "./schema";

/** `%word%` for LIKE, with the user's own `%`, `_` and `\` taken literally. */
const containing = (word: string) => `%${word.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rows after `cursor` in (createdAt, id) descending order. */
function after(createdAt: Column, id: Column, cursor: ListCursor | undefined): SQL[] {
  if (!cursor) return [];
  const before = or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(id, cursor.id)));
  return before ? [before] : [];
}

const cursorOf = (row: { createdAt: number; id: string } | undefined, more: boolean) =>
  more && row ? `${row.createdAt}:${row.id}` : null;

export async function listDrivers(
  d1: D1Database,
  query: AdminDriverListQuery,
): Promise<{ drivers: AdminDriverRow[]; nextCursor: string | null }> {
  const conditions: SQL[] = [eq(users.role, "driver"), ...after(users.createdAt, users.id, query.cursor)];
  if (query.q !== undefined) {
    const like = containing(query.q);
    const match = or(
      eq(users.id, query.q),
      sql`lower(${users.name}) like ${like} escape '\\'`,
      sql`${users.email} like ${like} escape '\\'`,
    );
    if (match) conditions.push(match);
  }
  // One more than the page: whether there is a next one, without a count.
  const rows = await drizzle(d1)
    .select({
      id: users.id,
      name: users.name,
      email: users.email,
      createdAt: users.createdAt,
      bannedAt: users.bannedAt,
      lastSeenAt: users.lastSeenAt,
    })
    .from(users)
    .where(and(...conditions))
    .orderBy(desc(users.createdAt), desc(users.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  return { drivers: page, nextCursor: cursorOf(page.at(-1), rows.length > query.limit) };
}

export async function listTripsForOps(
  d1: D1Database,
  query: AdminTripListQuery,
): Promise<{ trips: AdminTripRow[]; nextCursor: string | null }> {
  const riders = alias(users, "riders");
  const drivers = alias(users, "drivers");
  const conditions: SQL[] = [...after(trips.createdAt, trips.id, query.cursor)];
  if (query.status !== undefined) conditions.push(eq(trips.status, query.status));
  if (query.q !== undefined) {
    const like = containing(query.q);
    const match = or(
      eq(trips.id, query.q),
      eq(trips.riderId, query.q),
      eq(trips.driverId, query.q),
      sql`lower(${riders.name}) like ${like} escape '\\'`,
      sql`${riders.email} like ${like} escape '\\'`,
      sql`lower(${drivers.name}) like ${like} escape '\\'`,
      sql`${drivers.email} like ${like} escape '\\'`,
    );
    if (match) conditions.push(match);
  }
  const rows = await drizzle(d1)
    .select({
      id: trips.id,
      data: trips.data,
      createdAt: trips.createdAt,
      riderName: riders.name,
      driverName: drivers.name,
    })
    .from(trips)
    .innerJoin(riders, eq(riders.id, trips.riderId))
    .leftJoin(drivers, eq(drivers.id, trips.driverId))
    .where(and(...conditions))
    .orderBy(desc(trips.createdAt), desc(trips.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit).map((row): AdminTripRow => {
    const trip = Trip.parse(row.data);
    return {
      id: trip.id,
      status: trip.status,
      rider: { id: trip.riderId, name: row.riderName },
      driver: trip.driverId === null ? null : { id: trip.driverId, name: row.driverName ?? "" },
      pickup: trip.pickup,
      dropoff: trip.dropoff,
      fare: trip.fare ?? trip.quote.fare,
      createdAt: trip.createdAt,
      updatedAt: trip.updatedAt,
    };
  });
  const last = rows.at(Math.min(rows.length, query.limit) - 1);
  return { trips: page, nextCursor: cursorOf(last, rows.length > query.limit) };
}
