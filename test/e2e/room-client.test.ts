/**
 * The SDK's room connection against a real `wrangler dev`, with a TCP proxy in between to
 * break the network on cue: live messages, resume after a dropped connection without loss or
 * repeats, repeats and gaps handled by seq, the outbox (re-sent until acked, applied once),
 * heartbeats noticing a dead link, the token hook on reconnect, `reset`, and the SSE + HTTP
 * fallback when WebSockets are refused while HTTP works.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient, type ChatConnection, type Message, type RoomOptions } from "@ridewire/client";
import { tcpProxy, type Proxy as TcpProxy } from "./helpers/proxy";
import { devServer, type DevServer } from "./helpers/server";
import { account, sharedRoom, sleep, waitFor, type Account } from "./helpers/users";

let server: DevServer;
let proxy: TcpProxy;
const open: ChatConnection[] = [];

beforeAll(async () => {
  server = await devServer("room");
  await server.start();
  proxy = await tcpProxy(server.port);
});

afterEach(() => {
  for (const connection of open.splice(0)) connection.close();
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/** Fast reconnects for tests; `via` picks the proxy (breakable) or the server itself. */
function connect(
  who: Account,
  roomId: string,
  options: RoomOptions & { via?: "proxy" | "direct" } = {},
): { room: ChatConnection; seen: Message[] } {
  const { via = "direct", ...rest } = options;
  const api = via === "proxy" ? new RidewireClient({ baseUrl: proxy.baseUrl, token: who.token }) : who.api;
  const room = api.room(roomId, { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, ...rest });
  const seen: Message[] = [];
  room.on("message", (frame) => seen.push(frame.message));
  open.push(room);
  return { room, seen };
}

