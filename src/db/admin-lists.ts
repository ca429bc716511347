/**
 * @module db/admin-lists
 * Operators' lists (routes/admin-lists.ts): drivers by name, email or id, and trips by id, status, or their rider's
 * or driver's name, email or id; newest first, a page at a time behind a (createdAt, id) cursor. The trips are D1's
 * record of them (the trip history in the partitions, written seconds behind each trip's own object).
 */
import { and, type Column, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type {
  AdminDriverListQuery,
  AdminDriverRow,
  AdminTripListQuery,
  AdminTripRow,
  ListCursor,
} from "../protocol/ops-lists";
import { inList } from "./in-list";
import { users } from "./schema";
import { type OpsTripFilter, opsTripPage } from "./trip-history";

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

/** The most people a trip search looks at: an operator's word that matches more should be narrowed. */
const MAX_MATCHED_USERS = 200;

/**
 * Trips for an operator, newest first: every partition's history asked at once (db/trip-history.ts),
 * then the names of the page's riders and drivers from `DB`. A search word is first turned into the
 * people it names (by id, or part of a name or email: at most MAX_MATCHED_USERS), whose trips are
 * then asked for, with the trip whose id it is.
 */
export async function listTripsForOps(
  env: Env,
  query: AdminTripListQuery,
): Promise<{ trips: AdminTripRow[]; nextCursor: string | null }> {
  const db = drizzle(env.DB);
  let match: OpsTripFilter["match"];
  if (query.q !== undefined) {
    const like = containing(query.q);
    const found = await db
      .select({ id: users.id })
      .from(users)
      .where(
        or(
          eq(users.id, query.q),
          sql`lower(${users.name}) like ${like} escape '\\'`,
          sql`${users.email} like ${like} escape '\\'`,
        ),
      )
      .limit(MAX_MATCHED_USERS);
    match = { userIds: found.map((u) => u.id), tripId: query.q };
  }
  const {
    trips: page,
    last,
    more,
  } = await opsTripPage(env, {
    limit: query.limit,
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    ...(match === undefined ? {} : { match }),
  });
  const people = [...new Set(page.flatMap((trip) => (trip.driverId ? [trip.riderId, trip.driverId] : [trip.riderId])))];
  const names = new Map(
    people.length === 0
      ? []
      : (await db.select({ id: users.id, name: users.name }).from(users).where(inList(users.id, people))).map(
          (u) => [u.id, u.name] as const,
        ),
  );
  return {
    trips: page.map(
      (trip): AdminTripRow => ({
        id: trip.id,
        status: trip.status,
        rider: { id: trip.riderId, name: names.get(trip.riderId) ?? "" },
        driver: trip.driverId === null ? null : { id: trip.driverId, name: names.get(trip.driverId) ?? "" },
        pickup: trip.pickup,
        dropoff: trip.dropoff,
        fare: trip.fare ?? trip.quote.fare,
        createdAt: trip.createdAt,
        updatedAt: trip.updatedAt,
      }),
    ),
    nextCursor: cursorOf(last, more),
  };
}
