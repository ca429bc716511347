/**
 * The partition databases of the worker tests (two, SHARD_MAP in wrangler.toml), found the way the
 * Worker finds them (src/db/shards.ts): tests that read or break the stored rows of a room's chat
 * archive or a user's notification log go to the shard that holds them.
 */
import { env } from "cloudflare:workers";
import type { SqlDatabase } from "../../src/db/shard-move";
import { listVisibleRooms } from "../../src/db/rooms";
import { allShards, shardDatabase } from "../../src/db/shards";
import type { Trip } from "../../src/protocol/dispatch";

/** The shard that holds a room's (or a trip's) archived chat. */
/** The unread count `GET /v1/rooms` gives `userId` for `roomId`, read through `worker` (its shard maps). */
export const unreadIn = async (worker: Env, userId: string, roomId: string): Promise<number | undefined> =>
  (await listVisibleRooms(worker, userId, 100)).find((r) => r.id === roomId)?.unread;

export const chatShard = (roomId: string): D1Database => shardDatabase(env, "chat", roomId);

/** The read mark a room copied for `userId` to its shard (db/read-marks.ts); null before its first copy. */
export async function copiedMark(roomId: string, userId: string): Promise<number | null> {
  return await chatShard(roomId)
    .prepare(`SELECT read_seq FROM read_marks WHERE room_id = ? AND user_id = ?`)
    .bind(roomId, userId)
    .first<number>("read_seq");
}

/**
 * A private room in `DB` with `userId` its one member, whose `DB` read mark (from before the shards'
 * `read_marks`) is `dbMark`: what the unread counts start from before the room copies a mark.
 */
export async function directoryRoom(roomId: string, userId: string, dbMark: number): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO rooms (id, name, private, kind, created_by, created_at) VALUES (?1, 'marks', 1, 'group', ?2, 1)`,
    ).bind(roomId, userId),
    env.DB.prepare(
      `INSERT INTO room_members (room_id, user_id, joined_at, role, read_seq) VALUES (?1, ?2, 1, 'owner', ?3)`,
    ).bind(roomId, userId, dbMark),
  ]);
}

/** The shard that holds a user's notifications and their channels. */
export const notificationShard = (userId: string): D1Database => shardDatabase(env, "notifications", userId);

/** Every shard, for a change that must hold wherever a row lands. */
export const everyShard = (): D1Database[] => allShards(env).map((shard) => shard.db);

/** A D1 binding as the shard move reaches a database (db/shard-move.ts), for tests that run a move on the real ones. */
export function movable(db: D1Database): SqlDatabase {
  return {
    async query<T extends Record<string, unknown>>(sql: string) {
      return (await db.prepare(sql).all<T>()).results;
    },
    async run(statements: string[]) {
      if (statements.length > 0) await db.batch(statements.map((s) => db.prepare(s)));
    },
  };
}

/** The status of a trip's history row (the rider's copy, in the rider's shard); undefined before its first flush. */
export async function historyStatus(tripId: string): Promise<string | undefined> {
  for (const db of everyShard()) {
    const row = await db
      .prepare(`SELECT status FROM trip_history WHERE trip_id = ? AND role = 'rider'`)
      .bind(tripId)
      .first<{ status: string }>();
    if (row) return row.status;
  }
  return undefined;
}

/** A Trip resource as a trip room's flush stores it, for tests that place trip history rows by hand. */
export function storedTrip(
  fields: Pick<Trip, "id" | "riderId" | "driverId" | "status" | "createdAt" | "updatedAt">,
): Trip {
  const pickup = { lat: 52.52, lng: 13.405 };
  const dropoff = { lat: 52.5, lng: 13.42 };
  const fare = { amount: 1_250, currency: "EUR" };
  return {
    ...fields,
    pickup,
    dropoff,
    quote: {
      id: `qt_${fields.id}`,
      pickup,
      dropoff,
      distanceKm: 3.1,
      durationMin: 11,
      fare,
      surge: 1,
      pickupEtaSec: 240,
      expiresAt: fields.createdAt + 300_000,
    },
    fare: fields.status === "completed" ? fare : null,
    driverLocation: null,
    etaSec: null,
  };
}

/** Writes `trip` as `DB`'s `trips` held it before the partitions: one row, its rider and current driver. */
export async function putDirectoryTrip(trip: Trip): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO trips (id, rider_id, driver_id, status, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET driver_id = excluded.driver_id, status = excluded.status, data = excluded.data,
       updated_at = excluded.updated_at`,
  )
    .bind(trip.id, trip.riderId, trip.driverId, trip.status, JSON.stringify(trip), trip.createdAt, trip.updatedAt)
    .run();
}
