// Edits, deletes, replies and reactions in chat rooms (issue 22, "Messages"), through the public
// API: socket frames and HTTP routes. Each change is an event with its own seq on the room's
// log, so a client that reconnects with `since` (or polls) sees it; history shows the current
// version, from the room's log and, once trimmed there, from D1, which the write-behind keeps
// up to date (and may run twice).
import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { archiveMessages } from "../../src/db/messages";
import { MAX_REACTIONS_PER_MESSAGE } from "../../src/protocol/common";
import type { StoredEvent } from "../../src/rooms/event-log";
import { registerAdmin } from "../helpers/admin";
import {
  call,
  connectOk,
  createRoom,
  joinRoom,
  registerUser,
  type TestSocket,
  type TestUser,
  unique,
} from "../helpers/api";
import {
  eventStorageOf,
  expectError,
  flushOutbox,
  frameAfter,
  postMessage,
  roomOfTwo,
  roomStorage,
  roomStub,
  settle,
  wsPath,
} from "../helpers/chat";
import { hookUrl, waitForDeliveries } from "../helpers/notify";
import { chatShard } from "../helpers/shards";

const messagesPath = (roomId: string, seq?: number | string) =>
  seq === undefined ? `/v1/rooms/${roomId}/messages` : `/v1/rooms/${roomId}/messages/${seq}`;

/** Sends a frame with an id and resolves with its ack or error frame. */
async function command(socket: TestSocket, frame: Record<string, unknown>) {
  const id = unique("cmd");
  const from = socket.frames.length;
  socket.send({ ...frame, id });
  return frameAfter(socket, from, (f) => (f.type === "ack" || f.type === "error") && f.id === id);
}

/**
 * Reads an SSE stream resumed from `lastEventId` until its `synced` frame, then cancels it;
 * returns each stored event as [its SSE id, its frame type].
 */
async function sseUntilSynced(roomId: string, user: TestUser, lastEventId: string): Promise<[string, string][]> {
  const res = await exports.default.fetch(`http://ridewire.test/v1/rooms/${roomId}/events`, {
    headers: { Authorization: `Bearer ${user.token}`, Accept: "text/event-stream", "Last-Event-ID": lastEventId },
  });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 3_000;
  while (!text.includes('"type":"synced"')) {
    if (Date.now() > deadline) throw new Error(`no synced frame; got ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended; got ${text}`);
    text += value;
  }
  await reader.cancel();
  const events: [string, string][] = [];
  for (const block of text.split("\n\n")) {
    const id = /^id: ?(.*)$/m.exec(block)?.[1];
    const data = /^data: ?(.*)$/m.exec(block)?.[1];
    if (id !== undefined && data !== undefined) events.push([id, JSON.parse(data).type]);
  }
  return events;
}

