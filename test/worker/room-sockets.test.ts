// Chat room sockets through the hub: upgrade checks, fan-out, command ids, resume, presence,
// typing, read marks, bad frames and the per-connection abuse limits.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/common";
import type { AckFrame, ChatServerFrame, ErrorFrame } from "../../src/protocol/frames";
import { call, connect, connectOk, createRoom, joinRoom, registerUser, type TestSocket } from "../helpers/api";
import {
  expectError,
  eventStorageOf,
  flushOutbox,
  frameAfter,
  framesOf,
  postMessage,
  range,
  roomOfTwo,
  roomStorage,
  roomStub,
  settle,
  wsPath,
} from "../helpers/chat";

/** Resolves when the socket answers an exact `{"type":"ping"}`: proof it is still open. */
async function expectOpen(socket: TestSocket): Promise<void> {
  const from = socket.frames.length;
  socket.send('{"type":"ping"}');
  expect(await frameAfter(socket, from, (f) => f.type === "pong")).toEqual({ type: "pong" });
  expect(socket.closed).toBeNull();
}

describe("upgrade", () => {
  it("welcomes a member with the room's seq, members and who is online", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    await postMessage(ada, room.id, "one");
    await postMessage(ada, room.id, "two");
    const res = await connect(wsPath(room.id), { token: bob.token });
    expect(res.status).toBe(101);
    const socket = res.socket!;
    const welcome = await socket.nextOfType("welcome");
    expect(socket.frames[0]).toBe(welcome);
    expect(welcome).toEqual({
      type: "welcome",
      seq: 2,
      members: expect.arrayContaining([ada.user.id, bob.user.id]),
      online: [bob.user.id],
      reads: {},
      roles: { [ada.user.id]: "owner" },
      // Bob is online: everything through the welcome's seq reached him. Ada never connected.
      delivered: { [bob.user.id]: 2 },
    });
    expect(welcome.members).toHaveLength(2);
    socket.close();
  });

  it("answers 401 before any upgrade without a token or with a bad one", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const refusals = [
      await connect(wsPath(room.id)),
      await connect(wsPath(room.id), { token: "garbage" }),
      await connect(wsPath(room.id), { token: `${ada.token}x` }),
      await connect(wsPath(room.id, "?access_token=garbage")),
      await connect(wsPath(room.id, "?access_token=")),
      // A bad header is not rescued by a good query token.
      await connect(wsPath(room.id, `?access_token=${ada.token}`), { headers: { Authorization: "Bearer garbage" } }),
    ];
    for (const res of refusals) {
      expect(res.socket).toBeNull();
      expectError(res, 401, "unauthorized");
    }
  });

  it("takes the token from ?access_token= on an upgrade, but not on plain HTTP", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const res = await connect(wsPath(room.id, `?access_token=${encodeURIComponent(ada.token)}`));
    expect(res.status).toBe(101);
    expect(await res.socket!.nextOfType("welcome")).toMatchObject({ seq: 0, online: [ada.user.id] });
    res.socket!.close();
    expectError(await call("GET", `/v1/rooms/${room.id}/messages?access_token=${ada.token}`), 401, "unauthorized");
  });

  it("answers 403 to a non-member, also of a public room, and 404 for an unknown room", async () => {
    const ada = await registerUser();
    const eve = await registerUser();
    const open = await createRoom(ada);
    const secret = await createRoom(ada, { private: true });
    for (const room of [open, secret]) {
      const res = await connect(wsPath(room.id), { token: eve.token });
      expect(res.socket).toBeNull();
      expectError(res, 403, "forbidden");
    }
    expectError(await connect(wsPath("room_unknown"), { token: eve.token }), 404, "not_found");
  });

  it("answers 403 to a foreign Origin and lets local development origins and no Origin through", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    for (const origin of [
      "https://evil.example",
      "null",
      "http://localhost.evil.example",
      "http://localhost:5173.evil.example",
      "https://localhost:5173",
    ]) {
      const res = await connect(wsPath(room.id), { token: ada.token, headers: { Origin: origin } });
      expect(res.socket, origin).toBeNull();
      expectError(res, 403, "forbidden");
    }
    // The foreign page is refused with a query token too.
    expectError(
      await connect(wsPath(room.id, `?access_token=${ada.token}`), { headers: { Origin: "https://evil.example" } }),
      403,
      "forbidden",
    );
    const passing: Record<string, string>[] = [
      { Origin: "http://localhost:5173" },
      { Origin: "http://127.0.0.1:8787" },
      { Origin: "http://ridewire.test" },
      {},
    ];
    for (const headers of passing) {
      const res = await connect(wsPath(room.id), { token: ada.token, headers });
      expect(res.status, JSON.stringify(headers)).toBe(101);
      await res.socket!.nextOfType("welcome");
      res.socket!.close();
    }
  });

  it("rejects a plain GET and a bad since with 400", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    expectError(await call("GET", wsPath(room.id), { token: ada.token }), 400, "invalid_request");
    for (const since of ["-1", "abc", "1.5"]) {
      expectError(await connect(wsPath(room.id, `?since=${since}`), { token: ada.token }), 400, "invalid_request");
    }
  });
});

