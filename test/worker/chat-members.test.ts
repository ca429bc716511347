// Membership of chat rooms (issue 22, "Conversations and membership"), through the public API:
// roles (owner, admin, member), leave, remove, promote and demote, transfer of ownership, bans and
// the room size limit. Each change of membership is a `member` event on the room's log, so it
// reaches sockets, SSE and long polls and resumes; a member who is gone loses every connection
// to the room at once (close code 4403) and every read and write after it.
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { MEMBERSHIP_ENDED_CLOSE_CODE } from "../../src/protocol/frames";
import {
  call,
  connect,
  connectOk,
  createRoom,
  joinRoom,
  registerUser,
  type TestSocket,
  type TestUser,
  unique,
} from "../helpers/api";
import { expectError, frameAfter, postMessage, roomStub, wsPath } from "../helpers/chat";

const BASE = "http://ridewire.test";

/** A room with its owner ada and members bob, carol and dan (private rooms add them, public ones let them join). */
async function roomOfFour(options: { private?: boolean } = {}) {
  const ada = await registerUser("rider", "Ada");
  const bob = await registerUser("rider", "Bob");
  const carol = await registerUser("rider", "Carol");
  const dan = await registerUser("driver", "Dan");
  const room = await createRoom(ada, options);
  for (const user of [bob, carol, dan]) {
    if (options.private) {
      const res = await call("POST", `/v1/rooms/${room.id}/members`, {
        token: ada.token,
        body: { userId: user.user.id },
      });
      expect(res.status).toBe(200);
    } else await joinRoom(user, room.id);
  }
  return { roomId: room.id, ada, bob, carol, dan };
}

const removeMember = (actor: TestUser, roomId: string, userId: string) =>
  call("DELETE", `/v1/rooms/${roomId}/members/${userId}`, { token: actor.token });
const setRole = (actor: TestUser, roomId: string, userId: string, role: unknown) =>
  call("PATCH", `/v1/rooms/${roomId}/members/${userId}`, { token: actor.token, body: { role } });
const transfer = (actor: TestUser, roomId: string, userId: string) =>
  call("POST", `/v1/rooms/${roomId}/owner`, { token: actor.token, body: { userId } });
const ban = (actor: TestUser, roomId: string, userId: string) =>
  call("POST", `/v1/rooms/${roomId}/bans`, { token: actor.token, body: { userId } });
const unban = (actor: TestUser, roomId: string, userId: string) =>
  call("DELETE", `/v1/rooms/${roomId}/bans/${userId}`, { token: actor.token });
const leave = (user: TestUser, roomId: string) => call("POST", `/v1/rooms/${roomId}/leave`, { token: user.token });

async function rolesOf(user: TestUser, roomId: string): Promise<Record<string, string>> {
  const res = await call("GET", `/v1/rooms/${roomId}/members`, { token: user.token });
  expect(res.status).toBe(200);
  const members = res.body.members as { userId: string; role: string }[];
  return Object.fromEntries(members.map((m) => [m.userId, m.role]));
}

async function welcomed(user: TestUser, roomId: string, query = ""): Promise<TestSocket> {
  const socket = await connectOk(wsPath(roomId, query), user.token);
  await socket.nextOfType("welcome");
  return socket;
}

/** The next `member` frame on a socket from index `from` on. */
const memberFrame = (socket: TestSocket, from = 0) => frameAfter(socket, from, (f) => f.type === "member");

/** Reads an SSE response until it ends; rejects after `timeoutMs`. Returns the text it carried. */
async function readToEnd(res: Response, timeoutMs = 3_000): Promise<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`stream still open; got ${text}`);
    const read = await Promise.race([
      reader.read(),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), left)),
    ]);
    if (read === null) continue;
    if (read.done) return text;
    text += read.value;
  }
}

function openEvents(user: TestUser, roomId: string, lastEventId?: string): Promise<Response> {
  return exports.default.fetch(`${BASE}/v1/rooms/${roomId}/events`, {
    headers: {
      Authorization: `Bearer ${user.token}`,
      Accept: "text/event-stream",
      ...(lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId }),
    },
  });
}