async function history(user: TestUser, roomId: string, query = "") {
  const res = await call("GET", `${messagesPath(roomId)}${query}`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body as { messages: Record<string, unknown>[]; nextBefore: number | null };
}

async function edit(user: TestUser, roomId: string, seq: number | string, text: string, key?: string) {
  return call("PATCH", messagesPath(roomId, seq), {
    token: user.token,
    body: { text },
    ...(key ? { headers: { "Idempotency-Key": key } } : {}),
  });
}

async function remove(user: TestUser, roomId: string, seq: number | string) {
  return call("DELETE", messagesPath(roomId, seq), { token: user.token });
}

async function react(user: TestUser, roomId: string, seq: number, body: unknown, key?: string) {
  return call("POST", `${messagesPath(roomId, seq)}/reactions`, {
    token: user.token,
    body,
    ...(key ? { headers: { "Idempotency-Key": key } } : {}),
  });
}

describe("edits and deletes over sockets", () => {
  it("an edit and a delete are events with their own seq, sent live, and history shows the result", async () => {
    const { roomId, ada, a, b } = await roomOfTwo();
    const posted = await command(a, { type: "message", text: "meet at 8" });
    expect(posted).toMatchObject({ type: "ack", seq: 1 });
    await b.nextOfType("message");

    const edited = await command(a, { type: "edit", seq: 1, text: "meet at 9" });
    expect(edited).toMatchObject({ type: "ack", seq: 2 });
    const editFrame = await b.nextOfType("edit");
    expect(editFrame).toEqual({
      type: "edit",
      seq: 2,
      edit: { roomId, messageSeq: 1, userId: ada.user.id, text: "meet at 9", editedAt: expect.any(Number) },
    });

    const page = await history(ada, roomId);
    expect(page.messages).toEqual([
      expect.objectContaining({ seq: 1, text: "meet at 9", editedAt: editFrame.edit.editedAt }),
    ]);

    expect(await command(a, { type: "delete", seq: 1 })).toMatchObject({ type: "ack", seq: 3 });
    expect(await b.nextOfType("delete")).toEqual({
      type: "delete",
      seq: 3,
      delete: { roomId, messageSeq: 1, userId: ada.user.id, deletedAt: expect.any(Number) },
    });
    const [tombstone] = (await history(ada, roomId)).messages;
    expect(tombstone).toEqual({
      id: `msg_${roomId}_1`,
      roomId,
      seq: 1,
      userId: ada.user.id,
      createdAt: expect.any(Number),
      deleted: true,
      deletedAt: expect.any(Number),
    });

    // A deleted message cannot be edited or reacted to; deleting it again changes nothing.
    expect(await command(a, { type: "edit", seq: 1, text: "too late" })).toMatchObject({
      type: "error",
      code: "conflict",
    });
    expect(await command(a, { type: "react", seq: 1, emoji: "👍" })).toMatchObject({
      type: "error",
      code: "conflict",
    });
    const again = await command(a, { type: "delete", seq: 1 });
    expect(again).toEqual({ type: "ack", id: again.id });
    expect((await roomStorage(roomId)).lastSeq).toBe(3);
    a.close();
    b.close();
  });

  it("refuses editing or deleting another's message, a seq with no message, and bad frames", async () => {
    const { roomId, a, b } = await roomOfTwo();
    expect(await command(a, { type: "message", text: "ada's" })).toMatchObject({ seq: 1 });
    expect(await command(a, { type: "edit", seq: 1, text: "fixed" })).toMatchObject({ seq: 2 });

    // Bob is a member, but not the author, and not a moderator.
    expect(await command(b, { type: "edit", seq: 1, text: "bob was here" })).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    expect(await command(b, { type: "delete", seq: 1 })).toMatchObject({ type: "error", code: "forbidden" });
    // Seq 2 is the edit event, not a message; seq 99 holds nothing yet.
    for (const seq of [2, 99]) {
      expect(await command(a, { type: "edit", seq, text: "x" })).toMatchObject({ type: "error", code: "not_found" });
      expect(await command(a, { type: "delete", seq })).toMatchObject({ type: "error", code: "not_found" });
      expect(await command(a, { type: "react", seq, emoji: "👍" })).toMatchObject({ type: "error", code: "not_found" });
      expect(await command(a, { type: "message", text: "re", replyTo: seq })).toMatchObject({
        type: "error",
        code: "not_found",
      });
    }
    // Malformed: no seq, seq 0, a huge text, a blank one.
    for (const frame of [
      { type: "edit", text: "x" },
      { type: "edit", seq: 0, text: "x" },
      { type: "edit", seq: 1, text: "x".repeat(4_001) },
      { type: "edit", seq: 1, text: "   " },
      { type: "delete", seq: -1 },
      { type: "message", text: "re", replyTo: "1" },
    ])
      expect(await command(a, frame)).toMatchObject({ type: "error", code: "invalid_request" });

    // Nothing of that was stored: the log still ends at the edit.
    expect((await roomStorage(roomId)).lastSeq).toBe(2);
    a.close();
    b.close();
  });

  it("the room's creator and an operator may delete anyone's message, and only that", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    const carol = await registerUser("rider", "Carol");
    await joinRoom(carol, roomId);
    const fromBob = await postMessage(bob, roomId, "bob's");
    const fromCarol = await postMessage(carol, roomId, "carol's");
    const fromAda = await postMessage(ada, roomId, "ada's");

    // Carol is neither the author nor the creator.
    expectError(await remove(carol, roomId, fromBob.seq), 403, "forbidden");
    // Ada created the room: she moderates it (but may still only edit her own messages).
    expectError(await edit(ada, roomId, fromBob.seq, "ada's words"), 403, "forbidden");
    const deleted = await remove(ada, roomId, fromBob.seq);
    expect(deleted.status).toBe(200);
    expect(deleted.body.message).toMatchObject({ seq: fromBob.seq, userId: bob.user.id, deleted: true });
    expect(deleted.body.message.text).toBeUndefined();

    // An operator who joined the room deletes too.
    const operator = await registerAdmin();
    await joinRoom(operator, roomId);
    expect((await remove(operator, roomId, fromCarol.seq)).status).toBe(200);
    // Bob may delete his own, not the creator's.
    expectError(await remove(bob, roomId, fromAda.seq), 403, "forbidden");

    const page = await history(carol, roomId);
    expect(page.messages.map((m) => [m.seq, m.deleted ?? false, m.text])).toEqual([
      [fromAda.seq, false, "ada's"],
      [fromCarol.seq, true, undefined],
      [fromBob.seq, true, undefined],
    ]);
    // A non-member reaches nothing, whatever the message.
    const stranger = await registerUser();
    expectError(await remove(stranger, roomId, fromAda.seq), 403, "forbidden");
    expectError(await edit(stranger, roomId, fromAda.seq, "hi"), 403, "forbidden");
    a.close();
    b.close();
  });
});

