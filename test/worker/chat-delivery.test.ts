// Delivery state (issue 22), through the public API: each message sent → delivered (a socket, an
// SSE stream, a long poll or a push reached the recipient) → read, per message in a direct
// conversation and as counts in a group; the marks survive an eviction; a block hides them.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { chatNotification } from "../../src/notify/message";
import type { Message, Room } from "../../src/protocol/common";
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
import { expectError, frameAfter, framesOf, postMessage, roomStub, settle, wsPath } from "../helpers/chat";
import { waitFor } from "../helpers/dispatch";
import { hookUrl, runQueue, waitForDeliveries } from "../helpers/notify";

type Receipt = { seq: number; deliveredTo: number; readBy: number };
type Page = {
  messages: Message[];
  receipts: Receipt[];
  peer?: { userId: string; deliveredThrough: number; readThrough: number } | null;
};

async function direct(a: TestUser, b: TestUser): Promise<Room> {
  const res = await call("POST", "/v1/rooms/direct", { token: a.token, body: { userId: b.user.id } });
  expect(res.status).toBe(201);
  return res.body.room as Room;
}

async function history(user: TestUser, roomId: string): Promise<Page> {
  const res = await call("GET", `/v1/rooms/${roomId}/messages`, { token: user.token });
  expect(res.status).toBe(200);
  const page = res.body as Page;
  // History is newest first; the receipts follow its order. Oldest first reads better here.
  expect(page.receipts).toEqual([...page.receipts].sort((x, y) => y.seq - x.seq));
  return { ...page, receipts: [...page.receipts].reverse() };
}

async function socketOf(user: TestUser, roomId: string, query = ""): Promise<TestSocket> {
  const socket = await connectOk(wsPath(roomId, query), user.token);
  await socket.nextOfType("welcome");
  return socket;
}

/** The `delivered` frame for `userId` through at least `seq`, received on `socket` from index `from`. */
const deliveredFrame = (socket: TestSocket, from: number, userId: string, seq: number) =>
  frameAfter(socket, from, (f) => f.type === "delivered" && f.userId === userId && f.seq >= seq);

/** Waits for `userId`'s presence join on `socket`, from index `from`. */
const joined = (socket: TestSocket, from: number, userId: string) =>
  frameAfter(socket, from, (f) => f.type === "presence" && f.event === "join" && f.userId === userId);

const poll = (user: TestUser, roomId: string, since: number, timeout = 0) =>
  call("GET", `/v1/rooms/${roomId}/poll?since=${since}&timeout=${timeout}`, { token: user.token });