describe("fan-out", () => {
  it("sends the same message frame with its seq to every socket and acks the sender", async () => {
    const { roomId, ada, a, b } = await roomOfTwo();
    a.send({ type: "message", id: "m1", text: "hello bob" });
    const atA = await a.nextOfType("message");
    const atB = await b.nextOfType("message");
    expect(atB).toEqual(atA);
    expect(atA).toEqual({
      type: "message",
      seq: 1,
      message: {
        id: expect.any(String),
        roomId,
        seq: 1,
        userId: ada.user.id,
        text: "hello bob",
        createdAt: expect.any(Number),
      },
    });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "m1", seq: 1 });
    // The ack is the sender's alone.
    await settle(b);
    expect(framesOf(b, "ack").filter((f) => f.id === "m1")).toEqual([]);
    // The stored message is what HTTP serves.
    const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: ada.token });
    expect(history.body.messages).toEqual([atA.message]);
    a.close();
    b.close();
  });

  it("reaches every socket of the sender, and a message without an id is stored but not acked", async () => {
    const { roomId, ada, a, b } = await roomOfTwo();
    const a2 = await connectOk(wsPath(roomId), ada.token);
    await a2.nextOfType("welcome");
    a.send({ type: "message", text: "no id" });
    for (const socket of [a, a2, b]) expect((await socket.nextOfType("message")).message.text).toBe("no id");
    await settle(a);
    expect(framesOf(a, "ack").filter((f) => f.seq === 1)).toEqual([]);
    for (const socket of [a, a2, b]) socket.close();
  });

  it("broadcasts messages posted over HTTP", async () => {
    const { roomId, bob, a, b } = await roomOfTwo();
    const posted = await postMessage(bob, roomId, "from http");
    for (const socket of [a, b])
      expect(await socket.nextOfType("message")).toEqual({ type: "message", seq: posted.seq, message: posted });
    a.close();
    b.close();
  });

  it("keeps seqs gapless and in order across many senders", async () => {
    const { roomId, bob, a, b } = await roomOfTwo();
    for (let i = 0; i < 5; i++) {
      a.send({ type: "message", id: `a${i}`, text: `a${i}` });
      b.send({ type: "message", id: `b${i}`, text: `b${i}` });
    }
    await postMessage(bob, roomId, "http");
    const seqsAt = async (socket: TestSocket) => {
      const seqs: number[] = [];
      while (seqs.length < 11) seqs.push((await socket.nextOfType("message")).seq);
      return seqs;
    };
    expect(await seqsAt(a)).toEqual(range(1, 11));
    expect(await seqsAt(b)).toEqual(range(1, 11));
    a.close();
    b.close();
  });
});

