/**
 * @module db/shards
 * Where partitioned data lives (docs/DATA-LAYOUT.md). The directory database `DB` keeps accounts,
 * rooms and what must be unique across users; the chat archive (keyed by room id) and each user's
 * notifications, sessions, money and trip history (keyed by user id) live in N partition
 * databases, bindings `SHARD_0`, `SHARD_1`, … with one schema (src/db/shard-schema.ts,
 * migrations-shard/).
 *
 * A key hashes into one of 1,024 virtual buckets, forever; `SHARD_MAP` ("0-511:SHARD_0,512-1023:SHARD_1")
 * says which binding holds each range of buckets. Adding a shard moves whole buckets (and only the
 * rows in them, scripts/migrate-to-shards.ts --rebalance), never rehashes every key. This module is
 * the only place that turns a key into a database.
 */
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

/** Virtual buckets; fixed, since every stored row's place derives from it. */
export const BUCKETS = 1024;

/**
 * What is partitioned, and by which key: a chat room's archive by room id; a user's notifications,
 * their sign-in sessions with the refresh tokens, their money (the ledger's legs, db/postings.ts) and
 * their copy of each trip they rode or drove (db/trip-history.ts), by user id.
 */
export type ShardKind = "chat" | "notifications" | "sessions" | "ledger" | "trips";

/** One range of buckets, both ends included, and the binding that holds it. */
export type ShardRange = { from: number; to: number; binding: string };

/** A validated map: `byBucket[b]` is the binding of bucket b. */
export type ShardMap = { ranges: ShardRange[]; byBucket: string[]; bindings: string[] };

const encoder = new TextEncoder();

/**
 * The bucket of a key: FNV-1a over its UTF-8 bytes, then murmur3's finaliser so that the low bits
 * (the bucket) depend on every byte; ids that differ in one character land far apart. Pure and
 * stable across runtimes: the Worker and the migration script (on Node) agree.
 */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(key)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

