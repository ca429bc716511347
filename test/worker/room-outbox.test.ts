// The write-behind outbox: every message a room stores reaches D1's `messages` exactly once,
// a D1 failure keeps the outbox until D1 is back, and history the room has trimmed comes back
// from D1. Also the log's retention (trimmed past a margin), the hourly sweep of expired
// command ids, and the one-time migration of rooms stored with the old outbox table.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Message } from "../../src/protocol/common";
import { call, connectOk, createRoom, joinRoom, registerUser, unique, type TestUser } from "../helpers/api";
import {
  archivedSeqs,
  eventStorageOf,
  flushOutbox,
  identityOf,
  postMessage,
  range,
  roomStorage,
  roomStub,
} from "../helpers/chat";
import { chatShard, copiedMark, everyShard } from "../helpers/shards";

const RETENTION = 5_000; // ROOM_RETENTION_EVENTS in wrangler.toml
const TRIM_SLACK = 500; // the hub trims once the log holds more than RETENTION + 10% of it
const DAY_MS = 24 * 60 * 60 * 1000;
const MESSAGE_ARCHIVE_DELAY_MS = 5_000; // as in wrangler.toml
const OUTBOX_FLUSH_DELAY_MS = 1_000; // as in wrangler.toml
const BATCH_SIZE = 100; // OUTBOX_BATCH_SIZE in wrangler.toml