const poll = (user: TestUser, roomId: string, since: number, timeout = 0) =>
  call("GET", `/v1/rooms/${roomId}/poll?since=${since}&timeout=${timeout}`, { token: user.token });

describe("roles", () => {
  it("the creator is the owner; the owner makes admins and members, each change a member event", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    expect(await rolesOf(bob, roomId)).toMatchObject({ [ada.user.id]: "owner", [bob.user.id]: "member" });
    const socket = await connectOk(wsPath(roomId), carol.token);
    const welcome = await socket.nextOfType("welcome");
    expect(welcome.roles).toEqual({ [ada.user.id]: "owner" });

    const from = socket.frames.length;
    const res = await setRole(ada, roomId, bob.user.id, "admin");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: bob.user.id, role: "admin" });
    const frame = await memberFrame(socket, from);
    expect(frame).toEqual({
      type: "member",
      seq: expect.any(Number),
      member: { roomId, userId: bob.user.id, event: "role", role: "admin", by: ada.user.id, at: expect.any(Number) },
    });
    expect((await rolesOf(carol, roomId))[bob.user.id]).toBe("admin");
    const again = await welcomed(carol, roomId);
    expect(again.frames[0].roles).toEqual({ [ada.user.id]: "owner", [bob.user.id]: "admin" });

    expect((await setRole(ada, roomId, bob.user.id, "member")).status).toBe(200);
    expect((await rolesOf(carol, roomId))[bob.user.id]).toBe("member");
    socket.close();
    again.close();
  });

  it("only the owner changes roles; not the owner's own, not a non-member's, not to owner", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    const stranger = await registerUser("rider", "Eve");
    expect((await setRole(ada, roomId, bob.user.id, "admin")).status).toBe(200);
    expectError(await setRole(bob, roomId, carol.user.id, "admin"), 403, "forbidden");
    expectError(await setRole(carol, roomId, carol.user.id, "admin"), 400, "invalid_request");
    expectError(await setRole(carol, roomId, bob.user.id, "member"), 403, "forbidden");
    expectError(await setRole(stranger, roomId, carol.user.id, "admin"), 403, "forbidden");
    expectError(await setRole(ada, roomId, ada.user.id, "member"), 400, "invalid_request");
    expectError(await setRole(ada, roomId, stranger.user.id, "admin"), 404, "not_found");
    expectError(await setRole(ada, roomId, carol.user.id, "owner"), 400, "invalid_request");
    expectError(await setRole(ada, roomId, carol.user.id, 7), 400, "invalid_request");
    expectError(await setRole(ada, roomId, "bad id!", "admin"), 400, "invalid_request");
    expect(await rolesOf(ada, roomId)).toMatchObject({ [bob.user.id]: "admin", [carol.user.id]: "member" });
  });

  it("the owner transfers ownership and becomes an admin; the owner cannot leave before", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    const refused = await leave(ada, roomId);
    expectError(refused, 409, "conflict");
    expect(refused.body.error.message).toMatch(/transfer/);

    expectError(await transfer(bob, roomId, carol.user.id), 403, "forbidden");
    expectError(await transfer(ada, roomId, unique("usr")), 404, "not_found");
    expectError(await transfer(ada, roomId, ada.user.id), 400, "invalid_request");

    const socket = await welcomed(carol, roomId);
    const from = socket.frames.length;
    const res = await transfer(ada, roomId, bob.user.id);
    expect(res.status).toBe(200);
    expect(await rolesOf(carol, roomId)).toMatchObject({ [ada.user.id]: "admin", [bob.user.id]: "owner" });
    await memberFrame(socket, from);
    await frameAfter(socket, from, (f) => f.type === "member" && f.member.userId === ada.user.id);
    const events = socket.frames.slice(from).filter((f) => f.type === "member");
    expect(events.map((f) => [f.member.userId, f.member.role])).toEqual([
      [bob.user.id, "owner"],
      [ada.user.id, "admin"],
    ]);
    expect(events[1].seq).toBe(events[0].seq + 1);

    // The old owner no longer changes roles; the new one does, and the old one may now leave.
    expectError(await setRole(ada, roomId, carol.user.id, "admin"), 403, "forbidden");
    expect((await setRole(bob, roomId, carol.user.id, "admin")).status).toBe(200);
    expect((await leave(ada, roomId)).status).toBe(200);
    socket.close();
  });
});