describe("command ids", () => {
  it(
    "acks a repeated id again with the same seq, refuses it for another text, and does not broadcast it " + "twice",
    async () => {
      const { roomId, bob, a, b } = await roomOfTwo();
      a.send({ type: "message", id: "dup", text: "once" });
      expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "dup", seq: 1 });
      a.send({ type: "message", id: "dup", text: "once" });
      a.send({ type: "message", id: "dup", text: "changed my mind" });
      expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "dup", seq: 1 });
      expect(await a.nextOfType("error")).toMatchObject({ type: "error", id: "dup", code: "conflict" });
      // Another user's id is their own.
      b.send({ type: "message", id: "dup", text: "bob's" });
      expect(await b.nextOfType("ack")).toEqual({ type: "ack", id: "dup", seq: 2 });
      await settle(a);
      await settle(b);
      for (const socket of [a, b])
        expect(framesOf(socket, "message").map((f) => [f.seq, f.message.text])).toEqual([
          [1, "once"],
          [2, "bob's"],
        ]);
      const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: bob.token });
      expect(history.body.messages.map((m: Message) => m.text)).toEqual(["bob's", "once"]);
      a.close();
      b.close();
    },
  );

  it("applies an id whose first frame was rejected", async () => {
    const { a, b } = await roomOfTwo();
    a.send({ type: "message", id: "fix-me", text: "" });
    expect(await a.nextOfType("error")).toMatchObject({ id: "fix-me", code: "invalid_request" });
    a.send({ type: "message", id: "fix-me", text: "fixed" });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "fix-me", seq: 1 });
    expect(await b.nextOfType("message")).toMatchObject({ seq: 1, message: { text: "fixed" } });
    a.close();
    b.close();
  });

  it("remembers an id across connections of the same user", async () => {
    const { roomId, ada, a, b } = await roomOfTwo();
    a.send({ type: "message", id: "retry-me", text: "sent before a drop" });
    expect(await a.nextOfType("ack")).toMatchObject({ seq: 1 });
    a.close();
    const again = await connectOk(wsPath(roomId, "?since=1"), ada.token);
    await again.nextOfType("synced");
    again.send({ type: "message", id: "retry-me", text: "sent before a drop" });
    expect(await again.nextOfType("ack")).toEqual({ type: "ack", id: "retry-me", seq: 1 });
    await settle(b);
    expect(framesOf(b, "message")).toHaveLength(1);
    again.close();
    b.close();
  });
});

