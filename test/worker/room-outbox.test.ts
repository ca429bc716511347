// The write-behind outbox: every message a room stores reaches D1's `messages` exactly once,
// a D1 failure keeps the outbox until D1 is back, and history the room has trimmed comes back
// from D1.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Message } from "../../src/protocol/common";
import { call, connectOk, createRoom, registerUser, unique, type TestUser } from "../helpers/api";
import { archivedSeqs, flushOutbox, identityOf, postMessage, range, roomStorage, roomStub } from "../helpers/chat";

const RETENTION = 5_000; // ROOM_RETENTION_EVENTS in wrangler.toml

/** Every message of the room over HTTP, newest first, paging with nextBefore. */
async function fullHistory(user: TestUser, roomId: string): Promise<Message[]> {
  const all: Message[] = [];
  let before: number | null = null;
  for (let page = 0; page < 200; page++) {
    const res = await call("GET", `/v1/rooms/${roomId}/messages?limit=100${before === null ? "" : `&before=${before}`}`, { token: user.token });
    if (res.status !== 200) throw new Error(`history failed: ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.messages);
    before = res.body.nextBefore;
    if (before === null) return all;
  }
  throw new Error("history did not end");
}

/** D1's rows of a room, exactly as stored. */
async function archivedRows(roomId: string): Promise<Message[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, room_id AS roomId, seq, user_id AS userId, text, created_at AS createdAt FROM messages WHERE room_id = ? ORDER BY seq DESC`,
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
  await env.DB.exec("ALTER TABLE messages RENAME TO messages_away");
  try {
    await run();
    return logged.mock.calls.map((args) => args.map(String).join(" "));
  } finally {
    await env.DB.exec("ALTER TABLE messages_away RENAME TO messages");
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

  it("reaches D1 by itself, on the alarm the room sets", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    await postMessage(ada, room.id, "on its own");
    const deadline = Date.now() + 5_000;
    while ((await archivedSeqs(room.id)).length === 0) {
      if (Date.now() > deadline) throw new Error("the outbox alarm never copied the message to D1");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await archivedSeqs(room.id)).toEqual([1]);
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
      await env.DB.prepare(`INSERT INTO messages (id, room_id, seq, user_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
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
    const total = RETENTION + 150;
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
    expect(await roomStorage(room.id)).toMatchObject({ firstSeq: total - RETENTION + 1, lastSeq: total, events: RETENTION, outbox: 0 });

    // History pages through the boundary between the room's log and D1 without a gap.
    const boundary = total - RETENTION + 1;
    const across = await call("GET", `/v1/rooms/${room.id}/messages?before=${boundary + 2}&limit=5`, { token: ada.token });
    expect(across.body.messages.map((m: Message) => m.seq)).toEqual(range(boundary - 3, boundary + 1).reverse());
    expect(across.body.nextBefore).toBe(boundary - 3);
    const oldest = await call("GET", `/v1/rooms/${room.id}/messages?before=3`, { token: ada.token });
    expect(oldest.body).toEqual({ messages: [expect.objectContaining({ seq: 2, text: "bulk 0" }), first], nextBefore: null });
    const history = await fullHistory(ada, room.id);
    expect(history.map((m) => m.seq)).toEqual(range(1, total).reverse());
    expect(history.at(-1)).toEqual(first);

    // A repeated Idempotency-Key whose message the room has trimmed is answered from D1.
    const again = await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text: "the very first" }, headers: { "Idempotency-Key": key } });
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
  });
});