describe("removing members", () => {
  it("a removed member loses access at once on every transport, and afterwards", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    const seq = (await postMessage(carol, roomId, "carol was here")).seq;
    const watcher = await welcomed(bob, roomId);
    const socket = await welcomed(carol, roomId);
    const stream = await openEvents(carol, roomId);
    expect(stream.status).toBe(200);
    const streamText = readToEnd(stream);
    const waiting = poll(carol, roomId, seq, 20);
    // Let the poll reach the room and wait there.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const from = watcher.frames.length;
    const res = await removeMember(ada, roomId, carol.user.id);
    expect(res.status).toBe(204);

    expect(await socket.waitClosed()).toMatchObject({ code: MEMBERSHIP_ENDED_CLOSE_CODE });
    expect(MEMBERSHIP_ENDED_CLOSE_CODE).toBe(4403);
    expect(await streamText).toContain('"type":"welcome"');
    expectError(await waiting, 403, "forbidden");
    const removed = await memberFrame(watcher, from);
    expect(removed.member).toEqual({
      roomId,
      userId: carol.user.id,
      event: "removed",
      by: ada.user.id,
      at: expect.any(Number),
    });
    await frameAfter(watcher, from, (f) => f.type === "presence" && f.event === "leave" && f.userId === carol.user.id);

    // Afterwards: every transport, read and write is refused, a resume too.
    expect((await connect(wsPath(roomId), { token: carol.token })).status).toBe(403);
    expect((await connect(wsPath(roomId, "?since=0"), { token: carol.token })).status).toBe(403);
    expect((await openEvents(carol, roomId, "1")).status).toBe(403);
    expectError(await poll(carol, roomId, 0), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/${roomId}/messages`, { token: carol.token }), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/${roomId}/members`, { token: carol.token }), 403, "forbidden");
    const path = `/v1/rooms/${roomId}/messages`;
    expectError(await call("POST", path, { token: carol.token, body: { text: "hi" } }), 403, "forbidden");
    expectError(await call("PATCH", `${path}/${seq}`, { token: carol.token, body: { text: "x" } }), 403, "forbidden");
    expectError(await call("DELETE", `${path}/${seq}`, { token: carol.token }), 403, "forbidden");
    const react = { token: carol.token, body: { emoji: "👍" } };
    expectError(await call("POST", `${path}/${seq}/reactions`, react), 403, "forbidden");
    expect((await rolesOf(ada, roomId))[carol.user.id]).toBeUndefined();

    // A public room may be joined again.
    await joinRoom(carol, roomId);
    const back = await welcomed(carol, roomId);
    back.close();
    watcher.close();
  });

  it("a socket the room kept through hibernation closes too, and the log still holds the event", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    const socket = await welcomed(carol, roomId);
    const watcher = await welcomed(bob, roomId);
    await evictDurableObject(roomStub(roomId), { webSockets: "hibernate" });
    const from = watcher.frames.length;
    expect((await removeMember(ada, roomId, carol.user.id)).status).toBe(204);
    expect(await socket.waitClosed()).toMatchObject({ code: 4403 });
    const removed = await memberFrame(watcher, from);
    const polled = await poll(ada, roomId, removed.seq - 1);
    expect(polled.body.events).toEqual([removed]);
    watcher.close();
  });

  it("a removal the room missed is repaired by repeating it", async () => {
    const { roomId, ada, carol } = await roomOfFour();
    // D1 alone forgets carol, as when the call to the room failed after D1 was written.
    await env.DB.prepare(`DELETE FROM room_members WHERE room_id = ? AND user_id = ?`)
      .bind(roomId, carol.user.id)
      .run();
    expect((await call("GET", `/v1/rooms/${roomId}/messages`, { token: carol.token })).status).toBe(200);
    expectError(await removeMember(ada, roomId, carol.user.id), 404, "not_found");
    expectError(await call("GET", `/v1/rooms/${roomId}/messages`, { token: carol.token }), 403, "forbidden");
  });

  it("refuses a member removing others, an admin removing the owner or an admin, and strangers", async () => {
    const { roomId, ada, bob, carol, dan } = await roomOfFour();
    const other = await roomOfFour();
    const stranger = await registerUser("rider", "Eve");
    expectError(await removeMember(bob, roomId, carol.user.id), 403, "forbidden");
    expect((await setRole(ada, roomId, bob.user.id, "admin")).status).toBe(200);
    expect((await setRole(ada, roomId, carol.user.id, "admin")).status).toBe(200);
    expectError(await removeMember(bob, roomId, ada.user.id), 403, "forbidden");
    expectError(await removeMember(bob, roomId, carol.user.id), 403, "forbidden");
    expectError(await removeMember(stranger, roomId, dan.user.id), 403, "forbidden");
    // A member of another room, removing there with this room's member, or here with theirs.
    expectError(await removeMember(other.ada, roomId, dan.user.id), 403, "forbidden");
    expectError(await removeMember(ada, roomId, other.dan.user.id), 404, "not_found");
    expectError(await removeMember(ada, other.roomId, dan.user.id), 403, "forbidden");
    expectError(await removeMember(ada, roomId, ada.user.id), 400, "invalid_request");
    expectError(await removeMember(ada, unique("room"), dan.user.id), 404, "not_found");
    expectError(await call("DELETE", `/v1/rooms/${roomId}/members/${dan.user.id}`), 401, "unauthorized");
    expect(Object.keys(await rolesOf(ada, roomId))).toHaveLength(4);

    // An admin removes a member; the owner removes an admin.
    expect((await removeMember(bob, roomId, dan.user.id)).status).toBe(204);
    expect((await removeMember(ada, roomId, carol.user.id)).status).toBe(204);
    expectError(await removeMember(ada, roomId, carol.user.id), 404, "not_found");
    expect(Object.keys(await rolesOf(ada, roomId)).sort()).toEqual([ada.user.id, bob.user.id].sort());
  });

  it("a member who leaves a private room is gone everywhere and needs a new invite", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour({ private: true });
    const watcher = await welcomed(ada, roomId);
    const socket = await welcomed(carol, roomId);
    const from = watcher.frames.length;
    const res = await leave(carol, roomId);
    expect(res.status).toBe(200);
    expect(await socket.waitClosed()).toMatchObject({ code: 4403 });
    expect((await memberFrame(watcher, from)).member).toEqual({
      roomId,
      userId: carol.user.id,
      event: "left",
      at: expect.any(Number),
    });
    expectError(await leave(carol, roomId), 403, "forbidden");
    expectError(await call("POST", `/v1/rooms/${roomId}/join`, { token: carol.token }), 403, "forbidden");
    const rooms = await call("GET", "/v1/rooms", { token: carol.token });
    expect(rooms.body.rooms.map((r: { id: string }) => r.id)).not.toContain(roomId);

    const invite = await call("POST", `/v1/rooms/${roomId}/members`, {
      token: bob.token,
      body: { userId: carol.user.id },
    });
    expect(invite.status).toBe(200);
    const back = await welcomed(carol, roomId);
    back.close();
    watcher.close();
  });
});