/** Opens an SSE stream and reads until its welcome arrived; `close` cancels it. */
async function openStream(user: TestUser, roomId: string): Promise<{ text: () => string; close: () => void }> {
  const res = await exports.default.fetch(`http://ridewire.test/v1/rooms/${roomId}/events`, {
    headers: { Accept: "text/event-stream", Authorization: `Bearer ${user.token}` },
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"welcome"')) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`the stream ended: ${text}`);
    text += decoder.decode(chunk.value, { stream: true });
  }
  return { text: () => text, close: () => void reader.cancel().catch(() => undefined) };
}

describe("delivery state in a direct conversation", () => {
  it("goes sent → delivered (the recipient's socket) → read, per message, live and in history", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const a = await socketOf(ada, room.id);

    // Sent: stored and acknowledged, and Bob has no device connected.
    const first = await postMessage(ada, room.id, "are you there?");
    let page = await history(ada, room.id);
    expect(page.receipts).toEqual([{ seq: first.seq, deliveredTo: 0, readBy: 0 }]);
    expect(page.peer).toEqual({ userId: bob.user.id, deliveredThrough: 0, readThrough: 0 });

    // Delivered: Bob's socket opens (its welcome carries the room through seq 1); Ada hears of it
    // as his presence, with no `delivered` frame (an online member's mark is the room's seq).
    const from = a.frames.length;
    const b = await socketOf(bob, room.id);
    await joined(a, from, bob.user.id);
    await settle(a);
    expect(framesOf(a, "delivered", from)).toEqual([]);
    page = await history(ada, room.id);
    expect(page.receipts).toEqual([{ seq: first.seq, deliveredTo: 1, readBy: 0 }]);
    expect(page.peer).toMatchObject({ deliveredThrough: first.seq, readThrough: 0 });

    // While Bob is online, a new message reaches him as it is sent.
    const second = await postMessage(ada, room.id, "ok, see you");
    await b.nextOfType("message");
    page = await history(ada, room.id);
    expect(page.receipts).toContainEqual({ seq: second.seq, deliveredTo: 1, readBy: 0 });
    expect(page.peer).toMatchObject({ deliveredThrough: second.seq });

    // Read: Bob's read mark covers the first message only, then both.
    const beforeRead = a.frames.length;
    b.send({ type: "read", seq: first.seq });
    await frameAfter(a, beforeRead, (f) => f.type === "read" && f.userId === bob.user.id && f.seq === first.seq);
    page = await history(ada, room.id);
    expect(page.receipts).toEqual(
      expect.arrayContaining([
        { seq: first.seq, deliveredTo: 1, readBy: 1 },
        { seq: second.seq, deliveredTo: 1, readBy: 0 },
      ]),
    );
    expect(
      (await call("POST", `/v1/rooms/${room.id}/read`, { token: bob.token, body: { seq: second.seq } })).status,
    ).toBe(200);
    page = await history(ada, room.id);
    expect(page.receipts.every((r) => r.readBy === 1 && r.deliveredTo === 1)).toBe(true);
    expect(page.peer).toEqual({ userId: bob.user.id, deliveredThrough: second.seq, readThrough: second.seq });

    // Bob sent nothing: no receipts of his own; he sees Ada's marks (she is online, so through seq 2).
    const bobs = await history(bob, room.id);
    expect(bobs.receipts).toEqual([]);
    expect(bobs.peer).toMatchObject({ userId: ada.user.id, deliveredThrough: second.seq });

    // A stranger learns nothing (the conversation does not exist for them).
    const stranger = await registerUser();
    expectError(await call("GET", `/v1/rooms/${room.id}/messages`, { token: stranger.token }), 404, "not_found");
    a.close();
    b.close();
  });

  it("counts a long poll's answer as delivered, at once and after a wait", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const a = await socketOf(ada, room.id);
    const first = await postMessage(ada, room.id, "one");

    const from = a.frames.length;
    const answered = await poll(bob, room.id, 0);
    expect(answered.status).toBe(200);
    expect(answered.body.seq).toBe(first.seq);
    await deliveredFrame(a, from, bob.user.id, first.seq);
    expect((await history(ada, room.id)).peer).toMatchObject({ deliveredThrough: first.seq });

    // A poll that waits is answered by the next message, and delivers it.
    const waiting = poll(bob, room.id, first.seq, 10);
    const second = await postMessage(ada, room.id, "two");
    expect((await waiting).body.seq).toBe(second.seq);
    expect((await history(ada, room.id)).receipts).toContainEqual({ seq: second.seq, deliveredTo: 1, readBy: 0 });

    // A poll with nothing new delivers nothing new, and a poll from the future is a reset, not a mark past the log.
    expect((await poll(bob, room.id, second.seq)).body).toEqual({ events: [], seq: second.seq });
    expect((await poll(bob, room.id, 999)).body).toEqual({
      events: [{ type: "reset", seq: second.seq }],
      seq: second.seq,
    });
    expect((await history(ada, room.id)).peer).toMatchObject({ deliveredThrough: second.seq });
    a.close();
  });

  it("counts an SSE stream as delivered, and keeps the mark once it closes", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const a = await socketOf(ada, room.id);
    const first = await postMessage(ada, room.id, "before the stream");

    const from = a.frames.length;
    const stream = await openStream(bob, room.id);
    await joined(a, from, bob.user.id);
    expect((await history(ada, room.id)).peer).toMatchObject({ deliveredThrough: first.seq });
    const second = await postMessage(ada, room.id, "while it is open");
    expect((await history(ada, room.id)).receipts).toContainEqual({ seq: second.seq, deliveredTo: 1, readBy: 0 });

    const leaving = a.frames.length;
    stream.close();
    await frameAfter(a, leaving, (f) => f.type === "presence" && f.event === "leave" && f.userId === bob.user.id);
    const third = await postMessage(ada, room.id, "after it closed");
    const page = await history(ada, room.id);
    expect(page.peer).toMatchObject({ deliveredThrough: second.seq });
    expect(page.receipts).toContainEqual({ seq: third.seq, deliveredTo: 0, readBy: 0 });
    a.close();
  });

  it("counts a push the notifications consumer delivered, and ignores one for a non-member", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const key = unique("hook");
    const device = await call("POST", "/v1/devices", {
      token: bob.token,
      body: { kind: "webhook", url: hookUrl(key) },
    });
    expect(device.status).toBe(201);
    const message = await postMessage(ada, room.id, "ping by push");

    // Bob has no socket, so the room queued this very notification on the real queue too: whichever consumer takes
    // it first pushes it and reports the delivery; the other finds it delivered, or retries it while the first holds
    // its lease. Either way: one push, and the mark.
    await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("q"), body: chatNotification(message, bob.user.id, "Ada") }]);
    await waitFor("Bob's delivered mark", async () =>
      (await history(ada, room.id)).peer?.deliveredThrough === message.seq ? true : undefined,
    );
    expect((await history(ada, room.id)).peer).toMatchObject({ deliveredThrough: message.seq, readThrough: 0 });
    expect(await waitForDeliveries(key, 1)).toHaveLength(1);

    // A notification naming someone outside the room (a forged or stale one) gives nobody a mark. Bob's device goes
    // first, so that the room's own push of the next message (Bob is still offline) reaches nobody either.
    expect((await call("DELETE", `/v1/devices/${device.body.device.id}`, { token: bob.token })).status).toBe(204);
    const carol = await registerUser();
    await call("POST", "/v1/devices", { token: carol.token, body: { kind: "webhook", url: hookUrl(unique("hook")) } });
    const later = await postMessage(ada, room.id, "not for carol");
    await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("q"), body: chatNotification(later, carol.user.id, "Ada") }]);
    const page = await history(ada, room.id);
    expect(page.receipts).toContainEqual({ seq: later.seq, deliveredTo: 0, readBy: 0 });
    expect(page.peer).toMatchObject({ userId: bob.user.id, deliveredThrough: message.seq });
  });

  it("keeps the marks across an eviction: closed sockets and hibernated ones", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const b = await socketOf(bob, room.id);
    const first = await postMessage(ada, room.id, "one");
    await b.nextOfType("message");

    // Bob's socket hibernates with the room: he is still online after the wake, and still gets messages.
    await evictDurableObject(roomStub(room.id), { webSockets: "hibernate" });
    const second = await postMessage(ada, room.id, "two");
    await b.nextOfType("message");
    expect((await history(ada, room.id)).peer).toMatchObject({ deliveredThrough: second.seq });

    // The room's alarm (due after each message) stores what being online implied; then every
    // socket closes with the object, with no close event: the mark stays where it was, in storage.
    await runDurableObjectAlarm(roomStub(room.id));
    await evictDurableObject(roomStub(room.id), { webSockets: "close" });
    await b.waitClosed();
    const third = await postMessage(ada, room.id, "three");
    let page = await history(ada, room.id);
    expect(page.peer).toMatchObject({ deliveredThrough: second.seq });
    expect(page.receipts).toEqual(
      expect.arrayContaining([
        { seq: first.seq, deliveredTo: 1, readBy: 0 },
        { seq: third.seq, deliveredTo: 0, readBy: 0 },
      ]),
    );

    // A welcome carries the marks; Bob resuming with `since` has the rest delivered.
    const a = await connectOk(wsPath(room.id), ada.token);
    expect(await a.nextOfType("welcome")).toMatchObject({ delivered: { [bob.user.id]: second.seq } });
    const from = a.frames.length;
    const b2 = await connectOk(wsPath(room.id, `?since=${second.seq}`), bob.token);
    expect((await b2.nextOfType("message")).message.text).toBe("three");
    await joined(a, from, bob.user.id);
    page = await history(ada, room.id);
    expect(page.receipts.map((r) => r.deliveredTo)).toEqual([1, 1, 1]);
    a.close();
    b2.close();
  });

  it("hides the other member's marks while they block the caller", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const room = await direct(ada, bob);
    const message = await postMessage(ada, room.id, "hello");
    expect(
      (await call("POST", `/v1/rooms/${room.id}/read`, { token: bob.token, body: { seq: message.seq } })).status,
    ).toBe(200);
    expect((await history(ada, room.id)).peer).toMatchObject({ readThrough: message.seq });

    expect((await call("POST", "/v1/me/blocks", { token: bob.token, body: { userId: ada.user.id } })).status).toBe(201);
    const page = await history(ada, room.id);
    expect(page.peer).toBeNull();
    expect(page.receipts).toEqual([{ seq: message.seq, deliveredTo: 0, readBy: 0 }]);
    // Nor do frames tell her: Bob's poll moves his mark, and no `delivered` frame reaches Ada.
    const a = await socketOf(ada, room.id);
    const from = a.frames.length;
    expect((await poll(bob, room.id, 0)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 250)); // past the frames' coalescing delay
    await settle(a);
    expect(framesOf(a, "delivered", from)).toEqual([]);
    expect((await history(bob, room.id)).peer).toMatchObject({ userId: ada.user.id });
    a.close();
    // The blocker still sees the blocked user's marks: the block hides what Bob does, not what Ada does.
    expect((await history(bob, room.id)).peer).toMatchObject({ userId: ada.user.id });

    expect((await call("DELETE", `/v1/me/blocks/${ada.user.id}`, { token: bob.token })).status).toBe(204);
    expect((await history(ada, room.id)).peer).toMatchObject({ readThrough: message.seq });
  });
});