describe("command ids of changes", () => {
  it("a repeated id is acknowledged with the first seq; the same id for something else is 409", async () => {
    const { roomId, ada, a, b } = await roomOfTwo();
    await command(a, { type: "message", text: "one" });
    const id = unique("edit");
    a.send({ type: "edit", id, seq: 1, text: "two" });
    expect(await a.next((f) => f.type === "ack" && f.id === id)).toEqual({ type: "ack", id, seq: 2 });
    a.send({ type: "edit", id, seq: 1, text: "two" });
    expect(await a.next((f) => f.type === "ack" && f.id === id)).toEqual({ type: "ack", id, seq: 2 });
    a.send({ type: "edit", id, seq: 1, text: "three" });
    expect(await a.next((f) => f.id === id)).toMatchObject({ type: "error", id, code: "conflict" });

    // The frame's id is the HTTP Idempotency-Key of the same operation.
    const same = await edit(ada, roomId, 1, "two", id);
    expect(same.status).toBe(200);
    expect(same.body.message).toMatchObject({ seq: 1, text: "two" });
    expectError(await edit(ada, roomId, 1, "four", id), 409, "conflict");

    // A reaction's id, and a reply's: another emoji, or another message replied to, is another command.
    const key = unique("react");
    expect((await react(ada, roomId, 1, { emoji: "🎉", on: true }, key)).status).toBe(200);
    expect((await react(ada, roomId, 1, { emoji: "🎉", on: true }, key)).status).toBe(200);
    expectError(await react(ada, roomId, 1, { emoji: "🎈", on: true }, key), 409, "conflict");
    const replyKey = unique("reply");
    const first = await postMessage(ada, roomId, "re", { "Idempotency-Key": replyKey });
    const retried = await call("POST", messagesPath(roomId), {
      token: ada.token,
      body: { text: "re" },
      headers: { "Idempotency-Key": replyKey },
    });
    expect(retried.body.message).toEqual(first);
    const asReply = await call("POST", messagesPath(roomId), {
      token: ada.token,
      body: { text: "re", replyTo: 1 },
      headers: { "Idempotency-Key": replyKey },
    });
    expectError(asReply, 409, "conflict");

    // A delete's id names one message: reused for another, it is refused too.
    const deleteId = unique("delete");
    a.send({ type: "delete", id: deleteId, seq: first.seq });
    expect(await a.next((f) => f.id === deleteId)).toMatchObject({ type: "ack", seq: 5 });
    a.send({ type: "delete", id: deleteId, seq: 1 });
    expect(await a.next((f) => f.id === deleteId)).toMatchObject({ type: "error", code: "conflict" });

    // Only one edit and one reaction were stored, and bob saw each once.
    await settle(b);
    expect(b.frames.filter((f) => f.type === "edit").map((f) => f.seq)).toEqual([2]);
    expect(b.frames.filter((f) => f.type === "reaction").map((f) => f.seq)).toEqual([3]);
    a.close();
    b.close();
  });
});