describe("resume across membership events", () => {
  it("a socket with since, SSE with Last-Event-ID and a long poll each get the member events", async () => {
    const { roomId, ada, bob, carol, dan } = await roomOfFour();
    const first = (await postMessage(ada, roomId, "before")).seq;
    expect((await setRole(ada, roomId, dan.user.id, "admin")).status).toBe(200);
    expect((await removeMember(ada, roomId, carol.user.id)).status).toBe(204);
    const last = (await postMessage(ada, roomId, "after")).seq;
    expect(last).toBe(first + 3);

    const socket = await connectOk(wsPath(roomId, `?since=${first}`), bob.token);
    await socket.nextOfType("synced");
    const replayed = socket.frames.filter((f) => typeof f.seq === "number" && f.type !== "welcome");
    expect(replayed.map((f) => [f.type, f.member?.event ?? null])).toEqual([
      ["member", "role"],
      ["member", "removed"],
      ["message", null],
      ["synced", null],
    ]);
    socket.close();

    const polled = await poll(bob, roomId, first);
    expect(polled.status).toBe(200);
    expect(polled.body.events.map((f: { type: string; seq: number }) => [f.type, f.seq])).toEqual([
      ["member", first + 1],
      ["member", first + 2],
      ["message", last],
    ]);

    const stream = await openEvents(bob, roomId, String(first));
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes('"type":"synced"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    expect(text).toContain(`id: ${first + 1}\n`);
    expect(text).toContain('"event":"removed"');
  });
});

describe("bans", () => {
  it("a ban removes the member everywhere, refuses rejoining and adding until unbanned", async () => {
    const { roomId, ada, bob, carol } = await roomOfFour();
    const watcher = await welcomed(bob, roomId);
    const socket = await welcomed(carol, roomId);
    const from = watcher.frames.length;
    const res = await ban(ada, roomId, carol.user.id);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ roomId, userId: carol.user.id, banned: true });
    expect(await socket.waitClosed()).toMatchObject({ code: 4403 });
    expect((await memberFrame(watcher, from)).member).toMatchObject({
      userId: carol.user.id,
      event: "removed",
      banned: true,
      by: ada.user.id,
    });
    expectError(await call("POST", `/v1/rooms/${roomId}/join`, { token: carol.token }), 403, "forbidden");
    const add = { token: bob.token, body: { userId: carol.user.id } };
    expectError(await call("POST", `/v1/rooms/${roomId}/members`, add), 403, "forbidden");
    expect((await connect(wsPath(roomId), { token: carol.token })).status).toBe(403);
    // Banning again changes nothing and logs nothing more.
    expect((await ban(ada, roomId, carol.user.id)).status).toBe(201);

    expectError(await unban(bob, roomId, carol.user.id), 403, "forbidden");
    expect((await unban(ada, roomId, carol.user.id)).status).toBe(204);
    expectError(await unban(ada, roomId, carol.user.id), 404, "not_found");
    await joinRoom(carol, roomId);
    expect(watcher.frames.slice(from).filter((f) => f.type === "member")).toHaveLength(1);
    watcher.close();
  });

  it("members cannot ban; admins cannot ban the owner or an admin; a non-member can be banned ahead", async () => {
    const { roomId, ada, bob, carol, dan } = await roomOfFour();
    const stranger = await registerUser("rider", "Eve");
    expectError(await ban(bob, roomId, carol.user.id), 403, "forbidden");
    expect((await setRole(ada, roomId, bob.user.id, "admin")).status).toBe(200);
    expect((await setRole(ada, roomId, carol.user.id, "admin")).status).toBe(200);
    expectError(await ban(bob, roomId, ada.user.id), 403, "forbidden");
    expectError(await ban(bob, roomId, carol.user.id), 403, "forbidden");
    expectError(await ban(ada, roomId, ada.user.id), 400, "invalid_request");
    expectError(await ban(stranger, roomId, dan.user.id), 403, "forbidden");
    expectError(await ban(ada, roomId, unique("usr")), 404, "not_found");
    expectError(await call("POST", `/v1/rooms/${roomId}/bans`, { token: ada.token, body: {} }), 400, "invalid_request");

    expect((await ban(bob, roomId, stranger.user.id)).status).toBe(201);
    expectError(await call("POST", `/v1/rooms/${roomId}/join`, { token: stranger.token }), 403, "forbidden");
    expect((await ban(bob, roomId, dan.user.id)).status).toBe(201);
    expect(Object.keys(await rolesOf(ada, roomId))).not.toContain(dan.user.id);
  });
});