describe("resume", () => {
  it("replays every stored frame after since, in order, then synced", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    for (let i = 1; i <= 5; i++) a.send({ type: "message", id: `m${i}`, text: `m${i}` });
    const live: unknown[] = [];
    for (let i = 1; i <= 5; i++) live.push(await b.nextOfType("message"));
    b.close();

    const resumed = await connectOk(wsPath(roomId, "?since=2"), bob.token);
    await resumed.nextOfType("synced");
    expect(resumed.frames.filter((f) => f.type !== "presence")).toEqual([
      {
        type: "welcome",
        seq: 5,
        members: expect.arrayContaining([ada.user.id, bob.user.id]),
        online: expect.arrayContaining([ada.user.id, bob.user.id]),
        reads: {},
        roles: { [ada.user.id]: "owner" },
        delivered: { [ada.user.id]: 5, [bob.user.id]: 5 },
      },
      ...live.slice(2),
      { type: "synced", seq: 5 },
    ]);

    // Frames stored after the resume arrive live, after synced.
    a.send({ type: "message", id: "m6", text: "m6" });
    expect(await resumed.nextOfType("message")).toMatchObject({ seq: 6 });

    for (const since of [0, 6]) {
      const socket = await connectOk(wsPath(roomId, `?since=${since}`), bob.token);
      const synced = await socket.nextOfType("synced");
      expect(synced).toEqual({ type: "synced", seq: 6 });
      expect(framesOf(socket, "message").map((f) => f.seq)).toEqual(range(since + 1, 6));
      socket.close();
    }
    a.close();
    resumed.close();
  });

  it("sends synced at once for an empty room resumed from 0", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const socket = await connectOk(wsPath(room.id, "?since=0"), ada.token);
    expect(await socket.nextOfType("welcome")).toMatchObject({ type: "welcome", seq: 0 });
    expect(await socket.nextOfType("synced")).toEqual({ type: "synced", seq: 0 });
    socket.close();
  });

  it("sends reset when since is in the future", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    await postMessage(ada, room.id, "one");
    const socket = await connectOk(wsPath(room.id, "?since=2"), ada.token);
    expect(await socket.nextOfType("welcome")).toMatchObject({ seq: 1 });
    expect(await socket.nextOfType("reset")).toEqual({ type: "reset", seq: 1 });
    await settle(socket);
    expect(framesOf(socket, "synced")).toEqual([]);
    expect(framesOf(socket, "message")).toEqual([]);
    // The socket lives on and gets new frames.
    socket.send({ type: "message", id: "after-reset", text: "two" });
    expect(await socket.nextOfType("message")).toMatchObject({ seq: 2 });
    socket.close();
  });

  it("sends reset when since is older than the room keeps, and replays from its oldest kept event", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    for (let i = 1; i <= 6; i++) await postMessage(ada, room.id, `m${i}`);
    await flushOutbox(room.id);
    // Keep only the newest two events, as the alarm's trim does with ROOM_RETENTION_EVENTS.
    await runInDurableObject(roomStub(room.id), (instance) => {
      eventStorageOf(instance).trim(2);
    });
    expect(await roomStorage(room.id)).toMatchObject({ firstSeq: 5, lastSeq: 6 });

    for (const since of [0, 3]) {
      const socket = await connectOk(wsPath(room.id, `?since=${since}`), ada.token);
      expect(await socket.nextOfType("reset")).toEqual({ type: "reset", seq: 6 });
      await settle(socket);
      expect(framesOf(socket, "message")).toEqual([]);
      socket.close();
    }
    // since = 4 is the newest seq the log no longer holds: everything after it is still there.
    const socket = await connectOk(wsPath(room.id, "?since=4"), ada.token);
    expect(await socket.nextOfType("synced")).toEqual({ type: "synced", seq: 6 });
    expect(framesOf(socket, "message").map((f) => f.seq)).toEqual([5, 6]);
    socket.close();
    // What the log dropped, HTTP still serves (from D1).
    const history = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(history.body.messages.map((m: Message) => m.text)).toEqual(["m6", "m5", "m4", "m3", "m2", "m1"]);
  });
});

describe("presence", () => {
  it("announces a user's first socket and last socket only", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const watcher = await connectOk(wsPath(room.id), ada.token);
    await watcher.nextOfType("welcome");
    const isBob = (event: string) => (f: ChatServerFrame) =>
      f.type === "presence" && f.userId === bob.user.id && f.event === event;

    const b1 = await connectOk(wsPath(room.id), bob.token);
    expect(await watcher.next(isBob("join"))).toEqual({ type: "presence", event: "join", userId: bob.user.id });
    // The newcomer's welcome already counts it online.
    expect(await b1.nextOfType("welcome")).toMatchObject({
      online: expect.arrayContaining([ada.user.id, bob.user.id]),
    });

    const b2 = await connectOk(wsPath(room.id), bob.token);
    expect((await b2.nextOfType("welcome")).online.sort()).toEqual([ada.user.id, bob.user.id].sort());
    await settle(watcher);
    expect(watcher.frames.filter(isBob("join"))).toHaveLength(1);

    b1.close();
    await b1.waitClosed();
    // b2 still speaks for bob: closing b1 announces nothing.
    b2.send({ type: "message", id: "still-here", text: "still here" });
    await watcher.nextOfType("message");
    await settle(watcher);
    expect(watcher.frames.filter(isBob("leave"))).toEqual([]);

    b2.close();
    expect(await watcher.next(isBob("leave"))).toEqual({ type: "presence", event: "leave", userId: bob.user.id });
    const late = await connectOk(wsPath(room.id), ada.token);
    expect((await late.nextOfType("welcome")).online).toEqual([ada.user.id]);
    await settle(watcher);
    expect(watcher.frames.filter(isBob("leave"))).toHaveLength(1);
    // Presence is ephemeral: it carries no seq and is never replayed.
    expect(watcher.frames.filter((f) => f.type === "presence").every((f) => !("seq" in f))).toBe(true);
    watcher.close();
    late.close();
  });
});