describe("resuming across changes", () => {
  it("a socket reconnecting with since, SSE and a long poll each get the edit and the delete", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    await command(a, { type: "message", text: "first" });
    await command(a, { type: "message", text: "second" });
    await b.next((f) => f.type === "message" && f.seq === 2);
    b.close();

    expect((await edit(ada, roomId, 1, "first, edited")).status).toBe(200);
    expect((await remove(ada, roomId, 2)).status).toBe(200);
    expect((await react(bob, roomId, 1, { emoji: "👍" })).status).toBe(200);

    const resumed = await connectOk(wsPath(roomId, "?since=2"), bob.token);
    expect(await resumed.nextOfType("synced")).toEqual({ type: "synced", seq: 5 });
    expect(resumed.frames.slice(1).map((f) => [f.type, f.seq])).toEqual([
      ["edit", 3],
      ["delete", 4],
      ["reaction", 5],
      ["synced", 5],
    ]);
    expect(resumed.frames[1].edit).toMatchObject({ messageSeq: 1, text: "first, edited" });
    expect(resumed.frames[2].delete).toMatchObject({ messageSeq: 2 });
    expect(resumed.frames[3].reaction).toMatchObject({
      messageSeq: 1,
      userId: bob.user.id,
      emoji: "👍",
      on: true,
      count: 1,
    });
    resumed.close();

    const polled = await call("GET", `/v1/rooms/${roomId}/poll?since=2&timeout=0`, { token: bob.token });
    expect(polled.status).toBe(200);
    expect(polled.body.seq).toBe(5);
    expect(polled.body.events.map((e: { type: string }) => e.type)).toEqual(["edit", "delete", "reaction"]);

    expect(await sseUntilSynced(roomId, bob, "3")).toEqual([
      ["4", "delete"],
      ["5", "reaction"],
    ]);
    a.close();
  });
});

describe("replies", () => {
  it("a reply carries replyTo in its frame and in history; it must answer a live message of the room", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    await command(a, { type: "message", text: "who's driving?" });
    const ack = await command(b, { type: "message", text: "me", replyTo: 1 });
    expect(ack).toMatchObject({ type: "ack", seq: 2 });
    expect((await a.next((f) => f.type === "message" && f.seq === 2)).message).toMatchObject({
      text: "me",
      replyTo: 1,
      userId: bob.user.id,
    });
    const viaHttp = await call("POST", messagesPath(roomId), { token: ada.token, body: { text: "great", replyTo: 2 } });
    expect(viaHttp.status).toBe(201);
    expect(viaHttp.body.message).toMatchObject({ seq: 3, replyTo: 2 });
    expect((await history(ada, roomId)).messages.map((m) => [m.seq, m.replyTo])).toEqual([
      [3, 2],
      [2, 1],
      [1, undefined],
    ]);

    // Not to a deleted message, an event that is not a message, a seq from the future, or a bad one.
    expect((await remove(ada, roomId, 1)).status).toBe(200); // seq 4
    expectError(
      await call("POST", messagesPath(roomId), { token: bob.token, body: { text: "x", replyTo: 1 } }),
      409,
      "conflict",
    );
    for (const replyTo of [4, 50])
      expectError(
        await call("POST", messagesPath(roomId), { token: bob.token, body: { text: "x", replyTo } }),
        404,
        "not_found",
      );
    for (const replyTo of [0, -3, 1.5, "2"])
      expectError(
        await call("POST", messagesPath(roomId), { token: bob.token, body: { text: "x", replyTo } }),
        400,
        "invalid_request",
      );
    // A deleted message's reply shows no more than a tombstone; the reply to it keeps its replyTo.
    const page = await history(ada, roomId);
    expect(page.messages.find((m) => m.seq === 1)).not.toHaveProperty("replyTo");
    expect(page.messages.find((m) => m.seq === 2)).toMatchObject({ replyTo: 1 });
    a.close();
    b.close();
  });
});