/** Every message of the room over HTTP, newest first, paging with nextBefore. */
async function fullHistory(user: TestUser, roomId: string): Promise<Message[]> {
  const all: Message[] = [];
  let before: number | null = null;
  for (let page = 0; page < 200; page++) {
    const res = await call(
      "GET",
      `/v1/rooms/${roomId}/messages?limit=100${before === null ? "" : `&before=${before}`}`,
      { token: user.token },
    );
    if (res.status !== 200) throw new Error(`history failed: ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.messages);
    before = res.body.nextBefore;
    if (before === null) return all;
  }
  throw new Error("history did not end");
}

/** D1's rows of a room, exactly as stored. */
async function archivedRows(roomId: string): Promise<Message[]> {
  const { results } = await chatShard(roomId)
    .prepare(
      `SELECT id, room_id AS roomId, seq, user_id AS userId, text, created_at AS createdAt FROM messages ` +
        `WHERE room_id = ? ORDER BY seq DESC`,
    )
    .bind(roomId)
    .all<Message>();
  return results;
}

/** Runs the room's alarm once: the scheduled one now, or waits for a real one in flight to finish and reschedule. */
async function runAlarmOnce(roomId: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await runDurableObjectAlarm(roomStub(roomId)))) {
    if (Date.now() > deadline) throw new Error(`no alarm of ${roomId} ran within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Stores `count` messages straight through the room object's RPC method, without HTTP. */
async function appendMessages(roomId: string, user: TestUser, count: number): Promise<void> {
  await runInDurableObject(roomStub(roomId), async (room) => {
    for (let i = 0; i < count; i++) {
      const result = await room.postMessage(identityOf(user), `bulk ${i}`);
      if (!result.ok) throw new Error(`append failed: ${JSON.stringify(result.error)}`);
    }
  });
}

/**
 * Makes D1 refuse every write to `messages` while `run` runs: the table is not there. Returns
 * what the rooms logged meanwhile (and keeps it out of the test output).
 */
async function withMessagesTableAway(run: () => Promise<void>): Promise<string[]> {
  const logged = vi.spyOn(console, "error").mockImplementation(() => {});
  for (const shard of everyShard()) await shard.exec("ALTER TABLE messages RENAME TO messages_away");
  try {
    await run();
    return logged.mock.calls.map((args) => args.map(String).join(" "));
  } finally {
    for (const shard of everyShard()) await shard.exec("ALTER TABLE messages_away RENAME TO messages");
    logged.mockRestore();
  }
}

describe("write-behind to D1", () => {
  it("copies every message once, over HTTP and sockets, with the stored fields", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    await socket.nextOfType("welcome");
    for (let i = 1; i <= 3; i++) {
      socket.send({ type: "message", id: `s${i}`, text: `socket ${i}` });
      await socket.next((f) => f.type === "ack" && f.id === `s${i}`);
    }
    socket.send({ type: "message", id: "s1", text: "socket 1" });
    await socket.next((f) => f.type === "ack" && f.id === "s1");
    const key = unique("key");
    await postMessage(ada, room.id, "http once", { "Idempotency-Key": key });
    await postMessage(ada, room.id, "http once", { "Idempotency-Key": key });
    await postMessage(ada, room.id, "http");

    await flushOutbox(room.id);
    const history = await fullHistory(ada, room.id);
    expect(history.map((m) => m.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(await archivedRows(room.id)).toEqual(history);

    // Another alarm copies nothing twice.
    await runDurableObjectAlarm(roomStub(room.id));
    expect(await archivedSeqs(room.id)).toEqual(range(1, 5));
    expect(await roomStorage(room.id)).toMatchObject({ outbox: 0, events: 5 });
    socket.close();
  });

  it(
    "reaches D1 by itself, on the alarm the room sets",
    async () => {
      const ada = await registerUser();
      const room = await createRoom(ada);
      await postMessage(ada, room.id, "on its own");
      const deadline = Date.now() + MESSAGE_ARCHIVE_DELAY_MS + 5_000;
      while ((await archivedSeqs(room.id)).length === 0) {
        if (Date.now() > deadline) throw new Error("the outbox alarm never copied the message to D1");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await archivedSeqs(room.id)).toEqual([1]);
    },
    MESSAGE_ARCHIVE_DELAY_MS + 10_000,
  );

  it(
    "copies what was stored when its alarm began; a message stored during the D1 write waits for its own " + "beat",
    async () => {
      const ada = await registerUser();
      const room = await createRoom(ada);
      for (let i = 1; i <= 3; i++) await postMessage(ada, room.id, `before ${i}`);
      const after = await runInDurableObject(roomStub(room.id), async (instance, state) => {
        const alarm = instance.alarm(); // reads the outbox, then waits on its D1 write
        const during = await instance.postMessage(identityOf(ada), "during the write");
        if (!during.ok) throw new Error(`post failed: ${JSON.stringify(during.error)}`);
        await alarm;
        return { at: Date.now(), alarm: await state.storage.getAlarm() };
      });
      expect(await archivedSeqs(room.id)).toEqual([1, 2, 3]);
      expect(await roomStorage(room.id)).toMatchObject({ outbox: 1, events: 4 });
      expect(after.alarm).not.toBeNull();
      expect(after.alarm!).toBeGreaterThan(after.at);
      await flushOutbox(room.id);
      expect(await archivedSeqs(room.id)).toEqual([1, 2, 3, 4]);
    },
  );

  it("waits for more messages (half to all of MESSAGE_ARCHIVE_DELAY_MS), no longer once a batch waits", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const { start, early, full } = await runInDurableObject(roomStub(room.id), async (instance, state) => {
      const start = Date.now();
      for (let i = 1; i < BATCH_SIZE; i++) {
        const result = await instance.postMessage(identityOf(ada), `m${i}`);
        if (!result.ok) throw new Error(`post failed: ${JSON.stringify(result.error)}`);
      }
      const early = await state.storage.getAlarm();
      const result = await instance.postMessage(identityOf(ada), "the batch's last");
      if (!result.ok) throw new Error(`post failed: ${JSON.stringify(result.error)}`);
      return { start, early, full: { alarm: await state.storage.getAlarm(), at: Date.now() } };
    });
    expect(early).toBeGreaterThanOrEqual(start + MESSAGE_ARCHIVE_DELAY_MS / 2);
    expect(early).toBeLessThanOrEqual(Date.now() + MESSAGE_ARCHIVE_DELAY_MS);
    expect(full.alarm).not.toBeNull();
    expect(full.alarm!).toBeLessThanOrEqual(full.at);
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual(range(1, BATCH_SIZE));
  });

  it("copies a read mark to D1 within OUTBOX_FLUSH_DELAY_MS: a reload right after reading shows no count", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const posted = await postMessage(ada, room.id, "read me");
    await flushOutbox(room.id);
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, bob.token);
    await socket.nextOfType("welcome");
    // Nothing waits for D1 now: the alarm is at most the socket's token expiry, far off.
    const start = Date.now();
    const before = await runInDurableObject(roomStub(room.id), (_room, state) => state.storage.getAlarm());
    expect(before === null || before > start + MESSAGE_ARCHIVE_DELAY_MS).toBe(true);

    socket.send({ type: "read", id: "r1", seq: posted.seq });
    await socket.next((f) => f.type === "ack" && f.id === "r1");
    const alarm = await runInDurableObject(roomStub(room.id), (_room, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + OUTBOX_FLUSH_DELAY_MS);
    // The copy itself is as before: D1 has the mark once the alarm ran.
    const readSeq = () => copiedMark(room.id, bob.user.id);
    expect((await readSeq()) ?? 0).toBeLessThan(posted.seq);
    await runAlarmOnce(room.id);
    expect(await readSeq()).toBe(posted.seq);
    socket.close();
  });

  it("ends a copy of read marks while readers keep reading: a mark that moves again waits for the next", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    await appendMessages(room.id, ada, 60);
    await flushOutbox(room.id);
    // More readers than one batch of the copy, each reading again while every batch is in D1.
    const readers = range(1, 60).map((i) => ({ userId: `usr_reader${i}`, role: "rider" as const, name: `R${i}` }));
    const copies = await runInDurableObject(roomStub(room.id), async (instance, state) => {
      for (const reader of readers)
        state.storage.sql.exec(`INSERT INTO members (user_id, joined_at) VALUES (?, 1)`, reader.userId);
      const marks = (
        instance as unknown as { readMarks: { shard: () => D1Database; flush(roomId: string): Promise<void> } }
      ).readMarks;
      const shard = marks.shard();
      const waiting = () =>
        state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM members WHERE read_seq > read_copied`).one().n;
      const copyWhileReading = async (from: number) => {
        for (const reader of readers) await instance.markReadOver(reader, from);
        let batches = 0;
        const counting = {
          prepare: (query: string) => ({
            bind: (...params: unknown[]) => ({
              run: async () => {
                batches++;
                // Past 20 batches the copy would never end: the readers stop, so that the test does.
                if (batches < 20) for (const reader of readers) await instance.markReadOver(reader, from + batches);
                return shard
                  .prepare(query)
                  .bind(...params)
                  .run();
              },
            }),
          }),
        } as unknown as D1Database;
        marks.shard = () => counting;
        await marks.flush(room.id);
        const copy = { batches, waiting: waiting() };
        // The next alarm's copy, with nobody reading: what moved during the one before goes in it.
        marks.shard = () => shard;
        await marks.flush(room.id);
        return { ...copy, next: waiting() };
      };
      // The first copy since the wake sweeps the members; the next looks up the marks that moved.
      return [await copyWhileReading(1), await copyWhileReading(30)];
    });
    const copy = { batches: 2, waiting: readers.length, next: 0 };
    expect(copies).toEqual([copy, copy]);
  });

  it("copies a new member's starting mark within OUTBOX_FLUSH_DELAY_MS (D1 counts all unread till then)", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    for (let i = 1; i <= 3; i++) await postMessage(ada, room.id, `before bob ${i}`);
    await flushOutbox(room.id);
    await joinRoom(bob, room.id);
    const joined = Date.now();
    const alarm = await runInDurableObject(roomStub(room.id), (_room, state) => state.storage.getAlarm());
    // The messages' beat would set it MESSAGE_ARCHIVE_DELAY_MS / 2 or more after the join.
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(joined + OUTBOX_FLUSH_DELAY_MS);
    await runAlarmOnce(room.id);
    const listed = await call("GET", "/v1/rooms", { token: bob.token });
    expect(listed.body.rooms.find((r: { id: string }) => r.id === room.id)?.unread).toBe(0);
  });

  it("keeps the outbox while D1 fails, through an eviction, and copies it once D1 is back", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const stub = roomStub(room.id);
    for (let i = 1; i <= 3; i++) await postMessage(ada, room.id, `before ${i}`);
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual([1, 2, 3]);

    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    await socket.nextOfType("welcome");
    const logged = await withMessagesTableAway(async () => {
      for (let i = 4; i <= 6; i++) await postMessage(ada, room.id, `during ${i}`);
      for (let i = 7; i <= 8; i++) {
        socket.send({ type: "message", id: `s${i}`, text: `during ${i}` });
        expect(await socket.next((f) => f.type === "ack" && f.id === `s${i}`)).toMatchObject({ seq: i });
      }
      await runAlarmOnce(room.id);
      // The copy failed: nothing left the outbox, and a retry is scheduled.
      expect(await roomStorage(room.id)).toMatchObject({ outbox: 5, events: 8 });
      const retryAt = await runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
      expect(retryAt).not.toBeNull();
      expect(await archivedSeqs(room.id, "messages_away")).toEqual([1, 2, 3]);
      // The room still serves everything it stored.
      expect((await fullHistory(ada, room.id)).map((m) => m.seq)).toEqual(range(1, 8).reverse());

      // The outbox lives in the room's storage, not in memory.
      await evictDurableObject(stub);
      await runAlarmOnce(room.id);
      expect(await roomStorage(room.id)).toMatchObject({ outbox: 5 });
    });

    // The failure was logged by class and handler, without the messages' text.
    expect(logged.some((line) => line.includes("ChatRoom.writeBehind"))).toBe(true);
    expect(logged.filter((line) => line.includes("during"))).toEqual([]);

    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual(range(1, 8));
    expect(await archivedRows(room.id)).toEqual(await fullHistory(ada, room.id));
    // The socket lived through all of it.
    socket.send({ type: "message", id: "after", text: "after" });
    expect(await socket.next((f) => f.type === "ack" && f.id === "after")).toMatchObject({ seq: 9 });
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual(range(1, 9));
    socket.close();
  });

  it("does not copy a message twice when an earlier copy landed but was never marked done", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    // Hold the outbox back while messages are stored.
    await withMessagesTableAway(async () => {
      for (let i = 1; i <= 5; i++) await postMessage(ada, room.id, `m${i}`);
    });
    const history = await fullHistory(ada, room.id);
    // As if a write-behind of seqs 2 and 3 reached D1 and the room stopped before noting it.
    for (const message of history.filter((m) => m.seq === 2 || m.seq === 3)) {
      await chatShard(message.roomId)
        .prepare(`INSERT INTO messages (id, room_id, seq, user_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
        .bind(message.id, message.roomId, message.seq, message.userId, message.text, message.createdAt)
        .run();
    }
    expect(await roomStorage(room.id)).toMatchObject({ outbox: 5 });
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual(range(1, 5));
    expect(await archivedRows(room.id)).toEqual(history);
  });

  it("copies a backlog larger than one batch and only trims what D1 holds", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const key = unique("first");
    const total = RETENTION + TRIM_SLACK + 1;
    let first: Message | undefined;

    await withMessagesTableAway(async () => {
      first = await postMessage(ada, room.id, "the very first", { "Idempotency-Key": key });
      await appendMessages(room.id, ada, total - 1);
      await runAlarmOnce(room.id);
      // D1 has none of it, so the room keeps every event although it holds more than its retention.
      expect(await roomStorage(room.id)).toMatchObject({ firstSeq: 1, lastSeq: total, events: total });
      expect((await roomStorage(room.id)).outbox).toBeGreaterThan(RETENTION);
    });

    await flushOutbox(room.id, 20_000);
    // Every message once in D1; the room keeps only its newest RETENTION events.
    const seqs = await archivedSeqs(room.id);
    expect(seqs.length).toBe(total);
    expect(seqs).toEqual(range(1, total));
    expect(await roomStorage(room.id)).toMatchObject({
      firstSeq: total - RETENTION + 1,
      lastSeq: total,
      events: RETENTION,
      outbox: 0,
    });

    // History pages through the boundary between the room's log and D1 without a gap.
    const boundary = total - RETENTION + 1;
    const across = await call("GET", `/v1/rooms/${room.id}/messages?before=${boundary + 2}&limit=5`, {
      token: ada.token,
    });
    expect(across.body.messages.map((m: Message) => m.seq)).toEqual(range(boundary - 3, boundary + 1).reverse());
    expect(across.body.nextBefore).toBe(boundary - 3);
    const oldest = await call("GET", `/v1/rooms/${room.id}/messages?before=3`, { token: ada.token });
    expect(oldest.body).toEqual({
      messages: [expect.objectContaining({ seq: 2, text: "bulk 0" }), first],
      nextBefore: null,
      seq: total,
      // Messages read back from D1 have their delivery state too (nobody else is in the room).
      receipts: [
        { seq: 2, deliveredTo: 0, readBy: 0 },
        { seq: 1, deliveredTo: 0, readBy: 0 },
      ],
    });
    const history = await fullHistory(ada, room.id);
    expect(history.map((m) => m.seq)).toEqual(range(1, total).reverse());
    expect(history.at(-1)).toEqual(first);

    // A repeated Idempotency-Key whose message the room has trimmed is answered from D1.
    const again = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "the very first" },
      headers: { "Idempotency-Key": key },
    });
    expect(again.status).toBe(201);
    expect(again.body.message).toEqual(first);

    // A client that last saw a trimmed seq must reload; one that saw a kept seq resumes.
    const stale = await connectOk(`/v1/rooms/${room.id}/ws?since=${boundary - 2}`, ada.token);
    expect(await stale.nextOfType("reset")).toEqual({ type: "reset", seq: total });
    stale.close();
    const fresh = await connectOk(`/v1/rooms/${room.id}/ws?since=${total - 2}`, ada.token);
    expect(await fresh.nextOfType("synced")).toEqual({ type: "synced", seq: total });
    expect(fresh.frames.filter((f) => f.type === "message").map((f) => f.seq)).toEqual([total - 1, total]);
    fresh.close();

    // Up to the margin the log is left alone; one more event past it and it is trimmed again.
    await appendMessages(room.id, ada, TRIM_SLACK);
    await flushOutbox(room.id);
    expect(await roomStorage(room.id)).toMatchObject({ events: RETENTION + TRIM_SLACK, outbox: 0 });
    await appendMessages(room.id, ada, 1);
    await flushOutbox(room.id);
    expect(await roomStorage(room.id)).toMatchObject({
      firstSeq: total + TRIM_SLACK + 1 - RETENTION + 1,
      events: RETENTION,
      outbox: 0,
    });
  });
});