describe("room size", () => {
  it("a full room refuses a join and an add with 409 room_full", async () => {
    const ada = await registerUser("rider", "Ada");
    const late = await registerUser("rider", "Late");
    const room = await createRoom(ada);
    // Fill D1's membership up to ROOM_MAX_MEMBERS (1000) with made-up users.
    const prefix = unique("filler");
    await env.DB.batch([
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
         INSERT INTO users (id, email, name, role, password_hash, created_at)
         SELECT ?1 || i, ?1 || i || '@example.com', 'Filler', 'rider', 'x', 0 FROM n`,
      ).bind(prefix),
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
         INSERT INTO room_members (room_id, user_id, joined_at, role) SELECT ?2, ?1 || i, 0, 'member' FROM n`,
      ).bind(prefix, room.id),
    ]);
    const res = await call("POST", `/v1/rooms/${room.id}/join`, { token: late.token });
    expectError(res, 409, "room_full");
    expect(res.body.error.details).toEqual({ limit: 1000 });
    const add = { token: ada.token, body: { userId: late.user.id } };
    expectError(await call("POST", `/v1/rooms/${room.id}/members`, add), 409, "room_full");

    // One leaves: there is room again.
    expect((await removeMember(ada, room.id, `${prefix}1`)).status).toBe(204);
    await joinRoom(late, room.id);
  });
});