describe("typing", () => {
  it("relays typing to the others only, with no seq, and stores nothing", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    a.send({ type: "typing", active: true });
    expect(await b.nextOfType("typing")).toEqual({ type: "typing", userId: ada.user.id, active: true });
    a.send({ type: "typing", id: "t2", active: false });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "t2" });
    expect(await b.nextOfType("typing")).toEqual({ type: "typing", userId: ada.user.id, active: false });
    // A repeated id is acknowledged again and not relayed twice.
    a.send({ type: "typing", id: "t2", active: false });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "t2" });
    await settle(b);
    expect(framesOf(b, "typing")).toHaveLength(2);
    await settle(a);
    expect(framesOf(a, "typing")).toEqual([]);

    expect(await roomStorage(roomId)).toMatchObject({ events: 0 });
    const fresh = await connectOk(wsPath(roomId, "?since=0"), bob.token);
    expect(await fresh.nextOfType("synced")).toEqual({ type: "synced", seq: 0 });
    expect((await call("GET", `/v1/rooms/${roomId}/messages`, { token: bob.token })).body.messages).toEqual([]);
    for (const socket of [a, b, fresh]) socket.close();
  });
});

describe("read marks", () => {
  it("stores a read mark, broadcasts it and shows it in the next welcome", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    for (let i = 1; i <= 3; i++) a.send({ type: "message", id: `m${i}`, text: `m${i}` });
    for (let i = 1; i <= 3; i++) await b.nextOfType("message");

    b.send({ type: "read", id: "r1", seq: 2 });
    // The room announces the mark to everyone (the reader included), then acks it.
    expect(await b.nextOfType("read")).toEqual({ type: "read", userId: bob.user.id, seq: 2 });
    expect(await b.nextOfType("ack")).toEqual({ type: "ack", id: "r1" });
    expect(await a.nextOfType("read")).toEqual({ type: "read", userId: bob.user.id, seq: 2 });

    // Marks only move forward: an older one changes and announces nothing.
    b.send({ type: "read", id: "r0", seq: 1 });
    expect(await b.nextOfType("ack")).toEqual({ type: "ack", id: "r0" });
    // A mark past the newest message stops at it.
    b.send({ type: "read", id: "r9", seq: 99 });
    expect(await a.nextOfType("read")).toEqual({ type: "read", userId: bob.user.id, seq: 3 });
    await settle(a);
    expect(framesOf(a, "read").map((f) => f.seq)).toEqual([2, 3]);

    const later = await connectOk(wsPath(roomId), ada.token);
    expect(await later.nextOfType("welcome")).toMatchObject({ seq: 3, reads: { [bob.user.id]: 3 } });
    // Read marks are not log events.
    expect(await roomStorage(roomId)).toMatchObject({ events: 3, lastSeq: 3 });
    for (const socket of [a, b, later]) socket.close();
  });

  it("rejects a read frame with a bad seq", async () => {
    const { a, b } = await roomOfTwo();
    for (const seq of [-1, 1.5, "2", null]) {
      a.send({ type: "read", id: `bad-${String(seq)}`, seq });
      expect(await a.nextOfType("error")).toMatchObject({ id: `bad-${String(seq)}`, code: "invalid_request" });
    }
    await settle(b);
    expect(framesOf(b, "read")).toEqual([]);
    a.close();
    b.close();
  });
});

