// Chat as people use it (issue 22): direct conversations (one room per pair, found again, never
// two), blocks (no direct messages, and a blocked user's doings hidden from the blocker in
// shared rooms, live and in history), and unread counts from read marks, through the public API.
import { isRidewireError, RidewireClient } from "../../packages/client/src";
import { describe, expect, it } from "vitest";
import { exports } from "cloudflare:workers";
import type { Room } from "../../src/protocol/common";
import {
  call,
  connect,
  connectOk,
  createRoom,
  joinRoom,
  registerUser,
  type TestSocket,
  type TestUser,
  withoutTraceId,
} from "../helpers/api";
import { expectError, flushOutbox, frameAfter, postMessage, settle, wsPath } from "../helpers/chat";

const BASE = "http://ridewire.test";

const openDirect = (user: TestUser, userId: unknown) =>
  call("POST", "/v1/rooms/direct", { token: user.token, body: { userId } });
const block = (user: TestUser, userId: unknown) =>
  call("POST", "/v1/me/blocks", { token: user.token, body: { userId } });
const unblock = (user: TestUser, userId: string) => call("DELETE", `/v1/me/blocks/${userId}`, { token: user.token });
const history = (user: TestUser, roomId: string) => call("GET", `/v1/rooms/${roomId}/messages`, { token: user.token });
const send = (user: TestUser, roomId: string, text: string) =>
  call("POST", `/v1/rooms/${roomId}/messages`, { token: user.token, body: { text } });

async function pair(): Promise<{ ada: TestUser; bob: TestUser }> {
  return { ada: await registerUser("rider", "Ada"), bob: await registerUser("driver", "Bob") };
}

async function direct(a: TestUser, b: TestUser): Promise<Room> {
  const res = await openDirect(a, b.user.id);
  expect([200, 201]).toContain(res.status);
  return res.body.room as Room;
}

async function listRooms(user: TestUser): Promise<{ rooms: (Room & { unread?: number })[]; unreadTotal: number }> {
  const res = await call("GET", "/v1/rooms", { token: user.token });
  expect(res.status).toBe(200);
  return res.body;
}

async function socketOf(user: TestUser, roomId: string, query = ""): Promise<TestSocket> {
  const socket = await connectOk(wsPath(roomId, query), user.token);
  await socket.nextOfType("welcome");
  return socket;
}