describe("the client SDK", () => {
  const sdkOf = (user: TestUser) =>
    new RidewireClient({
      baseUrl: BASE,
      token: user.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });

  it("changes roles, transfers, removes, bans and leaves; a connection hears each as a member frame", async () => {
    const { roomId, ada, bob, carol, dan } = await roomOfFour();
    const eve = await registerUser("rider", "Eve");
    await joinRoom(eve, roomId);
    const adaApi = sdkOf(ada);
    const bobApi = sdkOf(bob);
    const live = bobApi.room(roomId, { transport: "sse" });
    const seen: string[] = [];
    live.on("member", (frame) => seen.push(`${frame.member.event}:${frame.member.userId}:${frame.member.role ?? ""}`));
    await live.whenOpen();

    expect(await adaApi.setRole(roomId, bob.user.id, "admin")).toBe("admin");
    await adaApi.transferOwnership(roomId, bob.user.id);
    expect((await bobApi.members(roomId)).map((m) => [m.userId, m.role])).toContainEqual([ada.user.id, "admin"]);
    await bobApi.removeMember(roomId, carol.user.id);
    await bobApi.ban(roomId, dan.user.id);
    await sdkOf(eve).leaveRoom(roomId);
    const refused = await sdkOf(dan)
      .joinRoom(roomId)
      .catch((err: unknown) => err);
    expect(isRidewireError(refused) && [refused.status, refused.code]).toEqual([403, "forbidden"]);
    await adaApi.unban(roomId, dan.user.id);
    await sdkOf(dan).joinRoom(roomId);
    const notOwner = await adaApi.leaveRoom(roomId).then(() => null);
    expect(notOwner).toBeNull();
    const ownerLeaving = await bobApi.leaveRoom(roomId).catch((err: unknown) => err);
    expect(isRidewireError(ownerLeaving) && [ownerLeaving.status, ownerLeaving.code]).toEqual([409, "conflict"]);

    const deadline = Date.now() + 3_000;
    while (seen.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    live.close();
    expect(seen).toEqual([
      `role:${bob.user.id}:admin`,
      `role:${bob.user.id}:owner`,
      `role:${ada.user.id}:admin`,
      `removed:${carol.user.id}:`,
      `removed:${dan.user.id}:`,
      `left:${eve.user.id}:`,
      `left:${ada.user.id}:`,
    ]);
  });
});
