/**
 * The partition databases with two shards (SHARD_MAP in wrangler.toml): a room's archived chat
 * and a user's notifications land in the shard their id hashes to and nowhere else, and come back
 * through the public API unchanged (history past the room's own log, unread counts over rooms in
 * both shards, the notification log); /health/ready reports each database answering.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { allShards, shardBindingFor, type ShardKind } from "../../src/db/shards";
import { app } from "../../src/http/app";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { chatNotification } from "../../src/notify/message";
import { call, createRoom, joinRoom, registerUser, type TestUser, unique } from "../helpers/api";
import { eventStorageOf, flushOutbox, postMessage, roomStub } from "../helpers/chat";
import { runQueue } from "../helpers/notify";

const shardNames = allShards(env).map((s) => s.binding);

/** How many rows of `table` with `column` = `key` each shard holds, by binding. */
async function rowsPerShard(table: string, column: string, key: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { binding, db } of allShards(env)) {
    const row = await db
      .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`)
      .bind(key)
      .first<{ n: number }>();
    counts[binding] = row?.n ?? 0;
  }
  return counts;
}

/** `{ [its shard]: n, [the other]: 0 }`: the rows are in the key's shard alone. */
function onlyIn(kind: ShardKind, key: string, n: number): Record<string, number> {
  const home = shardBindingFor(env, kind, key);
  return Object.fromEntries(shardNames.map((b) => [b, b === home ? n : 0]));
}

/** Makes things until one lands in each shard (ids are random: 2^-39 to miss one in 40 tries). */
async function oneInEachShard<T>(kind: ShardKind, make: () => Promise<T>, keyOf: (t: T) => string): Promise<T[]> {
  const found = new Map<string, T>();
  for (let i = 0; i < 40 && found.size < shardNames.length; i++) {
    const made = await make();
    const binding = shardBindingFor(env, kind, keyOf(made));
    if (!found.has(binding)) found.set(binding, made);
  }
  expect([...found.keys()].sort()).toEqual(shardNames);
  return shardNames.map((b) => found.get(b) as T);
}

describe("two shards", () => {
  it("are what the tests run with", () => {
    expect(shardNames).toEqual(["SHARD_0", "SHARD_1"]);
  });
});

describe("GET /health/ready", () => {
  it("reports the directory database and each shard answering", async () => {
    const res = await call("GET", "/health/ready");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      version: expect.any(String),
      databases: [
        { binding: "DB", ok: true },
        { binding: "SHARD_0", ok: true },
        { binding: "SHARD_1", ok: true },
      ],
    });
  });

  it("answers 503 naming the shard that does not answer", async () => {
    const down = { prepare: () => ({ first: () => Promise.reject(new Error("shard down for the test")) }) };
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await app.request("http://ridewire.test/health/ready", {}, { ...env, SHARD_1: down });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        ok: false,
        databases: [
          { binding: "DB", ok: true },
          { binding: "SHARD_0", ok: true },
          { binding: "SHARD_1", ok: false },
        ],
      });
      expect(logged.mock.calls.flat().join(" ")).toContain("shard down for the test");
    } finally {
      logged.mockRestore();
    }
  });
});

describe("a SHARD_MAP that does not cover every bucket", () => {
  it("fails every request, with the map's problem in the log", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await app.request("http://ridewire.test/v1/rooms", {}, { ...env, SHARD_MAP: "0-511:SHARD_0" });
      expect(res.status).toBe(500);
      expect(JSON.stringify(await res.json())).not.toContain("SHARD_MAP");
      expect(logged.mock.calls.flat().join(" ")).toContain("bucket 512 is not mapped");
    } finally {
      logged.mockRestore();
    }
  });

  it("or a SHARD_MAP_PREVIOUS that does not, naming that variable", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const bad = { ...env, SHARD_MAP_PREVIOUS: "0-511:SHARD_0,512-1023:SHARD_9" };
      const res = await app.request("http://ridewire.test/v1/rooms", {}, bad);
      expect(res.status).toBe(500);
      expect(logged.mock.calls.flat().join(" ")).toContain("SHARD_MAP_PREVIOUS: SHARD_9 is not a D1 binding");
    } finally {
      logged.mockRestore();
    }
  });
});

describe("the chat archive", () => {
  it("lands in the shard of the room's id, and history past the room's log reads it back", async () => {
    const ada = await registerUser();
    const rooms = await oneInEachShard(
      "chat",
      () => createRoom(ada),
      (r) => r.id,
    );
    for (const room of rooms) {
      for (const text of ["one", "two", "three"]) await postMessage(ada, room.id, `${text} in ${room.id}`);
      await flushOutbox(room.id);
      expect(await rowsPerShard("messages", "room_id", room.id)).toEqual(onlyIn("chat", room.id, 3));
      // The room forgets its log: history now comes from the shard alone.
      await runInDurableObject(roomStub(room.id), (instance) => eventStorageOf(instance).trim(0));
      const page = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
      expect(page.status).toBe(200);
      expect(page.body.messages.map((m: { seq: number; text: string }) => [m.seq, m.text])).toEqual([
        [3, `three in ${room.id}`],
        [2, `two in ${room.id}`],
        [1, `one in ${room.id}`],
      ]);
    }
  });

  it("counts a member's unread messages over rooms in both shards", async () => {
    const [ada, bob] = await Promise.all([registerUser(), registerUser()]);
    const rooms = await oneInEachShard(
      "chat",
      () => createRoom(ada),
      (r) => r.id,
    );
    for (const room of rooms) await joinRoom(bob, room.id);
    const posted = [2, 3];
    for (const [i, room] of rooms.entries()) {
      for (let n = 0; n < (posted[i] ?? 0); n++) await postMessage(ada, room.id, `m${n}`);
      await flushOutbox(room.id);
    }
    const listed = await call("GET", "/v1/rooms", { token: bob.token });
    expect(listed.status).toBe(200);
    expect(listed.body.unreadTotal).toBe(5);
    const unreadOf = (id: string) => listed.body.rooms.find((r: { id: string }) => r.id === id)?.unread;
    expect(rooms.map((r) => unreadOf(r.id))).toEqual(posted);
    // The author has nothing unread: their own messages do not count.
    expect((await call("GET", "/v1/rooms", { token: ada.token })).body.unreadTotal).toBe(0);
  });
});

describe("the notification log", () => {
  let seq = 0;
  const chatTo = (user: TestUser) => {
    const roomId = unique("room");
    seq++;
    return chatNotification(
      {
        id: `msg_${roomId}_${seq}`,
        roomId,
        seq,
        userId: "usr_sender",
        text: `for ${user.user.id}`,
        createdAt: Date.now(),
      },
      user.user.id,
      "Ada",
    );
  };

  it("lands in the shard of the user's id, one queue batch across shards, and lists back per user", async () => {
    const users = await oneInEachShard(
      "notifications",
      () => registerUser(),
      (u) => u.user.id,
    );
    const messages = users.map(chatTo);
    const result = await runQueue(
      NOTIFICATIONS_QUEUE,
      messages.map((body, i) => ({ id: `q${i}`, body })),
    );
    // No device: each ends `failed`-free and acked; what matters here is where it was logged.
    expect(result.retryMessages).toEqual([]);
    for (const [i, user] of users.entries()) {
      const message = messages[i]!;
      expect(await rowsPerShard("notifications", "user_id", user.user.id)).toEqual(
        onlyIn("notifications", user.user.id, 1),
      );
      const listed = await call("GET", "/v1/notifications?limit=10", { token: user.token });
      expect(listed.status).toBe(200);
      expect(listed.body.notifications.map((n: { id: string }) => n.id)).toEqual([message.id]);
      // The other user's notification is nowhere in this one's log, and acking it is refused.
      const other = messages[1 - i]!;
      const ack = await call("POST", `/v1/notifications/${encodeURIComponent(other.id)}/ack`, { token: user.token });
      expect(ack.status).toBe(404);
    }
  });
});
