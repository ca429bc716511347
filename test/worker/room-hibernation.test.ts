// A chat room across evictions: hibernated sockets keep their identity and the log keeps its
// seq; closed sockets reconnect with `since` and miss nothing.
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/common";
import { call, connectOk, type TestSocket } from "../helpers/api";
import { framesOf, postMessage, range, roomOfTwo, roomStub, settle, wsPath } from "../helpers/chat";

const hibernate = (roomId: string) => evictDurableObject(roomStub(roomId), { webSockets: "hibernate" });

describe("hibernation", () => {
  it("keeps each socket's identity and continues the seq without a gap", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    a.send({ type: "message", id: "m1", text: "before" });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "m1", seq: 1 });
    await b.nextOfType("message");

    await hibernate(roomId);

    a.send({ type: "message", id: "m2", text: "after" });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "m2", seq: 2 });
    const atB = await b.nextOfType("message");
    expect(atB).toMatchObject({ seq: 2, message: { seq: 2, userId: ada.user.id, text: "after", roomId } });

    await hibernate(roomId);

    // The other socket wakes the room just as well, and speaks as bob.
    b.send({ type: "typing", active: true });
    expect(await a.nextOfType("typing")).toEqual({ type: "typing", userId: bob.user.id, active: true });
    b.send({ type: "message", id: "m3", text: "bob after" });
    expect(await a.nextOfType("message")).toMatchObject({ seq: 3, message: { userId: bob.user.id } });

    const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: ada.token });
    expect(history.body.messages.map((m: Message) => [m.seq, m.userId])).toEqual([
      [3, bob.user.id],
      [2, ada.user.id],
      [1, ada.user.id],
    ]);
    a.close();
    b.close();
  });

  it("continues the seq gaplessly through an eviction between every message", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    const acks: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const sender = i % 2 === 0 ? b : a;
      if (i % 3 === 0) await postMessage(i % 2 === 0 ? bob : ada, roomId, `m${i}`);
      else sender.send({ type: "message", id: `m${i}`, text: `m${i}` });
      if (i % 3 !== 0) acks.push((await sender.next((f) => f.type === "ack" && f.id === `m${i}`)).seq);
      await hibernate(roomId);
    }
    expect(acks).toEqual([1, 2, 4, 5]);
    for (const socket of [a, b]) {
      await settle(socket);
      expect(framesOf(socket, "message").map((f) => f.seq)).toEqual(range(1, 6));
    }
    a.close();
    b.close();
  });

  it("remembers command ids, presence and read marks across hibernation", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    a.send({ type: "message", id: "once", text: "once" });
    expect(await a.nextOfType("ack")).toMatchObject({ seq: 1 });
    b.send({ type: "read", seq: 1 });
    await a.nextOfType("read");

    await hibernate(roomId);

    a.send({ type: "message", id: "once", text: "once" });
    expect(await a.nextOfType("ack")).toEqual({ type: "ack", id: "once", seq: 1 });
    // A newcomer's welcome lists the hibernated sockets as online and keeps bob's read mark.
    const a2 = await connectOk(wsPath(roomId), ada.token);
    expect(await a2.nextOfType("welcome")).toEqual({
      type: "welcome",
      seq: 1,
      members: expect.arrayContaining([ada.user.id, bob.user.id]),
      online: expect.arrayContaining([ada.user.id, bob.user.id]),
      reads: { [bob.user.id]: 1 },
      roles: { [ada.user.id]: "owner" },
      delivered: { [ada.user.id]: 1, [bob.user.id]: 1 },
    });
    // ada already had a socket: her second one announces nothing.
    await settle(b);
    expect(framesOf(b, "presence").filter((f) => f.userId === ada.user.id)).toEqual([]);

    await hibernate(roomId);

    // bob's last socket closing while the room sleeps still tells the others he left.
    b.close();
    expect(await a.next((f) => f.type === "presence")).toEqual({
      type: "presence",
      event: "leave",
      userId: bob.user.id,
    });
    await settle(a);
    expect(framesOf(a, "message")).toHaveLength(1);
    a.close();
    a2.close();
  });

  it("announces a leave when the close of a user's last socket is what wakes the room", async () => {
    const { roomId, bob, a, b } = await roomOfTwo();
    const b2 = await connectOk(wsPath(roomId), bob.token);
    await b2.nextOfType("welcome");
    await hibernate(roomId);

    // bob still has b2: closing b announces nothing.
    b.close();
    await b.waitClosed();
    await hibernate(roomId);
    b2.close();
    expect(await a.next((f) => f.type === "presence")).toEqual({
      type: "presence",
      event: "leave",
      userId: bob.user.id,
    });
    await settle(a);
    expect(framesOf(a, "presence").filter((f) => f.event === "leave")).toHaveLength(1);
    a.close();
  });

  it("answers the exact ping frame while the room sleeps", async () => {
    const { roomId, a, b } = await roomOfTwo();
    await hibernate(roomId);
    a.send('{"type":"ping"}');
    expect(await a.nextOfType("pong")).toEqual({ type: "pong" });
    a.close();
    b.close();
  });
});

describe("eviction that closes sockets", () => {
  it("lets clients reconnect with since and miss nothing", async () => {
    const { roomId, ada, bob, a, b } = await roomOfTwo();
    a.send({ type: "message", id: "m1", text: "m1" });
    await a.nextOfType("ack");
    b.send({ type: "message", id: "m2", text: "m2" });
    await b.nextOfType("ack");
    const lastSeen = async (socket: TestSocket) => {
      await settle(socket);
      return Math.max(0, ...framesOf(socket, "message").map((f) => f.seq));
    };
    const aSeen = await lastSeen(a);
    const bSeen = await lastSeen(b);
    expect([aSeen, bSeen]).toEqual([2, 2]);

    await evictDurableObject(roomStub(roomId), { webSockets: "close" });
    await a.waitClosed();
    await b.waitClosed();

    // While both are away, more is said over HTTP.
    const offline = [await postMessage(ada, roomId, "m3 while away"), await postMessage(bob, roomId, "m4 while away")];

    const a2 = await connectOk(wsPath(roomId, `?since=${aSeen}`), ada.token);
    expect(await a2.nextOfType("welcome")).toMatchObject({ seq: 4, online: [ada.user.id] });
    const replayed = [await a2.nextOfType("message"), await a2.nextOfType("message")];
    expect(replayed.map((f) => f.message)).toEqual(offline);
    expect(await a2.nextOfType("synced")).toEqual({ type: "synced", seq: 4 });

    // bob reconnects while ada keeps talking: replay then live, in seq order, no gap, no repeat.
    a2.send({ type: "message", id: "m5", text: "m5" });
    await a2.nextOfType("ack");
    const b2 = await connectOk(wsPath(roomId, `?since=${bSeen}`), bob.token);
    await b2.nextOfType("synced");
    a2.send({ type: "message", id: "m6", text: "m6" });
    await b2.next((f) => f.type === "message" && f.seq === 6);
    expect(framesOf(b2, "message").map((f) => f.seq)).toEqual([3, 4, 5, 6]);
    expect(b2.frames.findIndex((f) => f.type === "synced")).toBeLessThan(
      b2.frames.findIndex((f) => f.seq === 6 && f.type === "message"),
    );

    // Old command ids still hold after the restart.
    b2.send({ type: "message", id: "m2", text: "m2" });
    expect(await b2.nextOfType("ack")).toEqual({ type: "ack", id: "m2", seq: 2 });
    const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: bob.token });
    expect(history.body.messages.map((m: Message) => m.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    a2.close();
    b2.close();
  });
});