const seqs = (messages: Message[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("room connection", () => {
  it("receives live messages, and its own send resolves with the stored seq", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const room = await sharedRoom(ada, bob);
    const a = connect(ada, room.id);
    const b = connect(bob, room.id);
    const welcome = await b.room.next("welcome");
    expect(welcome).toMatchObject({ type: "welcome", seq: 0, members: [ada.user.id, bob.user.id] });
    await a.room.whenOpen();

    const ack = await a.room.send({ type: "message", text: "hello bob" });
    expect(ack).toEqual({ id: expect.any(String), seq: 1 });
    await waitFor("bob's copy", () => (b.seen.length === 1 ? true : undefined));
    expect(b.seen[0]).toMatchObject({ seq: 1, userId: ada.user.id, text: "hello bob" });
    expect(a.seen.map((m) => m.text)).toEqual(["hello bob"]);

    const typing = b.room.next("typing");
    expect(a.room.sendVolatile({ type: "typing", active: true })).toBe(true);
    expect(await typing).toMatchObject({ userId: ada.user.id, active: true });
    expect(a.room.lastSeq).toBe(1);
  });

  it("resumes after the connection is cut, with every message missed in between, in order, once", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const room = await sharedRoom(ada, bob);
    await ada.api.postMessage(room.id, "before");
    const b = connect(bob, room.id, { via: "proxy", since: 0 });
    await waitFor("the replay", () => (b.seen.length === 1 ? true : undefined));

    // Cut, and unreachable while five messages go by.
    const disconnected = b.room.next("disconnect");
    proxy.refuseNew = true;
    proxy.dropAll();
    await disconnected;
    for (let i = 2; i <= 6; i++) await ada.api.postMessage(room.id, `missed ${i}`);
    await b.room.next("reconnecting");
    const resumed = b.room.next("open");
    proxy.refuseNew = false;
    expect(await resumed).toEqual({ transport: "websocket", resumed: true });
    await ada.api.postMessage(room.id, "after");
    await waitFor("seven messages", () => (b.seen.length >= 7 ? true : undefined));
    await sleep(100);
    expect(seqs(b.seen)).toEqual(range(1, 7));
    expect(b.room.connections).toBe(2);
    expect(b.room.duplicatesDropped).toBe(0);
  });

  it("drops a repeated stored frame, and resumes to fill a gap instead of skipping it", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const room = await sharedRoom(ada, bob);
    const first = await ada.api.postMessage(room.id, "one");
    const b = connect(bob, room.id, { via: "proxy", since: 0 });
    await waitFor("the replay", () => (b.seen.length === 1 ? true : undefined));

    // A repeat of seq 1 (a frame the server sent twice, say): not handed on again.
    expect(proxy.inject(JSON.stringify({ type: "message", seq: 1, message: first }))).toBe(1);
    await waitFor("the repeat to be dropped", () => (b.room.duplicatesDropped === 1 ? true : undefined));

    // Bob stops hearing the server; two messages go by; then seq 3 alone reaches him.
    proxy.silenceDownstream();
    await ada.api.postMessage(room.id, "two");
    const three = await ada.api.postMessage(room.id, "three");
    proxy.inject(JSON.stringify({ type: "message", seq: 3, message: three }));
    await waitFor("the gap to be filled", () => (b.seen.length === 3 ? true : undefined));
    await sleep(100);
    expect(seqs(b.seen)).toEqual([1, 2, 3]);
    expect(b.seen.map((m) => m.text)).toEqual(["one", "two", "three"]);
  });

  it(
    "keeps frames in the outbox while disconnected, " +
      "re-sends unacked ones after a reconnect, and the server applies each once",
    async () => {
      const ada = await account(server.baseUrl, "rider", "Ada");
      const bob = await account(server.baseUrl, "driver", "Bob");
      const room = await sharedRoom(ada, bob);
      const b = connect(bob, room.id, { via: "proxy", since: 0 });
      await b.room.whenOpen();

      // Applied by the server, but the ack (and the broadcast) never reach bob.
      proxy.silenceDownstream();
      const lostAck = b.room.send({ type: "message", id: "bob-1", text: "first" });
      await waitFor("the server to store it", async () =>
        (await ada.api.messages(room.id)).messages.length === 1 ? true : undefined,
      );
      expect(b.room.pending).toBe(1);

      // Cut; while down, bob writes two more.
      const down = b.room.next("disconnect");
      proxy.dropAll();
      await down;
      const queued = [
        b.room.send({ type: "message", id: "bob-2", text: "second" }),
        b.room.send({ type: "message", id: "bob-3", text: "third" }),
      ];
      expect(b.room.pending).toBe(3);

      const acks = await Promise.all([lostAck, ...queued]);
      expect(acks.map((a) => a.seq)).toEqual([1, 2, 3]);
      expect(b.room.pending).toBe(0);
      await waitFor("bob's own messages", () => (b.seen.length === 3 ? true : undefined));
      expect(seqs(b.seen)).toEqual([1, 2, 3]);
      expect((await ada.api.allMessages(room.id)).map((m) => m.text)).toEqual(["first", "second", "third"]);

      // An explicit repeat of an applied id: acknowledged again with the same seq, nothing stored.
      expect(await b.room.send({ type: "message", id: "bob-1", text: "first" })).toEqual({ id: "bob-1", seq: 1 });
      expect((await ada.api.messages(room.id)).messages).toHaveLength(3);

      // A frame the server refuses rejects its promise with the error frame's code.
      await expect(b.room.send({ type: "read", seq: -1 })).rejects.toMatchObject({
        name: "RidewireError",
        code: "invalid_request",
      });
    },
  );

  it("treats missing pongs as a dead connection and replaces it", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const room = await sharedRoom(ada, bob);
    const b = connect(bob, room.id, { via: "proxy", heartbeat: { intervalMs: 200, timeoutMs: 300 } });
    await b.room.whenOpen();
    const pong = await b.room.next("pong");
    expect(pong).toEqual({ type: "pong" });

    // The link goes quiet without closing: only the heartbeat can tell.
    const dead = b.room.next("disconnect");
    proxy.silence();
    expect((await dead).reason).toMatch(/no pong/);
    await b.room.next("open");
    await ada.api.postMessage(room.id, "still there?");
    await waitFor("the message on the new connection", () => (b.seen.length === 1 ? true : undefined));
    proxy.dropAll();
  });

  it("calls the token hook before each reconnect and connects with what it returns", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const room = await sharedRoom(ada, bob);
    const calls: { attempt: number }[] = [];
    const b = connect(bob, room.id, {
      via: "proxy",
      refreshToken: async (info) => {
        calls.push({ attempt: info.attempt });
        // The first refresh gives a token the server refuses: that attempt fails, the next one works.
        if (calls.length === 1) return "not-a-valid-token";
        return (await bob.api.login({ email: bob.email, password: bob.password })).token;
      },
    });
    await b.room.whenOpen();
    expect(calls).toEqual([]);

    proxy.dropAll();
    await b.room.next("open");
    expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
    await ada.api.postMessage(room.id, "welcome back");
    await waitFor("the message", () => (b.seen.length === 1 ? true : undefined));
  });

  it("passes a reset on when its seq is one the room does not have, and goes on from the room's seq", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const room = await ada.api.createRoom({ name: "reset" });
    await ada.api.postMessage(room.id, "one");
    const a = connect(ada, room.id, { since: 99 });
    expect(await a.room.next("reset")).toEqual({ type: "reset", seq: 1 });
    expect(a.room.lastSeq).toBe(1);
    await ada.api.postMessage(room.id, "two");
    await waitFor("the next message", () => (a.seen.length === 1 ? true : undefined));
    expect(seqs(a.seen)).toEqual([2]);
  });

  it(
    "falls back to SSE and HTTP posts when WebSockets keep " +
      "failing while HTTP works, and resumes the stream by seq",
    async () => {
      const ada = await account(server.baseUrl, "rider", "Ada");
      const bob = await account(server.baseUrl, "driver", "Bob");
      const room = await sharedRoom(ada, bob);
      await ada.api.postMessage(room.id, "one");
      const a = connect(ada, room.id);
      await a.room.whenOpen();

      proxy.blockWebSockets = true;
      try {
        const refusedBefore = proxy.stats.refusedUpgrades;
        const b = connect(bob, room.id, { via: "proxy", since: 0, fallbackAfter: 2 });
        expect(await b.room.next("transport")).toMatchObject({ transport: "sse" });
        expect(await b.room.next("open")).toEqual({ transport: "sse", resumed: true });
        expect(proxy.stats.refusedUpgrades - refusedBefore).toBe(2);
        await waitFor("the replay over SSE", () => (b.seen.length === 1 ? true : undefined));

        // Live events arrive on the stream; bob's messages go as HTTP posts, keyed by frame id.
        await a.room.send({ type: "message", text: "two" });
        const ack = await b.room.send({ type: "message", id: "bob-sse-1", text: "three" });
        expect(ack).toEqual({ id: "bob-sse-1", seq: 3 });
        await waitFor("ada sees bob's post", () => (a.seen.some((m) => m.seq === 3) ? true : undefined));
        expect(b.room.sendVolatile({ type: "typing", active: true })).toBe(false);

        // The stream is cut, and stays unreachable while "four" is posted (a reconnect could
        // otherwise win the race and fire its "open" before the wait below is registered); it
        // comes back from Last-Event-ID with what it missed.
        const down = b.room.next("disconnect");
        proxy.refuseNew = true;
        proxy.dropAll();
        await down;
        await ada.api.postMessage(room.id, "four");
        const reopened = b.room.next("open");
        proxy.refuseNew = false;
        await reopened;
        await waitFor("four messages", () => (b.seen.length === 4 ? true : undefined));
        await sleep(100);
        expect(seqs(b.seen)).toEqual([1, 2, 3, 4]);
        expect(b.room.transport).toBe("sse");
        expect((await ada.api.allMessages(room.id)).map((m) => m.text)).toEqual(["one", "two", "three", "four"]);
      } finally {
        proxy.blockWebSockets = false;
        proxy.refuseNew = false;
      }
    },
  );
});

