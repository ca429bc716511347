/**
 * @module db/trip-history
 * Trip history in each party's partition (docs/DATA-LAYOUT.md, "Trips, keyed by user id"): the
 * rider's row in the rider's shard, the driver's in the driver's, each with the Trip resource as
 * the trip room last flushed it. A user's history, and the trips a ban or logout must reach, are
 * then one query on one shard; an operator's list asks every shard.
 *
 * A driver who handed the trip back keeps a row, as `former_driver`, still written with each
 * flush: it is never listed, and its newer `updated_at` is what keeps an older copy (in `DB`, or
 * in a shard a move is leaving) from bringing back a row that says they drive it.
 *
 * While the first move out of `DB` runs (`SHARD_MAP_PREVIOUS` names `DB`), trips not moved yet are
 * read from `DB`'s old `trips` table too; a trip found in both counts once, the newer copy.
 */
import { and, desc, eq, gte, inArray, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Trip, type TripListQuery } from "../protocol/dispatch";
import { trips } from "./schema";
import { inList } from "./in-list";
import { tripHistory } from "./shard-schema";
import { earlierShardDatabase, groupByShard, shardDatabase, shardRouter } from "./shards";

export type HistoryRole = "rider" | "driver" | "former_driver";

/** A party's row of a trip: who, and on which side. */
export type HistoryRow = { userId: string; role: HistoryRole };

/** The rows a trip's flush writes: its rider, its driver, and every driver it was assigned to before. */
export function historyRowsOf(trip: Trip, assignedDrivers: readonly string[]): HistoryRow[] {
  const rows: HistoryRow[] = [{ userId: trip.riderId, role: "rider" }];
  // One row per person: a rider who drove their own trip (were dispatch ever to allow it) keeps the rider's.
  if (trip.driverId !== null && trip.driverId !== trip.riderId) rows.push({ userId: trip.driverId, role: "driver" });
  for (const driverId of new Set(assignedDrivers))
    if (driverId !== trip.driverId && driverId !== trip.riderId) rows.push({ userId: driverId, role: "former_driver" });
  return rows;
}

/**
 * Writes `trip` into the history row of each of `rows`' users, one batch per shard, the shards at
 * once. Each row takes it only if it is at least as new as what the row holds, so a retried or late
 * flush never sets a trip back.
 */
export async function writeTripHistory(env: Env, trip: Trip, rows: readonly HistoryRow[]): Promise<void> {
  const groups = groupByShard(env, "trips", rows, (row) => row.userId);
  await Promise.all(
    groups.map(({ db, items }) => {
      const d1 = drizzle(db);
      const [first, ...rest] = items.map(({ item }) =>
        d1
          .insert(tripHistory)
          .values({
            userId: item.userId,
            tripId: trip.id,
            role: item.role,
            status: trip.status,
            data: trip,
            createdAt: trip.createdAt,
            updatedAt: trip.updatedAt,
          })
          .onConflictDoUpdate({
            target: [tripHistory.tripId, tripHistory.userId],
            // A rider's row never changes side; setting its role anyway would rewrite its entry in
            // the riders' partial index, one more row written per flush (measured with D1's meta).
            set: {
              ...(item.role === "rider" ? {} : { role: sql`excluded.role` }),
              status: sql`excluded.status`,
              data: sql`excluded.data`,
              updatedAt: sql`excluded.updated_at`,
            },
            setWhere: sql`excluded.updated_at >= ${tripHistory.updatedAt}`,
          }),
      );
      return first ? d1.batch([first, ...rest]) : undefined;
    }),
  );
}

/** A trip as read back from one home: when it was last written (the newer of two copies wins), and on which side. */
type Found = { trip: Trip; updatedAt: number; role: HistoryRole };

/** A page of trips: those to show, and where the page ends (the cursor's trip) and whether more follow. */
export type TripPage = { trips: Trip[]; last: Trip | undefined; more: boolean };

type Home = { db: D1Database; legacy: boolean };

/** Where `userId`'s history is read: their shard, and while a move runs the one before (`legacy`: `DB`'s `trips`). */
function homesOf(env: Env, userId: string): Home[] {
  const earlier = earlierShardDatabase(env, "trips", userId);
  const homes = [{ db: shardDatabase(env, "trips", userId), legacy: false }];
  if (earlier) homes.push({ db: earlier, legacy: earlier === env.DB });
  return homes;
}

