/**
 * The partition databases of the worker tests (two, SHARD_MAP in wrangler.toml), found the way the
 * Worker finds them (src/db/shards.ts): tests that read or break the stored rows of a room's chat
 * archive or a user's notification log go to the shard that holds them.
 */
import { env } from "cloudflare:workers";
import type { SqlDatabase } from "../../src/db/shard-move";
import { allShards, shardDatabase } from "../../src/db/shards";

/** The shard that holds a room's (or a trip's) archived chat. */
export const chatShard = (roomId: string): D1Database => shardDatabase(env, "chat", roomId);

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