describe("delivery state in a group room", () => {
  it("counts delivered and read per message of the caller's, without members who block them", async () => {
    const ada = await registerUser("rider", "Ada");
    const [bob, carol, dave] = [await registerUser(), await registerUser(), await registerUser()];
    const room = await createRoom(ada);
    for (const user of [bob, carol, dave]) await joinRoom(user, room.id);
    const b = await socketOf(bob, room.id);

    const first = await postMessage(ada, room.id, "one");
    const second = await postMessage(ada, room.id, "two");
    const own = await postMessage(bob, room.id, "bob's");
    // Bob is online; Carol polls; Dave is away.
    expect((await poll(carol, room.id, 0)).status).toBe(200);
    let page = await history(ada, room.id);
    expect(page.peer).toBeUndefined();
    // Only Ada's own messages have receipts; Bob's is not hers to follow.
    expect(page.receipts).toEqual([
      { seq: first.seq, deliveredTo: 2, readBy: 0 },
      { seq: second.seq, deliveredTo: 2, readBy: 0 },
    ]);
    // Bob's reached Carol's poll; Ada posts over HTTP with nothing open, so it has not reached her.
    expect((await history(bob, room.id)).receipts).toEqual([{ seq: own.seq, deliveredTo: 1, readBy: 0 }]);

    // Bob reads the first; Dave reads both over HTTP (reading counts as delivered too).
    b.send({ type: "read", id: "r1", seq: first.seq });
    await b.nextOfType("ack");
    expect(
      (await call("POST", `/v1/rooms/${room.id}/read`, { token: dave.token, body: { seq: own.seq } })).status,
    ).toBe(200);
    page = await history(ada, room.id);
    expect(page.receipts).toEqual([
      { seq: first.seq, deliveredTo: 3, readBy: 2 },
      { seq: second.seq, deliveredTo: 3, readBy: 1 },
    ]);

    // Dave blocks Ada: he no longer counts for her messages.
    expect((await call("POST", "/v1/me/blocks", { token: dave.token, body: { userId: ada.user.id } })).status).toBe(
      201,
    );
    page = await history(ada, room.id);
    expect(page.receipts).toEqual([
      { seq: first.seq, deliveredTo: 2, readBy: 1 },
      { seq: second.seq, deliveredTo: 2, readBy: 0 },
    ]);
    await settle(b);
    b.close();
  });
});