/** The roles a user's own list shows: as rider, as driver, or both (never a trip they handed back). */
const rolesFor = (as: TripListQuery["as"]): HistoryRole[] =>
  as === "rider" ? ["rider"] : as === "driver" ? ["driver"] : ["rider", "driver"];

/** Which side of a trip `userId` is on in `DB`'s one row per trip. */
const legacyRole = (trip: Trip, userId: string): HistoryRole => (trip.riderId === userId ? "rider" : "driver");

/**
 * One page of `userId`'s trips, newest first (ties by id), at most `query.limit`.
 *
 * While a move runs, each home answers with its own copies, filtered by side and status: an older
 * copy in one home can pass a filter that the newer copy in the other no longer does (a trip
 * since completed, a driver since handed it back). So the page's trips are then read again from
 * every home, unfiltered, and each is kept only if its newest copy still passes. The cursor stays
 * where the unfiltered page ended, so a page that lost a trip this way skips none of the next.
 */
export async function userTripPage(env: Env, userId: string, query: TripListQuery): Promise<TripPage> {
  const homes = homesOf(env, userId);
  const found = await Promise.all(
    homes.map(({ db, legacy }) => (legacy ? legacyUserPage(db, userId, query) : shardUserPage(db, userId, query))),
  );
  const candidates = newestFirst(found.flat(), query.limit + 1);
  const page = candidates.slice(0, query.limit);
  const result = { last: page.at(-1), more: candidates.length > query.limit };
  if (homes.length === 1) return { trips: page, ...result };
  const newest = await newestCopiesOf(
    homes,
    page.map((t) => t.id),
    userId,
  );
  const roles = rolesFor(query.as);
  const trips = page.flatMap((trip) => {
    const copy = newest.get(trip.id);
    const passes = copy && roles.includes(copy.role) && (!query.status || copy.trip.status === query.status);
    return passes ? [copy.trip] : [];
  });
  return { trips, ...result };
}

async function shardUserPage(db: D1Database, userId: string, query: TripListQuery): Promise<Found[]> {
  const t = tripHistory;
  const conditions = [eq(t.userId, userId), inArray(t.role, rolesFor(query.as))];
  conditions.push(...windowOf(t.createdAt, t.tripId, query), ...(query.status ? [eq(t.status, query.status)] : []));
  const rows = await drizzle(db)
    .select({ data: t.data, updatedAt: t.updatedAt, role: t.role })
    .from(t)
    .where(and(...conditions))
    .orderBy(desc(t.createdAt), desc(t.tripId))
    .limit(query.limit + 1);
  return rows.map((row) => ({ trip: Trip.parse(row.data), updatedAt: row.updatedAt, role: row.role }));
}

/** The same page from `DB`'s `trips`, one row per trip with its rider and driver, as before the partitions. */
async function legacyUserPage(db: D1Database, userId: string, query: TripListQuery): Promise<Found[]> {
  const side =
    query.as === "rider"
      ? eq(trips.riderId, userId)
      : query.as === "driver"
        ? eq(trips.driverId, userId)
        : or(eq(trips.riderId, userId), eq(trips.driverId, userId));
  const conditions = [side, ...windowOf(trips.createdAt, trips.id, query)];
  if (query.status) conditions.push(eq(trips.status, query.status));
  const rows = await drizzle(db)
    .select({ data: trips.data, updatedAt: trips.updatedAt })
    .from(trips)
    .where(and(...conditions))
    .orderBy(desc(trips.createdAt), desc(trips.id))
    .limit(query.limit + 1);
  return rows.map((row) => {
    const trip = Trip.parse(row.data);
    return { trip, updatedAt: row.updatedAt, role: legacyRole(trip, userId) };
  });
}

/**
 * The newest copy of each of `tripIds` over `homes`, whatever its side or status: of `userId`'s
 * rows when given (a `former_driver` row included, so that it can outrank an older `driver` one),
 * else of any party's.
 */