describe("direct conversations", () => {
  it("answers the same room for both orderings: 201 the first time, 200 after", async () => {
    const { ada, bob } = await pair();
    const first = await openDirect(ada, bob.user.id);
    expect(first.status).toBe(201);
    const room = first.body.room as Room;
    expect(room).toMatchObject({ kind: "direct", private: true, createdBy: ada.user.id });
    const again = await openDirect(ada, bob.user.id);
    expect(again.status).toBe(200);
    expect(again.body.room).toEqual(room);
    const reverse = await openDirect(bob, ada.user.id);
    expect(reverse.status).toBe(200);
    expect(reverse.body.room).toEqual(room);

    const members = await call("GET", `/v1/rooms/${room.id}/members`, { token: bob.token });
    expect(members.status).toBe(200);
    expect((members.body.members as { userId: string; role: string }[]).map((m) => [m.userId, m.role]).sort()).toEqual(
      [
        [ada.user.id, "member"],
        [bob.user.id, "member"],
      ].sort(),
    );
    // Both can talk in it at once, over HTTP and sockets.
    const b = await socketOf(bob, room.id);
    await postMessage(ada, room.id, "hi bob");
    expect((await b.nextOfType("message")).message).toMatchObject({ text: "hi bob", userId: ada.user.id });
    b.close();
  });

  it("makes one room under concurrent calls from both sides", async () => {
    const { ada, bob } = await pair();
    const answers = await Promise.all([
      openDirect(ada, bob.user.id),
      openDirect(bob, ada.user.id),
      openDirect(ada, bob.user.id),
      openDirect(bob, ada.user.id),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 201]);
    const ids = new Set(answers.map((a) => (a.body.room as Room).id));
    expect(ids.size).toBe(1);
    const listed = (await listRooms(ada)).rooms.filter((r) => r.kind === "direct");
    expect(listed.map((r) => r.id)).toEqual([...ids]);
  });

  it("is a different room for a different pair, and never listed to others", async () => {
    const { ada, bob } = await pair();
    const carol = await registerUser("rider", "Carol");
    const ab = await direct(ada, bob);
    const ac = await direct(ada, carol);
    expect(ab.id).not.toBe(ac.id);
    expect((await listRooms(carol)).rooms.map((r) => r.id)).toContain(ac.id);
    expect((await listRooms(carol)).rooms.map((r) => r.id)).not.toContain(ab.id);
  });

  it("refuses a third user everywhere, as if the room did not exist", async () => {
    const { ada, bob } = await pair();
    const carol = await registerUser("rider", "Carol");
    const room = await direct(ada, bob);
    await postMessage(ada, room.id, "private");
    const missing = "dm_0000000000000000000000000000000000000000";
    for (const id of [room.id, missing]) {
      expectError(await history(carol, id), 404, "not_found");
      expectError(await send(carol, id, "let me in"), 404, "not_found");
      expectError(await call("POST", `/v1/rooms/${id}/join`, { token: carol.token }), 404, "not_found");
      expectError(await call("GET", `/v1/rooms/${id}/members`, { token: carol.token }), 404, "not_found");
      expectError(
        await call("PATCH", `/v1/rooms/${id}/messages/1`, { token: carol.token, body: { text: "x" } }),
        404,
        "not_found",
      );
      const ws = await connect(wsPath(id), { token: carol.token });
      expect(ws.socket).toBeNull();
      expectError(ws as { status: number; body: unknown }, 404, "not_found");
      const poll = await exports.default.fetch(`${BASE}/v1/rooms/${id}/poll?since=0&timeout=0`, {
        headers: { Authorization: `Bearer ${carol.token}` },
      });
      expect(poll.status).toBe(404);
    }
    // The same 404 body for the real room and for one that does not exist.
    expect(withoutTraceId((await history(carol, room.id)).body)).toEqual(
      withoutTraceId((await history(carol, missing)).body),
    );
  });

  it("takes no third member, no leaving and no moderation", async () => {
    const { ada, bob } = await pair();
    const carol = await registerUser("rider", "Carol");
    const room = await direct(ada, bob);
    const add = await call("POST", `/v1/rooms/${room.id}/members`, {
      token: ada.token,
      body: { userId: carol.user.id },
    });
    expectError(add, 409, "direct_room");
    expectError(await call("POST", `/v1/rooms/${room.id}/join`, { token: ada.token }), 409, "direct_room");
    expectError(await call("POST", `/v1/rooms/${room.id}/leave`, { token: bob.token }), 409, "direct_room");
    expectError(
      await call("DELETE", `/v1/rooms/${room.id}/members/${bob.user.id}`, { token: ada.token }),
      409,
      "direct_room",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/bans`, { token: ada.token, body: { userId: bob.user.id } }),
      409,
      "direct_room",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/owner`, { token: ada.token, body: { userId: bob.user.id } }),
      409,
      "direct_room",
    );
    // Bob's message cannot be deleted by ada: nobody moderates a conversation of two.
    const message = await postMessage(bob, room.id, "mine");
    expectError(
      await call("DELETE", `/v1/rooms/${room.id}/messages/${message.seq}`, { token: ada.token }),
      403,
      "forbidden",
    );
    const members = await call("GET", `/v1/rooms/${room.id}/members`, { token: ada.token });
    expect((members.body.members as unknown[]).length).toBe(2);
  });

  it("refuses yourself, unknown users and hostile bodies", async () => {
    const { ada } = await pair();
    expectError(await openDirect(ada, ada.user.id), 400, "invalid_request");
    expectError(await openDirect(ada, "usr_doesnotexist"), 404, "not_found");
    // The same answer as adding an unknown user to a room: nothing more is learnt here.
    const room = await createRoom(ada);
    const add = await call("POST", `/v1/rooms/${room.id}/members`, {
      token: ada.token,
      body: { userId: "usr_doesnotexist" },
    });
    expect(withoutTraceId(add.body)).toEqual(withoutTraceId((await openDirect(ada, "usr_doesnotexist")).body));
    for (const userId of [undefined, null, 42, "", "x".repeat(65), { $ne: null }, ["a"]])
      expectError(await openDirect(ada, userId), 400, "invalid_request");
    expectError(await call("POST", "/v1/rooms/direct", { token: ada.token, body: "not json" }), 400, "invalid_request");
    expectError(await call("POST", "/v1/rooms/direct", { body: { userId: ada.user.id } }), 401, "unauthorized");
  });
});