describe("command ids", () => {
  const commandIds = (roomId: string) =>
    runInDurableObject(roomStub(roomId), (_room, state) =>
      state.storage.sql
        .exec<{ command_id: string }>(`SELECT command_id FROM commands ORDER BY command_id`)
        .toArray()
        .map((r) => r.command_id),
    );
  const recordStale = (roomId: string, user: TestUser, commandId: string) =>
    runInDurableObject(roomStub(roomId), (_room, state) => {
      state.storage.sql.exec(
        `INSERT INTO commands (user_id, command_id, seq, created_at) VALUES (?, ?, NULL, ?)`,
        user.user.id,
        commandId,
        Date.now() - DAY_MS - 60_000,
      );
    });

  it("are forgotten a day on, swept at most hourly and on a woken room's first alarm", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    await recordStale(room.id, ada, "stale-1");
    const fresh = unique("fresh");
    await postMessage(ada, room.id, "one", { "Idempotency-Key": fresh });
    await flushOutbox(room.id);
    // Ids are kept per kind of operation (a chat message's here).
    expect(await commandIds(room.id)).toEqual([`message:${fresh}`]);

    // Swept within the hour already: a second stale id outlives this alarm.
    await recordStale(room.id, ada, "stale-2");
    await postMessage(ada, room.id, "two");
    await flushOutbox(room.id);
    expect(await commandIds(room.id)).toEqual([`message:${fresh}`, "stale-2"]);

    // The sweep's time is memory only: a woken room sweeps on its first alarm.
    await evictDurableObject(roomStub(room.id));
    await postMessage(ada, room.id, "three");
    await flushOutbox(room.id);
    expect(await commandIds(room.id)).toEqual([`message:${fresh}`]);
  });
});