describe("reactions", () => {
  it("toggles per user and emoji, counts, marks mine, and sends each change as an event", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    await command(a, { type: "message", text: "ride's here" });

    expect(await command(a, { type: "react", seq: 1, emoji: "👍" })).toMatchObject({ type: "ack", seq: 2 });
    expect(await command(b, { type: "react", seq: 1, emoji: "👍" })).toMatchObject({ type: "ack", seq: 3 });
    expect(await command(b, { type: "react", seq: 1, emoji: "❤️" })).toMatchObject({ type: "ack", seq: 4 });
    expect((await a.next((f) => f.type === "reaction" && f.seq === 3)).reaction).toMatchObject({
      userId: bob.user.id,
      emoji: "👍",
      on: true,
      count: 2,
    });
    // `on: true` when already on changes nothing: acknowledged without a seq.
    const noop = await command(b, { type: "react", seq: 1, emoji: "❤️", on: true });
    expect(noop).toEqual({ type: "ack", id: noop.id });

    const asAda = (await history(ada, roomId)).messages[0];
    expect(asAda?.reactions).toEqual([
      { emoji: "👍", count: 2, me: true },
      { emoji: "❤️", count: 1, me: false },
    ]);
    expect((await history(bob, roomId)).messages[0]?.reactions).toEqual([
      { emoji: "👍", count: 2, me: true },
      { emoji: "❤️", count: 1, me: true },
    ]);

    // A toggle off, then HTTP: on:false twice is one removal.
    expect(await command(a, { type: "react", seq: 1, emoji: "👍" })).toMatchObject({ type: "ack", seq: 5 });
    const off = await react(bob, roomId, 1, { emoji: "❤️", on: false });
    expect(off.status).toBe(200);
    expect(off.body.message.reactions).toEqual([{ emoji: "👍", count: 1, me: true }]);
    expect((await react(bob, roomId, 1, { emoji: "❤️", on: false })).body.message.reactions).toHaveLength(1);
    expect((await roomStorage(roomId)).lastSeq).toBe(6);

    // Deleting the message takes its reactions with it.
    expect((await remove(ada, roomId, 1)).status).toBe(200);
    expect((await history(bob, roomId)).messages[0]).not.toHaveProperty("reactions");
    a.close();
    b.close();
  });

  it("refuses what is not an emoji, and more distinct emoji on one message than the limit", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    const message = await postMessage(ada, roomId, "react to me");
    for (const emoji of ["", "hello", "a", " ", "👍 ", "👍".repeat(9), "<b>", "1", "\u0000"])
      expectError(await react(bob, roomId, message.seq, { emoji }), 400, "invalid_request");
    expectError(await react(bob, roomId, message.seq, { emoji: "👍", on: "yes" }), 400, "invalid_request");
    expect(await command(b, { type: "react", seq: message.seq, emoji: "spam".repeat(20) })).toMatchObject({
      type: "error",
      code: "invalid_request",
    });

    // Flags, skin tones and joined sequences are one reaction each.
    const allowed = ["🇫🇷", "👍🏽", "👩‍💻", "❤️"];
    const emoji = [...allowed];
    for (let cp = 0x1f600; emoji.length < MAX_REACTIONS_PER_MESSAGE; cp++) emoji.push(String.fromCodePoint(cp));
    for (const e of emoji) expect((await react(bob, roomId, message.seq, { emoji: e, on: true })).status).toBe(200);
    expectError(await react(ada, roomId, message.seq, { emoji: "🚕", on: true }), 409, "conflict");
    // An emoji already there may still be added by another user, and a freed slot taken.
    expect((await react(ada, roomId, message.seq, { emoji: "🇫🇷", on: true })).status).toBe(200);
    expect((await react(bob, roomId, message.seq, { emoji: "❤️", on: false })).status).toBe(200);
    const last = await react(ada, roomId, message.seq, { emoji: "🚕", on: true });
    expect(last.status).toBe(200);
    expect(last.body.message.reactions).toHaveLength(MAX_REACTIONS_PER_MESSAGE);
    expect(last.body.message.reactions[0]).toEqual({ emoji: "🇫🇷", count: 2, me: true });
    a.close();
    b.close();
  });
});