async function newestCopiesOf(homes: Home[], tripIds: string[], userId?: string): Promise<Map<string, Found>> {
  if (tripIds.length === 0) return new Map();
  const found = await Promise.all(
    homes.map(async ({ db, legacy }): Promise<Found[]> => {
      if (legacy) {
        const ofUser = userId === undefined ? [] : [or(eq(trips.riderId, userId), eq(trips.driverId, userId))];
        const rows = await drizzle(db)
          .select({ data: trips.data, updatedAt: trips.updatedAt })
          .from(trips)
          .where(and(inList(trips.id, tripIds), ...ofUser));
        return rows.map((row) => {
          const trip = Trip.parse(row.data);
          return { trip, updatedAt: row.updatedAt, role: userId === undefined ? "rider" : legacyRole(trip, userId) };
        });
      }
      const t = tripHistory;
      const rows = await drizzle(db)
        .select({ data: t.data, updatedAt: t.updatedAt, role: t.role })
        .from(t)
        .where(and(inList(t.tripId, tripIds), ...(userId === undefined ? [] : [eq(t.userId, userId)])));
      return rows.map((row) => ({ trip: Trip.parse(row.data), updatedAt: row.updatedAt, role: row.role }));
    }),
  );
  return newestById(found.flat());
}

/** Each trip's newest copy, by id. */
function newestById(found: readonly Found[]): Map<string, Found> {
  const byId = new Map<string, Found>();
  for (const copy of found) {
    const seen = byId.get(copy.trip.id);
    if (!seen || copy.updatedAt > seen.updatedAt) byId.set(copy.trip.id, copy);
  }
  return byId;
}

type Window = Pick<TripListQuery, "cursor" | "before" | "since" | "to">;

/** A list's cursor (rows after it, newest first) and its time bounds, as conditions on `createdAt` and the trip id. */
function windowOf(
  createdAt: typeof trips.createdAt | typeof tripHistory.createdAt,
  id: typeof trips.id | typeof tripHistory.tripId,
  query: Window,
): SQL[] {
  const conditions: SQL[] = [];
  if (query.cursor !== undefined) {
    const { createdAt: at, id: last } = query.cursor;
    const after = or(lt(createdAt, at), and(eq(createdAt, at), lt(id, last)));
    if (after) conditions.push(after);
  }
  if (query.before !== undefined) conditions.push(lt(createdAt, query.before));
  if (query.since !== undefined) conditions.push(gte(createdAt, query.since));
  if (query.to !== undefined) conditions.push(lte(createdAt, query.to));
  return conditions;
}

/** Each trip once (its newest copy), newest first by (createdAt, id), at most `limit`. */
export function newestFirst(found: readonly Found[], limit: number): Trip[] {
  return [...newestById(found).values()]
    .map((copy) => copy.trip)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, limit);
}

const OPEN_STATUSES = ["matching", "accepted", "arrived", "in_progress"];

/**
 * The ids of `userId`'s trips, as rider or driver, that are not over or were updated since
 * `endedSince`, newest first, at most `max`: the objects that may hold their sockets. While a move
 * runs, each is checked against its newest copy, as in `userTripPage`.
 */
export async function openTripIdsOf(env: Env, userId: string, endedSince: number, max: number): Promise<string[]> {
  const homes = homesOf(env, userId);
  const found = await Promise.all(
    homes.map(async ({ db, legacy }): Promise<{ id: string; at: number }[]> => {
      if (legacy) {
        return drizzle(db)
          .select({ id: trips.id, at: trips.updatedAt })
          .from(trips)
          .where(
            and(
              or(eq(trips.riderId, userId), eq(trips.driverId, userId)),
              or(inArray(trips.status, OPEN_STATUSES), gte(trips.updatedAt, endedSince)),
            ),
          )
          .orderBy(desc(trips.updatedAt))
          .limit(max);
      }
      const t = tripHistory;
      return drizzle(db)
        .select({ id: t.tripId, at: t.updatedAt })
        .from(t)
        .where(
          and(
            eq(t.userId, userId),
            inArray(t.role, ["rider", "driver"]),
            or(inArray(t.status, OPEN_STATUSES), gte(t.updatedAt, endedSince)),
          ),
        )
        .orderBy(desc(t.updatedAt))
        .limit(max);
    }),
  );
  const newestFound = found.flat().sort((a, b) => b.at - a.at);
  const ids = [...new Set(newestFound.map((row) => row.id))].slice(0, max);
  if (homes.length === 1) return ids;
  const newest = await newestCopiesOf(homes, ids, userId);
  return ids.filter((id) => {
    const copy = newest.get(id);
    return (
      copy !== undefined &&
      copy.role !== "former_driver" &&
      (OPEN_STATUSES.includes(copy.trip.status) || copy.updatedAt >= endedSince)
    );
  });
}