describe("rooms stored with the old outbox table", () => {
  /** A message event exactly as the room stores it. */
  const messageEvent = (roomId: string, user: TestUser, seq: number): Message => ({
    id: `msg_${roomId}_${seq}`,
    roomId,
    seq,
    userId: user.user.id,
    text: `old ${seq}`,
    createdAt: 1_700_000_000_000 + seq,
  });

  /**
   * Rewrites the room's log in the schema rooms had before the watermark (events without
   * `archive`, an `outbox` table of seqs), with events 1..`last` and `outbox` waiting, then
   * evicts it so that it opens that storage afresh.
   */
  async function oldSchemaRoom(
    user: TestUser,
    last: number,
    outbox: number[],
  ): Promise<{ roomId: string; events: Message[] }> {
    const room = await createRoom(user);
    const events = range(1, last).map((seq) => messageEvent(room.id, user, seq));
    const stub = roomStub(room.id);
    await runInDurableObject(stub, (_room, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE events`);
      sql.exec(`DELETE FROM log_meta`);
      sql.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL, created_at INTEGER NOT NULL)`);
      sql.exec(`CREATE TABLE outbox (seq INTEGER PRIMARY KEY)`);
      for (const message of events) {
        sql.exec(
          `INSERT INTO events (seq, frame, created_at) VALUES (?, ?, ?)`,
          message.seq,
          JSON.stringify({ type: "message", seq: message.seq, message }),
          message.createdAt,
        );
      }
      for (const seq of outbox) sql.exec(`INSERT INTO outbox (seq) VALUES (?)`, seq);
    });
    await evictDurableObject(stub);
    return { roomId: room.id, events };
  }

  const schemaOf = (roomId: string) =>
    runInDurableObject(roomStub(roomId), (_room, state) => ({
      tables: state.storage.sql
        .exec<{ name: string }>(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'outbox') ORDER BY name`,
        )
        .toArray()
        .map((r) => r.name),
      archive: state.storage.sql
        .exec<{ seq: number; archive: number }>(`SELECT seq, archive FROM events ORDER BY seq`)
        .toArray(),
      flushedThrough: state.storage.sql
        .exec<{ value: number }>(`SELECT value FROM log_meta WHERE key = 'flushed_through'`)
        .toArray()[0]?.value,
    }));

  it("copies what the old outbox held, once, and nothing it had already copied", async () => {
    const ada = await registerUser();
    // Seqs 1 and 2 reached D1 before; 4 left the outbox (copied) while 3 did not (a batch failed).
    const { roomId, events } = await oldSchemaRoom(ada, 6, [3, 5, 6]);
    const schema = await schemaOf(roomId);
    expect(schema.tables).toEqual(["events"]);
    expect(schema.flushedThrough).toBe(2);
    expect(schema.archive).toEqual(range(1, 6).map((seq) => ({ seq, archive: seq === 4 ? 0 : 1 })));
    expect(await roomStorage(roomId)).toMatchObject({ firstSeq: 1, lastSeq: 6, events: 6, outbox: 3 });

    // Opening it again changes nothing: the migration ran once.
    await evictDurableObject(roomStub(roomId));
    expect(await schemaOf(roomId)).toEqual(schema);

    // Nobody set an alarm for the migrated room: it sets its own for what waits.
    const deadline = Date.now() + 5_000;
    while ((await archivedSeqs(roomId)).length < 3) {
      if (Date.now() > deadline)
        throw new Error(`the migrated outbox never reached D1: ${JSON.stringify(await archivedSeqs(roomId))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await archivedSeqs(roomId)).toEqual([3, 5, 6]);
    expect(await archivedRows(roomId)).toEqual(events.filter((m) => [3, 5, 6].includes(m.seq)).reverse());

    // The log goes on after its last seq, and new messages are copied as usual.
    const next = await postMessage(ada, roomId, "new");
    expect(next.seq).toBe(7);
    await flushOutbox(roomId);
    expect(await archivedSeqs(roomId)).toEqual([3, 5, 6, 7]);
    expect((await schemaOf(roomId)).flushedThrough).toBe(7);
  });

  it("puts the watermark at the last seq when the old outbox was empty", async () => {
    const ada = await registerUser();
    const { roomId } = await oldSchemaRoom(ada, 4, []);
    const schema = await schemaOf(roomId);
    expect(schema).toMatchObject({ tables: ["events"], flushedThrough: 4 });
    expect(schema.archive.every((e) => e.archive === 1)).toBe(true);
    expect(await roomStorage(roomId)).toMatchObject({ lastSeq: 4, outbox: 0 });
    await postMessage(ada, roomId, "new");
    await flushOutbox(roomId);
    expect(await archivedSeqs(roomId)).toEqual([5]);
  });
});

describe("events not meant for D1", () => {
  it("are never copied, and the watermark moves past them", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    await postMessage(ada, room.id, "copied");
    // A message frame appended with archive off: only the flag keeps it out of D1.
    await runInDurableObject(roomStub(room.id), (instance) => {
      eventStorageOf(instance).append(
        (seq) => ({
          type: "message",
          seq,
          message: {
            id: `msg_${room.id}_${seq}`,
            roomId: room.id,
            seq,
            userId: ada.user.id,
            text: "kept here",
            createdAt: Date.now(),
          },
        }),
        Date.now(),
        false,
      );
    });
    expect(await roomStorage(room.id)).toMatchObject({ lastSeq: 2, outbox: 1 });
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual([1]);
    const flushedThrough = await runInDurableObject(
      roomStub(room.id),
      (_room, state) =>
        state.storage.sql.exec<{ value: number }>(`SELECT value FROM log_meta WHERE key = 'flushed_through'`).one()
          .value,
    );
    expect(flushedThrough).toBe(2);
    await postMessage(ada, room.id, "copied too");
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual([1, 3]);
  });
});
