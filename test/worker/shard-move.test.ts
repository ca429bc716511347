/**
 * The move of a deployment's chat archive and notification log out of `DB` into the shards
 * (src/db/shard-move.ts, scripts/migrate-to-shards.ts), on generated rows in the real local D1
 * databases: run in steps, stopped between a copy and its delete, resumed, and run again; every
 * row ends once in the shard its key routes to, as it was, and nothing is left behind. Then a
 * SHARD_MAP change moves only the rows of the buckets that changed hands.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  DIRECTORY_TABLES,
  MOVED_TABLES,
  moveRows,
  type SqlDatabase,
  sqlLiteral,
  targetUnder,
} from "../../src/db/shard-move";
import { allShards, bucketOf, parseShardMap, shardBindingFor, type ShardKind } from "../../src/db/shards";
import { movable } from "../helpers/shards";

const shards = new Map(allShards(env).map(({ binding, db }) => [binding, movable(db)]));
const directory = { name: "DB", db: movable(env.DB) };

type Generated = Record<string, Record<string, unknown>[]>;

/** Rooms and users with messages, reactions, notifications and channels, as the single DB held them. */
function generate(prefix: string, messageCount: number, notificationCount: number): Generated {
  const rooms = Array.from({ length: 24 }, (_, i) => `${prefix}-room-${i}`);
  const users = Array.from({ length: 16 }, (_, i) => `${prefix}-usr-${i}`);
  const messages = Array.from({ length: messageCount }, (_, i) => {
    const roomId = rooms[i % rooms.length] as string;
    const seq = Math.floor(i / rooms.length) + 1;
    return {
      id: `msg_${roomId}_${seq}`,
      room_id: roomId,
      seq,
      user_id: users[i % users.length],
      text: i % 7 === 0 ? `it's "quoted", ünïcode ✓ and 'apostrophes' #${i}` : `message ${i}`,
      created_at: 1_700_000_000_000 + i,
      reply_to: seq > 1 && i % 5 === 0 ? seq - 1 : null,
      edited_at: i % 11 === 0 ? 1_700_000_100_000 + i : null,
      deleted_at: null,
      change_seq: i % 11 === 0 ? seq + 1 : null,
      attachments: i % 13 === 0 ? JSON.stringify([{ key: `k${i}`, name: "a.png", size: 10, type: "image/png" }]) : null,
    };
  });
  const reactions = messages
    .filter((_, i) => i % 3 === 0)
    .map((m, i) => ({ room_id: m.room_id, seq: m.seq, emoji: "👍", user_id: users[i % users.length], created_at: 1 }));
  const notifications = Array.from({ length: notificationCount }, (_, i) => {
    const userId = users[i % users.length] as string;
    return {
      id: `chat:${prefix}:${i}:${userId}`,
      user_id: userId,
      type: "chat_message",
      payload: JSON.stringify({ preview: `n${i}` }),
      status: i % 4 === 0 ? "pending" : "delivered",
      attempts: i % 3,
      last_error: i % 9 === 0 ? "HTTP 500" : null,
      delivered_to: JSON.stringify(i % 2 ? ["dev_1"] : []),
      lease_until: null,
      acked_at: i % 6 === 0 ? 1_700_000_200_000 : null,
      created_at: 1_700_000_000_000 + i,
      updated_at: 1_700_000_000_500 + i,
    };
  });
  const channels = notifications.flatMap((n, i) =>
    ["webhook", "email"].slice(0, 1 + (i % 2)).map((channel) => ({
      notification_id: n.id,
      channel,
      user_id: n.user_id,
      outcome: "delivered",
      attempts: 1,
      last_error: null,
      reserved_at: channel === "email" ? 1_700_000_000_000 + i : null,
      updated_at: 1_700_000_000_600 + i,
    })),
  );
  return { messages, message_reactions: reactions, notifications, notification_channels: channels };
}

async function fillDirectory(rows: Generated): Promise<void> {
  for (const table of DIRECTORY_TABLES) {
    const statements = (rows[table.name] ?? []).map(
      (row) =>
        `INSERT INTO ${table.name} (${table.columns.join(", ")}) VALUES (${table.columns
          .map((c) => sqlLiteral(row[c]))
          .join(", ")})`,
    );
    for (let i = 0; i < statements.length; i += 100) await directory.db.run(statements.slice(i, i + 100));
  }
}

const ordered = (table: (typeof MOVED_TABLES)[number]) => `ORDER BY ${table.primaryKey.join(", ")}`;

/** A table's rows of this run (keys start with `prefix`), in one database, in primary-key order. */
async function rowsIn(db: SqlDatabase, table: (typeof MOVED_TABLES)[number], prefix: string) {
  return db.query(
    `SELECT ${table.columns.join(", ")} FROM ${table.name}
     WHERE ${table.key} LIKE ${sqlLiteral(`${prefix}-%`)} ${ordered(table)}`,
  );
}