describe("HTTP routes", () => {
  it("edit and delete answer the message as it is now; bad paths and bodies are 400, others' 403", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const message = await postMessage(ada, room.id, "draft");

    const edited = await edit(ada, room.id, message.seq, "final");
    expect(edited.status).toBe(200);
    expect(edited.body).toEqual({
      message: { ...message, text: "final", editedAt: expect.any(Number) },
    });
    expectError(await edit(bob, room.id, message.seq, "mine now"), 403, "forbidden");
    expectError(await edit(ada, room.id, message.seq, "x".repeat(4_001)), 400, "invalid_request");
    expectError(await edit(ada, room.id, "abc", "x"), 400, "invalid_request");
    expectError(await edit(ada, room.id, "1e3", "x"), 400, "invalid_request");
    expectError(await edit(ada, room.id, 0, "x"), 400, "invalid_request");
    expectError(await edit(ada, room.id, 2, "x"), 404, "not_found"); // seq 2 is the edit
    expectError(await remove(ada, room.id, 9_999), 404, "not_found");
    expectError(await edit(ada, "room_nope", 1, "x"), 404, "not_found");

    const deleted = await remove(ada, room.id, message.seq);
    expect(deleted.body).toEqual({
      message: {
        id: message.id,
        roomId: room.id,
        seq: message.seq,
        userId: ada.user.id,
        createdAt: message.createdAt,
        deleted: true,
        deletedAt: expect.any(Number),
      },
    });
    expectError(await edit(ada, room.id, message.seq, "undo"), 409, "conflict");
    expect((await remove(ada, room.id, message.seq)).status).toBe(200);
  });
});

describe("notifications", () => {
  it("an edit, a delete and a reaction notify nobody; a reply notifies like a message", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const key = unique("hook");
    const device = await call("POST", "/v1/devices", {
      token: bob.token,
      body: { kind: "webhook", url: hookUrl(key) },
    });
    expect(device.status).toBe(201);

    const first = await postMessage(ada, room.id, "original");
    await waitForDeliveries(key, 1);
    expect((await edit(ada, room.id, first.seq, "changed")).status).toBe(200);
    expect((await react(ada, room.id, first.seq, { emoji: "👍" })).status).toBe(200);
    const second = await postMessage(ada, room.id, "second");
    expect((await remove(ada, room.id, second.seq)).status).toBe(200);
    const reply = await call("POST", messagesPath(room.id), { token: ada.token, body: { text: "re", replyTo: 1 } });
    expect(reply.status).toBe(201);

    const deliveries = await waitForDeliveries(key, 3);
    // The room's notifications are queued in order, so by the reply's every earlier one is in.
    const seqs = deliveries.map((d) => JSON.parse(d.text).data.seq);
    expect(seqs).toEqual([first.seq, second.seq, reply.body.message.seq]);
    const list = await call("GET", "/v1/notifications?limit=100", { token: bob.token });
    expect(list.body.notifications).toHaveLength(3);
  });
});