describe("driver channel", () => {
  it(
    "falls back to SSE when WebSockets keep failing: " +
      "offers arrive on the stream, the accept, the moves and the fixes go over HTTP",
    async () => {
      const dee = await account(server.baseUrl, "driver", "Dee");
      const rita = await account(server.baseUrl, "rider", "Rita");
      const pickup = { lat: 51.5074, lng: -0.1278 };
      await dee.api.goOnline(pickup);
      proxy.blockWebSockets = true;
      try {
        const viaProxy = new RidewireClient({ baseUrl: proxy.baseUrl, token: dee.token });
        const channel = viaProxy.driverChannel({ backoff: { initialDelayMs: 50, maxDelayMs: 500 }, fallbackAfter: 2 });
        expect(await channel.next("transport")).toMatchObject({ transport: "sse" });
        await channel.whenOpen();
        expect(channel.transport).toBe("sse");

        const offered = channel.next("offer", () => true, 20_000);
        const trip = await rita.api.requestTrip({ pickup, dropoff: { lat: 51.52, lng: -0.1 } });
        expect((await offered).tripId).toBe(trip.id);
        expect(await channel.send({ type: "offer.accept", tripId: trip.id })).toEqual({ id: expect.any(String) });
        expect((await rita.api.trip(trip.id)).status).toBe("accepted");

        // A fix posted over HTTP reaches the rider's trip socket.
        const watching = rita.api.tripRoom(trip.id);
        await watching.whenOpen();
        const seen = watching.next("location", () => true, 10_000);
        const at = Date.now() + 5_000;
        expect(channel.sendVolatile({ type: "location", lat: 51.5075, lng: -0.1277, at })).toBe(true);
        expect(await seen).toMatchObject({ type: "location", lat: 51.5075, lng: -0.1277, at });
        // The channel's trip moves take the same way: each becomes its HTTP route.
        expect(await channel.send({ type: "trip.arrived", tripId: trip.id })).toEqual({ id: expect.any(String) });
        expect((await rita.api.trip(trip.id)).status).toBe("arrived");
        // An accept for an offer that is gone is that frame's answer, over HTTP as over a socket.
        await expect(channel.send({ type: "offer.accept", tripId: "trip_gone" })).rejects.toMatchObject({
          name: "RidewireError",
        });
        watching.close();
        channel.close();
      } finally {
        proxy.blockWebSockets = false;
      }
    },
  );
});