/** What an operator's list of trips asks: a status, a page after a cursor, and trips of these users or this id. */
export type OpsTripFilter = {
  status?: string;
  cursor?: { createdAt: number; id: string };
  limit: number;
  /** Only trips of these users (as rider or driver), or with this id; undefined: every trip. */
  match?: { userIds: string[]; tripId: string };
};

/**
 * A page of every trip for an operator, newest first, at most `filter.limit`: each shard (and
 * while a move runs, each shard of the map before it) asked at once, each trip counted once, and
 * while a move runs each checked against its newest copy anywhere (see `userTripPage`).
 */
export async function opsTripPage(env: Env, filter: OpsTripFilter): Promise<TripPage> {
  const router = shardRouter(env);
  const bindings = [...new Set([...router.map.bindings, ...(router.previous?.bindings ?? [])])];
  const homes = bindings.map((binding) => {
    const db = router.databases.get(binding) as D1Database;
    return { db, legacy: db === env.DB };
  });
  const found = await Promise.all(
    homes.map(({ db, legacy }) => (legacy ? legacyOpsPage(db, filter) : shardOpsPage(db, filter))),
  );
  const candidates = newestFirst(found.flat(), filter.limit + 1);
  const page = candidates.slice(0, filter.limit);
  const result = { last: page.at(-1), more: candidates.length > filter.limit };
  if (router.previous === null) return { trips: page, ...result };
  const newest = await newestCopiesOf(
    homes,
    page.map((t) => t.id),
  );
  const trips = page.flatMap((trip) => {
    const copy = newest.get(trip.id);
    return copy && (!filter.status || copy.trip.status === filter.status) && matches(copy.trip, filter.match)
      ? [copy.trip]
      : [];
  });
  return { trips, ...result };
}

/** Whether `trip` is one a search asked for: its id, or one of the people found as its rider or driver. */
function matches(trip: Trip, match: OpsTripFilter["match"]): boolean {
  if (!match) return true;
  const people = new Set(match.userIds);
  return trip.id === match.tripId || people.has(trip.riderId) || (trip.driverId !== null && people.has(trip.driverId));
}

async function shardOpsPage(db: D1Database, filter: OpsTripFilter): Promise<Found[]> {
  const t = tripHistory;
  // Without a search, the riders' rows (one per trip, through their own index); with one, the
  // rows of the users found, whichever side they were on.
  const conditions = filter.match
    ? [
        inArray(t.role, ["rider", "driver"]),
        or(eq(t.tripId, filter.match.tripId), inList(t.userId, filter.match.userIds)) as SQL,
      ]
    : [eq(t.role, "rider")];
  conditions.push(...windowOf(t.createdAt, t.tripId, { cursor: filter.cursor }));
  if (filter.status) conditions.push(eq(t.status, filter.status));
  // A search may find both parties' rows of one trip in this shard: twice the rows, so that the
  // shard still hands over `limit + 1` different trips and the merged page skips none.
  const rows = await drizzle(db)
    .select({ data: t.data, updatedAt: t.updatedAt, role: t.role })
    .from(t)
    .where(and(...conditions))
    .orderBy(desc(t.createdAt), desc(t.tripId))
    .limit(filter.match ? 2 * (filter.limit + 1) : filter.limit + 1);
  return rows.map((row) => ({ trip: Trip.parse(row.data), updatedAt: row.updatedAt, role: row.role }));
}

async function legacyOpsPage(db: D1Database, filter: OpsTripFilter): Promise<Found[]> {
  const conditions = windowOf(trips.createdAt, trips.id, { cursor: filter.cursor });
  if (filter.status) conditions.push(eq(trips.status, filter.status));
  if (filter.match) {
    const { userIds, tripId } = filter.match;
    const match = or(eq(trips.id, tripId), inList(trips.riderId, userIds), inList(trips.driverId, userIds));
    if (match) conditions.push(match);
  }
  const rows = await drizzle(db)
    .select({ data: trips.data, updatedAt: trips.updatedAt })
    .from(trips)
    .where(and(...conditions))
    .orderBy(desc(trips.createdAt), desc(trips.id))
    .limit(filter.limit + 1);
  return rows.map((row) => ({ trip: Trip.parse(row.data), updatedAt: row.updatedAt, role: "rider" }));
}