describe("the D1 archive", () => {
  /** The room's stored events, as the write-behind reads them. */
  const storedEvents = (roomId: string) =>
    runInDurableObject(roomStub(roomId), (_room, state) =>
      state.storage.sql
        .exec<{ seq: number; frame: string; created_at: number }>(
          `SELECT seq, frame, created_at FROM events ORDER BY seq`,
        )
        .toArray()
        .map((r): StoredEvent => ({ seq: r.seq, frame: r.frame, createdAt: r.created_at })),
    );

  const archivedRows = async (roomId: string) =>
    (
      await chatShard(roomId)
        .prepare(
          `SELECT seq, text, reply_to, edited_at IS NOT NULL AS edited, deleted_at IS NOT NULL AS deleted, change_seq
         FROM messages WHERE room_id = ? ORDER BY seq`,
        )
        .bind(roomId)
        .all()
    ).results;

  const archivedReactions = async (roomId: string) =>
    (
      await chatShard(roomId)
        .prepare(`SELECT seq, emoji, user_id FROM message_reactions WHERE room_id = ? ORDER BY seq, emoji`)
        .bind(roomId)
        .all()
    ).results;

  it("takes each change, idempotently; history after a trim shows the edited version and the tombstone", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    for (const text of ["one", "two", "three"]) await postMessage(ada, room.id, text);
    await call("POST", messagesPath(room.id), { token: bob.token, body: { text: "four", replyTo: 1 } }); // 4
    expect((await edit(ada, room.id, 1, "one, first edit")).status).toBe(200); // 5
    expect((await edit(ada, room.id, 1, "one, second edit")).status).toBe(200); // 6
    expect((await remove(ada, room.id, 2)).status).toBe(200); // 7
    expect((await react(bob, room.id, 3, { emoji: "👍" })).status).toBe(200); // 8
    expect((await react(ada, room.id, 3, { emoji: "🎉" })).status).toBe(200); // 9
    expect((await react(ada, room.id, 3, { emoji: "🎉" })).status).toBe(200); // 10: off again
    expect((await react(bob, room.id, 4, { emoji: "👀" })).status).toBe(200); // 11

    await flushOutbox(room.id);
    const expected = [
      { seq: 1, text: "one, second edit", reply_to: null, edited: 1, deleted: 0, change_seq: 6 },
      { seq: 2, text: "", reply_to: null, edited: 0, deleted: 1, change_seq: 7 },
      { seq: 3, text: "three", reply_to: null, edited: 0, deleted: 0, change_seq: null },
      { seq: 4, text: "four", reply_to: 1, edited: 0, deleted: 0, change_seq: null },
    ];
    expect(await archivedRows(room.id)).toEqual(expected);
    const reactions = [
      { seq: 3, emoji: "👍", user_id: bob.user.id },
      { seq: 4, emoji: "👀", user_id: bob.user.id },
    ];
    expect(await archivedReactions(room.id)).toEqual(reactions);

    // The copy may run twice (D1 took a batch but the watermark was lost): the rows stay as they are.
    const events = await storedEvents(room.id);
    await archiveMessages(chatShard(room.id), events);
    await archiveMessages(chatShard(room.id), events.slice(4));
    // Even an older change copied again on its own (the first edit, the reactions before the
    // delete) leaves the newer state: a change applies only above the row's change_seq.
    await archiveMessages(chatShard(room.id), [events[4]!]);
    expect(await archivedRows(room.id)).toEqual(expected);
    expect(await archivedReactions(room.id)).toEqual(reactions);

    // The room trims every event it has copied: history now comes from D1 alone.
    await runInDurableObject(roomStub(room.id), (instance) => eventStorageOf(instance).trim(0));
    expect(await roomStorage(room.id)).toMatchObject({ events: 0, lastSeq: null });
    const page = await history(bob, room.id);
    expect(page.messages).toEqual([
      expect.objectContaining({ seq: 4, text: "four", replyTo: 1, reactions: [{ emoji: "👀", count: 1, me: true }] }),
      expect.objectContaining({ seq: 3, text: "three", reactions: [{ emoji: "👍", count: 1, me: true }] }),
      {
        id: `msg_${room.id}_2`,
        roomId: room.id,
        seq: 2,
        userId: ada.user.id,
        createdAt: expect.any(Number),
        deleted: true,
        deletedAt: expect.any(Number),
      },
      expect.objectContaining({ seq: 1, text: "one, second edit", editedAt: expect.any(Number) }),
    ]);

    // Trimmed messages can still be found to edit, delete, react to and answer (from D1); a
    // trimmed seq that held another event cannot.
    const edited = await edit(ada, room.id, 3, "three, edited late");
    expect(edited.body.message).toMatchObject({ seq: 3, text: "three, edited late" });
    // History shows it at once, before the copy reaches D1...
    expect((await history(bob, room.id)).messages[1]).toMatchObject({ seq: 3, text: "three, edited late" });
    expectError(await edit(ada, room.id, 5, "x"), 404, "not_found");
    expectError(await edit(bob, room.id, 1, "x"), 403, "forbidden");
    expectError(await edit(ada, room.id, 2, "x"), 409, "conflict");
    const reply = await call("POST", messagesPath(room.id), { token: bob.token, body: { text: "re", replyTo: 3 } });
    expect(reply.body.message).toMatchObject({ seq: 13, replyTo: 3 });
    expectError(
      await call("POST", messagesPath(room.id), { token: bob.token, body: { text: "re", replyTo: 2 } }),
      409,
      "conflict",
    );
    // ...and D1 has it after.
    await flushOutbox(room.id);
    expect((await archivedRows(room.id))[2]).toEqual({
      seq: 3,
      text: "three, edited late",
      reply_to: null,
      edited: 1,
      deleted: 0,
      change_seq: 12,
    });
  });
});