describe("blocks", () => {
  it("blocks, lists and unblocks, with clear errors", async () => {
    const { ada, bob } = await pair();
    const first = await block(ada, bob.user.id);
    expect(first.status).toBe(201);
    expect(first.body.block).toMatchObject({ userId: bob.user.id, name: "Bob", blockedAt: expect.any(Number) });
    expect((await block(ada, bob.user.id)).status).toBe(200);
    const list = await call("GET", "/v1/me/blocks", { token: ada.token });
    expect(list.body.blocks).toEqual([first.body.block]);
    expect((await call("GET", "/v1/me/blocks", { token: bob.token })).body.blocks).toEqual([]);

    expectError(await block(ada, ada.user.id), 400, "invalid_request");
    expectError(await block(ada, "usr_nobody"), 404, "not_found");
    for (const userId of [undefined, 7, "", "y".repeat(65)])
      expectError(await block(ada, userId), 400, "invalid_request");
    expectError(await call("DELETE", "/v1/me/blocks/bad%20id", { token: ada.token }), 400, "invalid_request");

    expect((await unblock(ada, bob.user.id)).status).toBe(204);
    expectError(await unblock(ada, bob.user.id), 404, "not_found");
    expect((await call("GET", "/v1/me/blocks", { token: ada.token })).body.blocks).toEqual([]);
  });

  it("stops direct messages both ways; unblocking restores them", async () => {
    const { ada, bob } = await pair();
    const room = await direct(ada, bob);
    const b = await socketOf(bob, room.id);
    expect((await block(ada, bob.user.id)).status).toBe(201);

    // Bob, who is blocked, can neither open the conversation nor send in it.
    expectError(await openDirect(bob, ada.user.id), 403, "blocked");
    expectError(await send(bob, room.id, "hello?"), 403, "blocked");
    b.send({ type: "message", id: "m1", text: "over the socket" });
    expect(await b.next((f) => f.type === "error" && f.id === "m1")).toMatchObject({ code: "blocked" });
    // Ada, who blocks, must unblock first; she can still open and read it.
    expectError(await send(ada, room.id, "bye"), 403, "blocked");
    expect((await openDirect(ada, bob.user.id)).status).toBe(200);
    expect((await history(ada, room.id)).status).toBe(200);

    expect((await unblock(ada, bob.user.id)).status).toBe(204);
    expect((await send(bob, room.id, "friends again")).status).toBe(201);
    expect((await b.nextOfType("message")).message.text).toBe("friends again");
    b.close();
  });

  it("a block made before the conversation holds in it", async () => {
    const { ada, bob } = await pair();
    expect((await block(bob, ada.user.id)).status).toBe(201);
    expectError(await openDirect(ada, bob.user.id), 403, "blocked");
    // Bob may open it (he blocks, he is not blocked) but not send until he unblocks.
    const room = await direct(bob, ada);
    expectError(await send(bob, room.id, "hi"), 403, "blocked");
    expectError(await send(ada, room.id, "hi"), 403, "blocked");
  });

  it("hides a blocked user's messages in a shared group room, live, in replay, polls and history", async () => {
    const { ada, bob } = await pair();
    const carol = await registerUser("rider", "Carol");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    await joinRoom(carol, room.id);
    const before = await postMessage(bob, room.id, "before the block");
    const a = await socketOf(ada, room.id);
    const c = await socketOf(carol, room.id);

    expect((await block(ada, bob.user.id)).status).toBe(201);
    const from = a.frames.length;
    const fromCarol = c.frames.length;
    const hidden = await postMessage(bob, room.id, "you cannot see me");
    const seen = await postMessage(carol, room.id, "but this you see");
    await settle(a);
    // Stored frames only (a `delivered` frame carries a member's mark, not a stored event's seq).
    const live = a.frames.slice(from).filter((f) => f.seq !== undefined && f.type !== "delivered");
    // Ada gets the seq of bob's message with nothing of it, so her cursor has no gap.
    expect(live).toEqual([
      { type: "hidden", seq: hidden.seq },
      expect.objectContaining({ type: "message", seq: seen.seq }),
    ]);
    expect(JSON.stringify(live)).not.toContain("you cannot see me");
    // Carol, who blocks nobody, sees both.
    await frameAfter(c, fromCarol, (f) => f.type === "message" && f.seq === seen.seq);
    expect(
      c.frames
        .slice(fromCarol)
        .filter((f) => f.type === "message")
        .map((f) => f.message.text),
    ).toEqual(["you cannot see me", "but this you see"]);

    // A reaction and an edit by bob are hidden too.
    const reacted = await call("POST", `/v1/rooms/${room.id}/messages/${seen.seq}/reactions`, {
      token: bob.token,
      body: { emoji: "👍" },
    });
    expect(reacted.status).toBe(200);
    const afterReact = a.frames.length;
    await settle(a);
    expect(a.frames.slice(afterReact - 1).some((f) => f.type === "reaction")).toBe(false);

    // History leaves bob's messages out, the old ones too, for ada only.
    const texts = (user: TestUser) =>
      history(user, room.id).then((r) => (r.body.messages as { text: string }[]).map((m) => m.text));
    expect(await texts(ada)).toEqual(["but this you see"]);
    expect(await texts(carol)).toEqual(["but this you see", "you cannot see me", "before the block"]);

    // A resume replays with the same placeholders.
    const resumed = await connectOk(wsPath(room.id, `?since=${before.seq}`), ada.token);
    await resumed.nextOfType("synced");
    const replayed = resumed.frames.filter((f) => f.seq !== undefined && f.type !== "welcome" && f.type !== "synced");
    expect(replayed.map((f) => f.type)).toEqual(["hidden", "message", "hidden"]);
    expect(JSON.stringify(resumed.frames)).not.toContain("you cannot see me");
    resumed.close();

    // A long poll and an SSE stream read the same view.
    const poll = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/poll?since=${before.seq}&timeout=0`, {
      headers: { Authorization: `Bearer ${ada.token}` },
    });
    const polled = (await poll.json()) as { events: { type: string }[] };
    expect(polled.events.map((e) => e.type)).toEqual(["hidden", "message", "hidden"]);
    const sse = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/events`, {
      headers: { Authorization: `Bearer ${ada.token}`, "Last-Event-ID": String(before.seq) },
    });
    expect(sse.status).toBe(200);
    const reader = sse.body?.getReader();
    let streamed = "";
    while (reader && !streamed.includes('"type":"synced"')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      streamed += new TextDecoder().decode(chunk.value);
    }
    await reader?.cancel();
    expect(streamed).toContain(`id: ${hidden.seq}\ndata: {"type":"hidden","seq":${hidden.seq}}`);
    expect(streamed).not.toContain("you cannot see me");

    // Unblocking shows everything again, live and in history.
    expect((await unblock(ada, bob.user.id)).status).toBe(204);
    const afterUnblock = a.frames.length;
    await postMessage(bob, room.id, "visible again");
    await frameAfter(a, afterUnblock, (f) => f.type === "message" && f.message.text === "visible again");
    expect(await texts(ada)).toEqual(["visible again", "but this you see", "you cannot see me", "before the block"]);
    a.close();
    c.close();
  });

  it("sends a live SSE stream the hidden frame, and others the message", async () => {
    const { ada, bob } = await pair();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    expect((await block(ada, bob.user.id)).status).toBe(201);
    const open = async (user: TestUser) => {
      const res = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/events`, {
        headers: { Authorization: `Bearer ${user.token}` },
      });
      expect(res.status).toBe(200);
      const reader = res.body?.getReader();
      if (!reader) throw new Error("no stream");
      let text = "";
      const until = async (needle: string) => {
        const deadline = Date.now() + 3_000;
        while (!text.includes(needle)) {
          if (Date.now() > deadline) throw new Error(`no ${needle} in ${text}`);
          const chunk = await reader.read();
          if (chunk.done) throw new Error(`stream ended: ${text}`);
          text += new TextDecoder().decode(chunk.value);
        }
        return text;
      };
      await until('"type":"welcome"');
      return { until, close: () => reader.cancel() };
    };
    const adaStream = await open(ada);
    const bobStream = await open(bob);
    const posted = await postMessage(bob, room.id, "not for ada");
    const adaSaw = await adaStream.until(`id: ${posted.seq}\n`);
    expect(adaSaw).toContain(`id: ${posted.seq}\ndata: {"type":"hidden","seq":${posted.seq}}`);
    expect(adaSaw).not.toContain("not for ada");
    expect(await bobStream.until(`id: ${posted.seq}\n`)).toContain("not for ada");
    await adaStream.close();
    await bobStream.close();
  });

  it("applies a block to a room its blocker joins later, and forgets it when they leave", async () => {
    const { ada, bob } = await pair();
    const room = await createRoom(bob);
    expect((await block(ada, bob.user.id)).status).toBe(201);
    await joinRoom(ada, room.id);
    await postMessage(bob, room.id, "hidden from ada");
    expect((await history(ada, room.id)).body.messages).toEqual([]);
    // She leaves, unblocks meanwhile, and joins again: bob is visible.
    expect((await call("POST", `/v1/rooms/${room.id}/leave`, { token: ada.token })).status).toBe(200);
    expect((await unblock(ada, bob.user.id)).status).toBe(204);
    await joinRoom(ada, room.id);
    expect((await history(ada, room.id)).body.messages).toHaveLength(1);
  });
});

describe("unread counts", () => {
  it("move with messages and read marks, per room and in total", async () => {
    const { ada, bob } = await pair();
    const group = await createRoom(ada);
    await joinRoom(bob, group.id);
    const dm = await direct(ada, bob);
    const unreadOf = async (user: TestUser) => {
      const listed = await listRooms(user);
      const of = (id: string) => listed.rooms.find((r) => r.id === id)?.unread;
      return { group: of(group.id), dm: of(dm.id), total: listed.unreadTotal };
    };
    expect(await unreadOf(bob)).toEqual({ group: 0, dm: 0, total: 0 });

    await postMessage(ada, group.id, "one");
    await postMessage(ada, group.id, "two");
    const last = await postMessage(ada, dm.id, "psst");
    // Her own messages are never unread for her.
    await postMessage(bob, group.id, "mine");
    await flushOutbox(group.id);
    await flushOutbox(dm.id);
    expect(await unreadOf(bob)).toEqual({ group: 2, dm: 1, total: 3 });
    expect(await unreadOf(ada)).toEqual({ group: 1, dm: 0, total: 1 });

    // Bob reads the direct conversation over his socket; the mark reaches D1 behind.
    const b = await socketOf(bob, dm.id);
    b.send({ type: "read", id: "r1", seq: last.seq });
    await b.next((f) => f.type === "ack" && f.id === "r1");
    await flushOutbox(dm.id);
    expect(await unreadOf(bob)).toEqual({ group: 2, dm: 0, total: 2 });
    b.close();

    // A deleted message is not unread; a public room bob never joined has no count.
    const messages = (await history(bob, group.id)).body.messages as { seq: number; text: string }[];
    const one = messages.find((m) => m.text === "one");
    expect((await call("DELETE", `/v1/rooms/${group.id}/messages/${one?.seq}`, { token: ada.token })).status).toBe(200);
    await flushOutbox(group.id);
    const other = await createRoom(ada);
    await postMessage(ada, other.id, "elsewhere");
    await flushOutbox(other.id);
    const listed = await listRooms(bob);
    expect(listed.rooms.find((r) => r.id === other.id)).not.toHaveProperty("unread");
    expect(await unreadOf(bob)).toEqual({ group: 1, dm: 0, total: 1 });
  });

  it("take read marks over HTTP too, with hostile inputs refused", async () => {
    const { ada, bob } = await pair();
    const carol = await registerUser("rider", "Carol");
    const dm = await direct(ada, bob);
    const group = await createRoom(ada);
    await postMessage(ada, dm.id, "one");
    const two = await postMessage(ada, dm.id, "two");
    const read = (user: TestUser, roomId: string, body: unknown) =>
      call("POST", `/v1/rooms/${roomId}/read`, { token: user.token, body });
    const b = await socketOf(bob, dm.id);
    const from = b.frames.length;
    expect((await read(bob, dm.id, { seq: 1 })).body).toEqual({ roomId: dm.id, seq: 1 });
    await frameAfter(b, from, (f) => f.type === "read" && f.userId === bob.user.id && f.seq === 1);
    // Never back, never past the newest event.
    expect((await read(bob, dm.id, { seq: 0 })).body.seq).toBe(1);
    expect((await read(bob, dm.id, { seq: Number.MAX_SAFE_INTEGER })).body.seq).toBe(two.seq);
    await flushOutbox(dm.id);
    expect((await listRooms(bob)).rooms.find((r) => r.id === dm.id)?.unread).toBe(0);

    for (const body of [{}, { seq: -1 }, { seq: 1.5 }, { seq: "1" }, { seq: 2 ** 60 }, null])
      expectError(await read(bob, dm.id, body), 400, "invalid_request");
    expectError(await read(carol, dm.id, { seq: 1 }), 404, "not_found");
    expectError(await read(carol, group.id, { seq: 1 }), 403, "forbidden");
    expectError(await read(carol, "room_nope", { seq: 1 }), 404, "not_found");
    b.close();
  });

  it("start at the join: what came before a new member is not unread to them", async () => {
    const { ada, bob } = await pair();
    const group = await createRoom(ada);
    await postMessage(ada, group.id, "old news");
    await joinRoom(bob, group.id);
    await postMessage(ada, group.id, "fresh");
    await flushOutbox(group.id);
    expect((await listRooms(bob)).rooms.find((r) => r.id === group.id)?.unread).toBe(1);
  });

  it("does not count messages from a user you block", async () => {
    const { ada, bob } = await pair();
    const group = await createRoom(ada);
    await joinRoom(bob, group.id);
    await postMessage(ada, group.id, "noise");
    await flushOutbox(group.id);
    expect((await listRooms(bob)).unreadTotal).toBe(1);
    expect((await block(bob, ada.user.id)).status).toBe(201);
    expect((await listRooms(bob)).unreadTotal).toBe(0);
  });

  it("read marks never move back nor past the newest message", async () => {
    const { ada, bob } = await pair();
    const dm = await direct(ada, bob);
    await postMessage(ada, dm.id, "a");
    const second = await postMessage(ada, dm.id, "b");
    const b = await socketOf(bob, dm.id);
    b.send({ type: "read", id: "far", seq: 1_000_000 });
    await b.next((f) => f.type === "ack" && f.id === "far");
    b.send({ type: "read", id: "back", seq: 1 });
    await b.next((f) => f.type === "ack" && f.id === "back");
    await flushOutbox(dm.id);
    expect((await listRooms(bob)).rooms.find((r) => r.id === dm.id)?.unread).toBe(0);
    // A later message counts: the mark stopped at the newest one, not at a million.
    await postMessage(ada, dm.id, "c");
    await flushOutbox(dm.id);
    expect((await listRooms(bob)).rooms.find((r) => r.id === dm.id)?.unread).toBe(1);
    expect(second.seq).toBeGreaterThan(0);
    b.close();
  });
});

describe("the client SDK", () => {
  const sdk = (user: TestUser) =>
    new RidewireClient({
      baseUrl: BASE,
      token: user.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });

  it("opens direct rooms, blocks and unblocks, and lists unread counts", async () => {
    const { ada, bob } = await pair();
    const room = await sdk(ada).directRoom(bob.user.id);
    expect(room.kind).toBe("direct");
    expect((await sdk(bob).directRoom(ada.user.id)).id).toBe(room.id);
    await postMessage(ada, room.id, "hello");
    await flushOutbox(room.id);
    const list = await sdk(bob).roomList();
    expect(list.unreadTotal).toBe(1);
    expect(list.rooms.find((r) => r.id === room.id)?.unread).toBe(1);
    expect(await sdk(bob).markRead(room.id, 1)).toBe(1);
    await flushOutbox(room.id);
    expect((await sdk(bob).roomList()).unreadTotal).toBe(0);
    expect((await sdk(bob).rooms()).map((r) => r.id)).toContain(room.id);

    expect((await sdk(bob).block(ada.user.id)).userId).toBe(ada.user.id);
    expect((await sdk(bob).blocks()).map((b) => b.userId)).toEqual([ada.user.id]);
    const refused = await sdk(ada)
      .directRoom(bob.user.id)
      .catch((err: unknown) => err);
    expect(isRidewireError(refused) && refused.code).toBe("blocked");
    await sdk(bob).unblock(ada.user.id);
    expect(await sdk(bob).blocks()).toEqual([]);
    expect((await sdk(ada).directRoom(bob.user.id)).id).toBe(room.id);
  });
});
