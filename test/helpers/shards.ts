/**
 * The partition databases of the worker tests (two, SHARD_MAP in wrangler.toml), found the way the
 * Worker finds them (src/db/shards.ts): tests that read or break the stored rows of a room's chat
 * archive or a user's notification log go to the shard that holds them.
 */
import { env } from "cloudflare:workers";
import { allShards, shardDatabase } from "../../src/db/shards";

/** The shard that holds a room's (or a trip's) archived chat. */
export const chatShard = (roomId: string): D1Database => shardDatabase(env, "chat", roomId);

/** The shard that holds a user's notifications and their channels. */
export const notificationShard = (userId: string): D1Database => shardDatabase(env, "notifications", userId);

/** Every shard, for a change that must hold wherever a row lands. */
export const everyShard = (): D1Database[] => allShards(env).map((shard) => shard.db);