describe("bad frames", () => {
  it("answers frames that are not JSON, invalid or of an unknown type with error frames and stays open", async () => {
    const { a, b } = await roomOfTwo();
    a.send("this is not json");
    expect(await a.nextOfType("error")).toEqual({
      type: "error",
      code: "invalid_request",
      message: expect.any(String),
    });
    a.send('{"type":"message","id":"half"');
    expect(await a.nextOfType("error")).toEqual({
      type: "error",
      code: "invalid_request",
      message: expect.any(String),
    });

    const cases: [unknown, string][] = [
      [{ type: "message", id: "e1", text: "" }, "e1"],
      [{ type: "message", id: "e2", text: "x".repeat(4001) }, "e2"],
      [{ type: "message", id: "e3" }, "e3"],
      [{ type: "typing", id: "e4", active: "yes" }, "e4"],
      [{ type: "dance", id: "e5" }, "e5"],
      [{ id: "e6", text: "no type" }, "e6"],
      [{ type: "welcome", id: "e7", seq: 1 }, "e7"],
    ];
    for (const [frame, id] of cases) {
      a.send(frame);
      expect(await a.nextOfType("error")).toEqual({
        type: "error",
        id,
        code: "invalid_request",
        message: expect.any(String),
      });
    }
    expect(a.frames.find((f) => f.id === "e5")?.message).toMatch(/unknown/i);
    expect(a.frames.find((f) => f.id === "e1")?.message).toMatch(/text/);

    // JSON that is not an object at all.
    for (const raw of ["[]", "42", "null", '"message"']) {
      a.send(raw);
      expect(await a.nextOfType("error")).toMatchObject({ type: "error", code: "invalid_request" });
    }
    await expectOpen(a);
    a.send({ type: "message", id: "fine", text: "still works" });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "fine", seq: 1 });
    // Nothing bad reached anyone else.
    await settle(b);
    expect(framesOf(b, "message").map((f) => f.message.text)).toEqual(["still works"]);
    expect(framesOf(b, "error")).toEqual([]);
    a.close();
    b.close();
  });

  it("answers a frame over 64 KB with payload_too_large and stays open", async () => {
    const { a, b } = await roomOfTwo();
    // Exactly 65,536 bytes passes the size check (and fails validation: the text is too long).
    const frameOf = (bytes: number) => {
      const shell = JSON.stringify({ type: "message", id: `size-${bytes}`, text: "" });
      return JSON.stringify({ type: "message", id: `size-${bytes}`, text: "x".repeat(bytes - shell.length) });
    };
    expect(frameOf(65_536)).toHaveLength(65_536);
    a.send(frameOf(65_536));
    expect(await a.nextOfType("error")).toMatchObject({ id: "size-65536", code: "invalid_request" });
    a.send(frameOf(65_537));
    expect(await a.nextOfType("error")).toEqual({
      type: "error",
      code: "payload_too_large",
      message: expect.any(String),
    });
    a.send({ type: "message", id: "big", text: "x".repeat(65_536) });
    expect(await a.nextOfType("error")).toMatchObject({ type: "error", code: "payload_too_large" });
    // Multi-byte text: under 64 K characters but over 64 KB.
    a.send(JSON.stringify({ type: "message", text: "€".repeat(22_000) }));
    expect(await a.nextOfType("error")).toMatchObject({ type: "error", code: "payload_too_large" });
    await expectOpen(a);
    await settle(b);
    expect(framesOf(b, "message")).toEqual([]);
    a.close();
    b.close();
  });

  it("answers binary frames with an error", async () => {
    const { a } = await roomOfTwo();
    a.ws.send(new TextEncoder().encode('{"type":"message","text":"bytes"}'));
    expect(await a.nextOfType("error")).toMatchObject({ type: "error", code: "invalid_request" });
    await expectOpen(a);
    a.close();
  });

  it("answers pings with pongs", async () => {
    const { a } = await roomOfTwo();
    await expectOpen(a);
    a.send({ type: "ping", id: "p1" });
    expect(await a.nextOfType("pong")).toEqual({ type: "pong" });
    // A ping with an id is a frame with an id: it is acknowledged too.
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "p1" });
    a.close();
  });

  it("closes with 1008 after more than 20 bad frames in 10 s, and tells the others the user left", async () => {
    const { ada, a, b } = await roomOfTwo();
    for (let i = 0; i < 20; i++) a.send(`garbage ${i}`);
    for (let i = 0; i < 20; i++) await a.nextOfType("error");
    await expectOpen(a);
    a.send("one too many");
    expect(await a.nextOfType("error")).toMatchObject({ code: "invalid_request" });
    expect((await a.waitClosed()).code).toBe(1008);
    expect(await b.next((f) => f.type === "presence" && f.event === "leave")).toEqual({
      type: "presence",
      event: "leave",
      userId: ada.user.id,
    });
    // The room closed the socket and then got its close event: one leave, not two.
    await settle(b);
    expect(framesOf(b, "presence").filter((f) => f.event === "leave")).toHaveLength(1);
    b.close();
  });

  it("closes with 1009 when the frame that goes over the bad-frame limit is oversized", async () => {
    const { a } = await roomOfTwo();
    const big = "x".repeat(65_537);
    for (let i = 0; i < 21; i++) a.send(big);
    for (let i = 0; i < 21; i++) expect(await a.nextOfType("error")).toMatchObject({ code: "payload_too_large" });
    expect((await a.waitClosed()).code).toBe(1009);
  });
});