const RANGE = /^(\d{1,4})-(\d{1,4}):([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Parses and checks a `SHARD_MAP`: comma-separated `from-to:BINDING` ranges that cover every bucket
 * exactly once. `present` tells whether a binding name is a D1 database of this Worker. Throws an
 * error naming the first problem.
 */
export function parseShardMap(text: string, present: (binding: string) => boolean): ShardMap {
  const byBucket: (string | undefined)[] = new Array(BUCKETS).fill(undefined);
  const ranges: ShardRange[] = [];
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`SHARD_MAP is empty: give ranges such as "0-${BUCKETS - 1}:SHARD_0"`);
  for (const part of parts) {
    const match = RANGE.exec(part);
    if (!match) throw new Error(`SHARD_MAP: "${part}" is not "from-to:BINDING"`);
    const from = Number(match[1]);
    const to = Number(match[2]);
    const binding = match[3] as string;
    if (from > to || to >= BUCKETS) throw new Error(`SHARD_MAP: "${part}" is not a range within 0-${BUCKETS - 1}`);
    if (!present(binding)) throw new Error(`SHARD_MAP: ${binding} is not a D1 binding of this Worker`);
    for (let b = from; b <= to; b++) {
      if (byBucket[b] !== undefined)
        throw new Error(`SHARD_MAP: bucket ${b} is mapped twice (${byBucket[b]}, ${binding})`);
      byBucket[b] = binding;
    }
    ranges.push({ from, to, binding });
  }
  const missing = byBucket.indexOf(undefined);
  if (missing >= 0) throw new Error(`SHARD_MAP: bucket ${missing} is not mapped to any shard`);
  ranges.sort((a, b) => a.from - b.from);
  return { ranges, byBucket: byBucket as string[], bindings: [...new Set(ranges.map((r) => r.binding))].sort() };
}

function isD1(value: unknown): value is D1Database {
  return typeof value === "object" && value !== null && typeof (value as D1Database).prepare === "function";
}

const bindingsOf = (env: Env) => env as unknown as Record<string, unknown>;

/**
 * The shard map of this Worker and its databases, checked once per `env`; and while a move runs,
 * the map from before it (`SHARD_MAP_PREVIOUS`, set for the move's duration; "0-1023:DB" names the
 * directory database): a row the move has not copied yet is still where that map put it, and the
 * readers that look there find it.
 */
export type ShardRouter = { map: ShardMap; previous: ShardMap | null; databases: Map<string, D1Database> };

const routers = new WeakMap<object, ShardRouter>();

function parsePreviousMap(text: string, present: (binding: string) => boolean): ShardMap {
  try {
    return parseShardMap(text, present);
  } catch (err) {
    throw new Error((err as Error).message.replace(/^SHARD_MAP/, "SHARD_MAP_PREVIOUS"));
  }
}

/**
 * The validated router of `env`: the first request after a deploy with a bad map fails with the
 * map's problem (as src/config.ts does for a bad variable), never a row written to the wrong place.
 */
export function shardRouter(env: Env): ShardRouter {
  const cached = routers.get(env);
  if (cached) return cached;
  const all = bindingsOf(env);
  const present = (name: string) => isD1(all[name]);
  const map = parseShardMap(typeof all.SHARD_MAP === "string" ? all.SHARD_MAP : "", present);
  const previousText = typeof all.SHARD_MAP_PREVIOUS === "string" ? all.SHARD_MAP_PREVIOUS.trim() : "";
  const previous = previousText === "" ? null : parsePreviousMap(previousText, present);
  const names = new Set([...map.bindings, ...(previous?.bindings ?? [])]);
  const databases = new Map([...names].map((name) => [name, all[name] as D1Database]));
  const router = { map, previous, databases };
  routers.set(env, router);
  return router;
}

/** The binding that holds `key`'s rows of `kind` (every kind shares the map today). */
export function shardBindingFor(env: Env, _kind: ShardKind, key: string): string {
  return shardRouter(env).map.byBucket[bucketOf(key)] as string;
}

/** The D1 database that holds `key`'s rows of `kind`. */
export function shardDatabase(env: Env, kind: ShardKind, key: string): D1Database {
  const router = shardRouter(env);
  return router.databases.get(shardBindingFor(env, kind, key)) as D1Database;
}

/**
 * Where `key`'s rows of `kind` may also be while a move runs: the database the previous map put
 * them in, when that differs from today's; otherwise none.
 */
export function earlierShardDatabase(env: Env, _kind: ShardKind, key: string): D1Database | null {
  const router = shardRouter(env);
  if (!router.previous) return null;
  const bucket = bucketOf(key);
  const before = router.previous.byBucket[bucket] as string;
  return before === router.map.byBucket[bucket] ? null : (router.databases.get(before) as D1Database);
}

/** Where to read `key`'s rows of `kind`: its shard, then (while a move runs) the one before it. */
export function shardHomes(env: Env, kind: ShardKind, key: string): D1Database[] {
  const earlier = earlierShardDatabase(env, kind, key);
  return earlier ? [shardDatabase(env, kind, key), earlier] : [shardDatabase(env, kind, key)];
}

/** `shardDatabase` as drizzle. */
export function shardFor(env: Env, kind: ShardKind, key: string): DrizzleD1Database {
  return drizzle(shardDatabase(env, kind, key));
}

/** Every shard of today's map, by binding name: for health checks and for work that spans them. */
export function allShards(env: Env): { binding: string; db: D1Database }[] {
  const router = shardRouter(env);
  return router.map.bindings.map((binding) => ({ binding, db: router.databases.get(binding) as D1Database }));
}

/**
 * Groups `items` by the shard their key routes to, keeping each item's index, so a caller runs one
 * batch per shard and puts the answers back in order.
 */
export function groupByShard<T>(
  env: Env,
  kind: ShardKind,
  items: readonly T[],
  keyOf: (item: T) => string,
): { db: D1Database; items: { item: T; index: number }[] }[] {
  const router = shardRouter(env);
  const groups = new Map<string, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const binding = shardBindingFor(env, kind, keyOf(item));
    const group = groups.get(binding) ?? [];
    group.push({ item, index });
    groups.set(binding, group);
  });
  return [...groups].map(([binding, grouped]) => ({ db: router.databases.get(binding) as D1Database, items: grouped }));
}