describe("the client SDK", () => {
  const sdkOf = (user: TestUser) =>
    new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: user.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });

  it("replies, edits, reacts and deletes over HTTP, and over SSE sends the frames to their routes", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const adaApi = sdkOf(ada);
    const bobApi = sdkOf(bob);

    const first = await adaApi.postMessage(room.id, "first");
    const reply = await bobApi.reply(room.id, first.seq, "re: first");
    expect(reply).toMatchObject({ seq: 2, replyTo: 1, text: "re: first" });
    expect(await bobApi.editMessage(room.id, reply.seq, "re: first!")).toMatchObject({
      text: "re: first!",
      editedAt: expect.any(Number),
    });
    expect((await adaApi.react(room.id, reply.seq, "👍")).reactions).toEqual([{ emoji: "👍", count: 1, me: true }]);
    const refused = await adaApi.editMessage(room.id, reply.seq, "not mine").catch((err: unknown) => err);
    expect(isRidewireError(refused) && [refused.status, refused.code]).toEqual([403, "forbidden"]);

    // On the SSE fallback, edit, react and delete frames go as their HTTP requests with the frame id as key.
    const live = bobApi.room(room.id, { transport: "sse", since: 4 });
    const seen: string[] = [];
    for (const type of ["edit", "reaction", "delete"] as const)
      live.on(type, (frame) => seen.push(`${frame.type}:${frame.seq}`));
    await live.whenOpen();
    expect(await live.send({ type: "edit", seq: reply.seq, text: "edited over SSE" })).toEqual({
      id: expect.any(String),
    });
    await live.send({ type: "react", seq: first.seq, emoji: "🎉", on: true });
    await live.send({ type: "delete", seq: reply.seq });
    const deadline = Date.now() + 3_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    live.close();
    expect(seen).toEqual(["edit:5", "reaction:6", "delete:7"]);

    const all = await adaApi.allMessages(room.id);
    expect(all).toEqual([
      expect.objectContaining({ seq: 1, text: "first", reactions: [{ emoji: "🎉", count: 1, me: false }] }),
      expect.objectContaining({ seq: 2, deleted: true }),
    ]);
    expect(all[1]).not.toHaveProperty("text");
    expect((await adaApi.deleteMessage(room.id, first.seq)).deleted).toBe(true);
  });
});