describe("rate limit", () => {
  it("takes a burst of 20 frames, then answers rate_limited with the frame's id", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    const started = Date.now();
    for (let i = 0; i < 30; i++) a.send({ type: "message", id: `r${i}`, text: `r${i}` });
    const answers: (AckFrame | ErrorFrame)[] = [];
    for (let i = 0; i < 30; i++)
      answers.push(await a.next((f) => (f.type === "ack" || f.type === "error") && f.id === `r${i}`));
    const elapsed = Date.now() - started;
    // The bucket refills at FRAME_RATE_PER_SECOND = 10, so a slow run may let a few more through.
    const allowed = 20 + Math.floor((elapsed / 1000) * 10);
    expect(answers.slice(0, 20).map((f) => f.type)).toEqual(Array(20).fill("ack"));
    const limited = answers.filter((f) => f.type === "error");
    expect(limited.length).toBeGreaterThanOrEqual(30 - allowed);
    expect(limited.length).toBeGreaterThan(0);
    for (const f of limited)
      expect(f).toEqual({ type: "error", id: f.id, code: "rate_limited", message: expect.any(String) });
    const acked = answers.filter((f) => f.type === "ack");
    expect(acked.map((f) => f.seq)).toEqual(range(1, acked.length));
    // Only what was acked was stored and broadcast.
    const history = await call("GET", `/v1/rooms/${roomId}/messages?limit=100`, { token: bob.token });
    expect(history.body.messages).toHaveLength(acked.length);
    await settle(b);
    expect(framesOf(b, "message")).toHaveLength(acked.length);
    // The limit is per connection: another socket of the same user has its own bucket.
    await expectOpen(a);
    const a2 = await connectOk(wsPath(roomId), ada.token);
    await a2.nextOfType("welcome");
    // A refused frame was not applied: its id, sent again, stores the message now.
    const retried = limited[0]!.id;
    a2.send({ type: "message", id: retried, text: retried });
    expect(await a2.nextOfType("ack")).toEqual({ type: "ack", id: retried, seq: acked.length + 1 });
    for (const socket of [a, a2, b]) socket.close();
  });
});