const sortByKey = (table: (typeof MOVED_TABLES)[number], rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => {
    const ka = JSON.stringify(table.primaryKey.map((c) => a[c]));
    const kb = JSON.stringify(table.primaryKey.map((c) => b[c]));
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

describe("moving DB's chat archive and notification log into the shards", () => {
  it("moves every row once to its key's shard, in steps, across a stop between copy and delete", async () => {
    const prefix = "gen1";
    const generated = generate(prefix, 600, 300);
    await fillDirectory(generated);
    const job = {
      job: "test-move-1",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind: ShardKind, key: string) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 64,
    };

    // A few steps, then a stop.
    const first = await moveRows({ ...job, maxSteps: 3 });
    expect(first.find((t) => t.table === "messages")).toMatchObject({ moved: 192, done: false });

    // A crash after a page was copied and before it was deleted from DB.
    await expect(
      moveRows({
        ...job,
        afterCopy: (table, step) => {
          if (table === "messages" && step === 2) throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");

    // Resumed to the end, then run again: the second run finds nothing more to do.
    const done = await moveRows(job);
    expect(done.every((t) => t.done)).toBe(true);
    expect(await moveRows(job)).toEqual(done);
    expect(done.map((t) => [t.table, t.moved])).toEqual(
      DIRECTORY_TABLES.map((t) => [t.name, generated[t.name]?.length]),
    );

    for (const table of DIRECTORY_TABLES) {
      // Nothing of this run is left in DB.
      expect(await rowsIn(directory.db, table, prefix)).toEqual([]);
      const expected = generated[table.name] ?? [];
      const perShard = new Map<string, Record<string, unknown>[]>();
      for (const [binding, db] of shards) perShard.set(binding, await rowsIn(db, table, prefix));
      // Each row in the shard its key routes to, exactly as it was; both shards got some.
      for (const [binding, rows] of perShard) {
        const mine = expected.filter((row) => shardBindingFor(env, table.kind, String(row[table.key])) === binding);
        expect(rows.length).toBeGreaterThan(0);
        expect(sortByKey(table, rows)).toEqual(sortByKey(table, mine));
      }
      expect([...perShard.values()].reduce((n, rows) => n + rows.length, 0)).toBe(expected.length);
    }
  });

  it("leaves a row the Worker wrote to the shard since as the Worker wrote it", async () => {
    const prefix = "gen2";
    const generated = generate(prefix, 24, 16);
    await fillDirectory(generated);
    const notification = generated.notifications?.[0] as Record<string, unknown>;
    const userId = String(notification.user_id);
    const home = shards.get(shardBindingFor(env, "notifications", userId)) as SqlDatabase;
    // Redelivered after the deploy, the consumer logged and settled it in the user's shard.
    await home.run([
      `INSERT INTO notifications (id, user_id, type, payload, status, attempts, delivered_to, created_at, updated_at)
       VALUES (${sqlLiteral(notification.id)}, ${sqlLiteral(userId)}, 'chat_message', '{}', 'failed', 5, '[]', 1, 2)`,
    ]);
    await moveRows({
      job: "test-move-2",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind, key) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 10,
    });
    const [kept] = await home.query(
      `SELECT status, attempts FROM notifications WHERE id = ${sqlLiteral(notification.id)}`,
    );
    expect(kept).toEqual({ status: "failed", attempts: 5 });
    expect(await rowsIn(directory.db, MOVED_TABLES[2] as (typeof MOVED_TABLES)[number], prefix)).toEqual([]);
  });
});

describe("moving buckets after a SHARD_MAP change", () => {
  it("moves only the rows of the buckets that changed shard, and keeps the rest", async () => {
    const prefix = "gen3";
    const generated = generate(prefix, 240, 0);
    await fillDirectory(generated);
    const routeNow = (kind: ShardKind, key: string) => shardBindingFor(env, kind, key);
    await moveRows({
      job: "test-move-3",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: routeNow,
      targets: shards,
      pageSize: 100,
    });

    // SHARD_1 takes buckets 384-511 over from SHARD_0.
    const after = parseShardMap("0-383:SHARD_0,384-1023:SHARD_1", () => true);
    const before0 = await rowsIn(
      shards.get("SHARD_0") as SqlDatabase,
      MOVED_TABLES[0] as (typeof MOVED_TABLES)[number],
      prefix,
    );
    const leaving = before0.filter((row) => bucketOf(String(row.room_id)) >= 384);
    expect(leaving.length).toBeGreaterThan(0);
    const progress = await moveRows({
      job: "test-rebalance",
      source: { name: "SHARD_0", db: shards.get("SHARD_0") as SqlDatabase },
      tables: MOVED_TABLES,
      targetOf: targetUnder(after.byBucket, "SHARD_0"),
      targets: shards,
      pageSize: 50,
      maxSteps: 1_000,
    });
    const messages = progress.find((t) => t.table === "messages");
    expect(messages?.moved).toBeGreaterThanOrEqual(leaving.length);
    for (const table of MOVED_TABLES.filter((t) => t.kind === "chat")) {
      const in0 = await rowsIn(shards.get("SHARD_0") as SqlDatabase, table, prefix);
      const in1 = await rowsIn(shards.get("SHARD_1") as SqlDatabase, table, prefix);
      expect(in0.every((row) => bucketOf(String(row.room_id)) < 384)).toBe(true);
      expect(in1.every((row) => bucketOf(String(row.room_id)) >= 384)).toBe(true);
      expect(sortByKey(table, [...in0, ...in1])).toEqual(sortByKey(table, generated[table.name] ?? []));
    }
  });
});
