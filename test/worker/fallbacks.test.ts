// The fallbacks for clients without WebSockets: SSE (`id:` = seq, `Last-Event-ID` resumes) and
// long polls, served by the room objects from the same log as their sockets, behind the same
// authentication and access checks.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { LatLng } from "../../src/protocol/common";
import { call, connectOk, createRoom, joinRoom, registerUser, type TestUser } from "../helpers/api";
import { eventStorageOf, expectError, flushOutbox, range, roomStorage, roomStub } from "../helpers/chat";
import {
  acceptedTrip,
  area,
  driverAction,
  offset,
  onlineDriver,
  settle,
  stopTripAlarms,
  waitFor,
  type OnlineDriver,
} from "../helpers/dispatch";

afterAll(stopTripAlarms);

/** A frame as the server sends it; tests look into it with toMatchObject. */
type Frame = { type: string; seq?: number; [key: string]: unknown };
type SseEvent = { id?: number; data: Frame };

/** An open SSE response, read event by event from `res.body`; waits reject after a timeout. */
class SseStream {
  readonly events: SseEvent[] = [];
  /** Comment lines (heartbeats) seen so far. */
  comments = 0;
  ended = false;
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  private taken = 0;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next event (past those already taken) that matches. */
  async next(match: (e: SseEvent) => boolean = () => true, timeoutMs = 3_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.taken < this.events.length) {
        const event = this.events[this.taken++]!;
        if (match(event)) return event;
      }
      if (this.ended) throw new Error(`the stream ended; got ${this.describe()}`);
      if (!(await this.readFor(deadline - Date.now())))
        throw new Error(`timed out waiting for an SSE event; got ${this.describe()}`);
    }
  }

  nextOfType(type: string, timeoutMs?: number): Promise<SseEvent> {
    return this.next((e) => e.data.type === type, timeoutMs);
  }

  /** Resolves once the server ends the stream; rejects after `timeoutMs`. */
  async end(timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended)
      if (!(await this.readFor(deadline - Date.now())))
        throw new Error(`the stream is still open; got ${this.describe()}`);
  }

  /** Reads what arrives for up to `ms` (everything until then); false when nothing came in time. */
  private async readFor(ms: number): Promise<boolean> {
    if (ms <= 0) return false;
    this.pending ??= this.reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.pending,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), ms))),
    ]);
    clearTimeout(timer);
    if (result === null) return false;
    this.pending = null;
    if (result.done) this.ended = true;
    else this.buffer += this.decoder.decode(result.value, { stream: true });
    this.parse();
    return true;
  }

  /** Reads everything that arrives within `ms`; for checking that something did not come. */
  async drain(ms = 150): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended && (await this.readFor(deadline - Date.now())));
  }

  /** Events received so far, taken or not, that match. */
  seen(match: (e: SseEvent) => boolean): SseEvent[] {
    return this.events.filter(match);
  }

  private parse(): void {
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: number | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) this.comments++;
        else if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0)
        this.events.push({ ...(id === undefined ? {} : { id }), data: JSON.parse(data.join("\n")) as Frame });
    }
  }

  private describe(): string {
    return JSON.stringify(this.events).slice(0, 1_000);
  }

  close(): void {
    this.reader.cancel().catch(() => undefined);
  }
}

type Opened = { status: number; body: unknown; headers: Headers; stream: SseStream | null };

async function openEvents(
  path: string,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<Opened> {
  const headers: Record<string, string> = { Accept: "text/event-stream", ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await exports.default.fetch(`http://ridewire.test${path}`, { headers });
  if (res.status !== 200 || !res.body)
    return { status: res.status, body: await res.json().catch(() => null), headers: res.headers, stream: null };
  return { status: res.status, body: null, headers: res.headers, stream: new SseStream(res.body) };
}

async function openOk(path: string, token?: string, headers?: Record<string, string>): Promise<SseStream> {
  const opened = await openEvents(path, { ...(token === undefined ? {} : { token }), ...(headers ? { headers } : {}) });
  if (!opened.stream) throw new Error(`SSE refused: ${opened.status} ${JSON.stringify(opened.body)}`);
  expect(opened.headers.get("Content-Type")).toContain("text/event-stream");
  return opened.stream;
}

async function post(user: TestUser, roomId: string, text: string) {
  const res = await call("POST", `/v1/rooms/${roomId}/messages`, { token: user.token, body: { text } });
  expect(res.status).toBe(201);
  return res.body.message;
}

async function poll(path: string, token?: string): Promise<{ status: number; body: { events: Frame[]; seq: number } }> {
  return call("GET", path, token === undefined ? {} : { token });
}

/** Keeps only the newest `keep` events of a room's log, as the alarm's trim does with ROOM_RETENTION_EVENTS. */
async function trimLog(roomId: string, keep: number): Promise<void> {
  await flushOutbox(roomId);
  await runInDurableObject(roomStub(roomId), (instance) => {
    eventStorageOf(instance).trim(keep);
  });
}

const notPresence = (e: SseEvent) => e.data.type !== "presence";

let fixCounter = 0;
/** Sends a fix on the driver channel and waits for its ack; `at` is ahead so the move is a plausible speed. */
async function sendFix(driver: OnlineDriver, point: LatLng): Promise<void> {
  const id = `fix-${fixCounter++}`;
  driver.socket.send({ type: "location", id, lat: point.lat, lng: point.lng, at: Date.now() + 4_000 });
  expect(await driver.socket.next((f) => f.id === id)).toMatchObject({ type: "ack" });
}

describe("SSE", () => {
  it("opens with welcome, then sends each stored event with its seq as the id and ephemeral ones without", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const stream = await openOk(`/v1/rooms/${room.id}/events`, ada.token);
    // A fresh stream stands at the welcome's seq: a browser reconnecting resumes from there.
    expect(await stream.next()).toMatchObject({
      id: 0,
      data: { type: "welcome", seq: 0, members: [ada.user.id, bob.user.id], online: [ada.user.id] },
    });
    // Like a socket, the stream hears its own user join.
    expect(await stream.next()).toEqual({ data: { type: "presence", event: "join", userId: ada.user.id } });
    const message = await post(ada, room.id, "hello over SSE");
    expect(await stream.next()).toEqual({ id: 1, data: { type: "message", seq: 1, message } });

    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, bob.token);
    await socket.nextOfType("welcome");
    socket.send({ type: "typing", active: true });
    expect(await stream.nextOfType("presence")).toEqual({
      data: { type: "presence", event: "join", userId: bob.user.id },
    });
    expect(await stream.nextOfType("typing")).toEqual({ data: { type: "typing", userId: bob.user.id, active: true } });
    socket.send({ type: "message", id: "m2", text: "and back" });
    expect(await stream.nextOfType("message")).toMatchObject({
      id: 2,
      data: { seq: 2, message: { text: "and back", userId: bob.user.id } },
    });
    socket.close();
    stream.close();
  });

  it(
    "resumes from Last-Event-ID with exactly the missed events, " +
      "then synced; the header wins over ?since=, and ?access_token= works",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const room = await createRoom(ada);
      for (const text of ["one", "two", "three"]) await post(ada, room.id, text);
      const stream = await openOk(`/v1/rooms/${room.id}/events?since=0&access_token=${ada.token}`, undefined, {
        "Last-Event-ID": "1",
      });
      // The welcome of a resume has no id: the client still stands at its Last-Event-ID until the replay.
      expect(await stream.next()).toMatchObject({ data: { type: "welcome", seq: 3 } });
      expect(stream.events[0]!.id).toBeUndefined();
      const replay = [await stream.next(), await stream.next()];
      expect(replay).toMatchObject([
        { id: 2, data: { type: "message", seq: 2, message: { text: "two" } } },
        { id: 3, data: { type: "message", seq: 3, message: { text: "three" } } },
      ]);
      expect(await stream.next()).toEqual({ data: { type: "synced", seq: 3 } });
      // Live after the replay (and the stream's own presence join, as a socket's).
      await post(ada, room.id, "four");
      expect(await stream.nextOfType("message")).toMatchObject({ id: 4, data: { message: { text: "four" } } });
      stream.close();

      // ?since= alone resumes the same way.
      const bySince = await openOk(`/v1/rooms/${room.id}/events?since=3`, ada.token);
      await bySince.nextOfType("welcome");
      expect(await bySince.next(notPresence)).toMatchObject({ id: 4, data: { seq: 4 } });
      expect(await bySince.next(notPresence)).toEqual({ data: { type: "synced", seq: 4 } });
      bySince.close();
    },
  );

  it(
    "sends reset (with the current seq as its id) when " +
      "Last-Event-ID is older than the room keeps or beyond its log",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const room = await createRoom(ada);
      for (let i = 1; i <= 6; i++) await post(ada, room.id, `m${i}`);
      await trimLog(room.id, 2);
      expect(await roomStorage(room.id)).toMatchObject({ firstSeq: 5, lastSeq: 6 });

      for (const lastId of ["3", "9"]) {
        const stream = await openOk(`/v1/rooms/${room.id}/events`, ada.token, { "Last-Event-ID": lastId });
        await stream.nextOfType("welcome");
        // With the id a browser stops asking for the lost seq on every reconnect.
        expect(await stream.next()).toEqual({ id: 6, data: { type: "reset", seq: 6 } });
        await stream.drain();
        expect(stream.seen((e) => e.data.type === "message" || e.data.type === "synced")).toEqual([]);
        stream.close();
      }
      // 4 is the newest seq the log dropped: everything after it is still there.
      const stream = await openOk(`/v1/rooms/${room.id}/events`, ada.token, { "Last-Event-ID": "4" });
      await stream.nextOfType("welcome");
      expect((await stream.next()).id).toBe(5);
      expect((await stream.next()).id).toBe(6);
      expect(await stream.next()).toEqual({ data: { type: "synced", seq: 6 } });
      stream.close();
    },
  );

  it(
    "answers 400 to a Last-Event-ID that is not a seq, " +
      "401 without a token, 403 to a non-member, 404 to an unknown room",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const room = await createRoom(ada, { private: true });
      expectError(
        await openEvents(`/v1/rooms/${room.id}/events`, { token: ada.token, headers: { "Last-Event-ID": "abc" } }),
        400,
        "invalid_request",
      );
      expectError(
        await openEvents(`/v1/rooms/${room.id}/events?since=-1`, { token: ada.token }),
        400,
        "invalid_request",
      );
      expectError(await openEvents(`/v1/rooms/${room.id}/events`), 401, "unauthorized");
      expectError(await openEvents(`/v1/rooms/${room.id}/events?access_token=not-a-token`), 401, "unauthorized");
      const stranger = await registerUser("rider");
      expectError(await openEvents(`/v1/rooms/${room.id}/events`, { token: stranger.token }), 403, "forbidden");
      expectError(await openEvents(`/v1/rooms/room_nope/events`, { token: ada.token }), 404, "not_found");
      // Once a member adds them, the same checks as the socket's let them in.
      expect(
        (await call("POST", `/v1/rooms/${room.id}/members`, { token: ada.token, body: { userId: stranger.user.id } }))
          .status,
      ).toBe(200);
      const stream = await openOk(`/v1/rooms/${room.id}/events`, stranger.token);
      await stream.nextOfType("welcome");
      stream.close();
    },
  );

  it(
    "counts as a connection: presence joins with a user's " +
      "first connection and leaves with the last, socket or stream",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const bob = await registerUser("rider", "Bob");
      const room = await createRoom(ada);
      await joinRoom(bob, room.id);
      const watcher = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
      await watcher.nextOfType("welcome");
      const isBob = (event: string) => (f: { type: string; event?: string; userId?: string }) =>
        f.type === "presence" && f.userId === bob.user.id && f.event === event;

      const stream = await openOk(`/v1/rooms/${room.id}/events`, bob.token);
      expect(await stream.nextOfType("welcome")).toMatchObject({
        data: { online: expect.arrayContaining([ada.user.id, bob.user.id]) },
      });
      await watcher.next(isBob("join"));
      // A socket alongside the stream is not a second join, and closing it is no leave.
      const socket = await connectOk(`/v1/rooms/${room.id}/ws`, bob.token);
      expect((await socket.nextOfType("welcome")).online).toContain(bob.user.id);
      socket.close();
      await settle();
      expect(
        watcher.frames.filter((f) => f.type === "presence" && f.userId === bob.user.id).map((f) => f.event),
      ).toEqual(["join"]);

      // The client going away ends the stream in the room at once: the last connection leaves.
      stream.close();
      await watcher.next(isBob("leave"));
      const again = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
      expect((await again.nextOfType("welcome")).online).toEqual([ada.user.id]);
      again.close();
      watcher.close();
    },
  );

  it("counts as online for notifications: a member with a stream open gets none, one without does", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const carol = await registerUser("rider", "Carol");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    await joinRoom(carol, room.id);
    const stream = await openOk(`/v1/rooms/${room.id}/events`, carol.token);
    await stream.nextOfType("welcome");
    const message = await post(ada, room.id, "who hears this?");
    expect(await stream.nextOfType("message")).toMatchObject({ data: { message: { id: message.id } } });
    const notificationsOf = async (user: TestUser): Promise<{ type: string }[]> =>
      (await call("GET", "/v1/notifications", { token: user.token })).body.notifications;
    // Bob has no connection: his notification is recorded (failed, as he has no device).
    await waitFor(
      "bob's notification",
      async () => ((await notificationsOf(bob)).length > 0 ? true : undefined),
      8_000,
    );
    expect(await notificationsOf(carol)).toEqual([]);
    stream.close();
  });

  it("notifies exactly the members with no connection, " +
    "as sockets and streams come and go and across hibernation", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const carol = await registerUser("rider", "Carol");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const notified = async (user: TestUser): Promise<string[]> =>
      ((await call("GET", "/v1/notifications?limit=100", { token: user.token })).body.notifications as { id: string }[])
        .map((n) => n.id)
        .sort();
    const idOf = (message: { seq: number }, user = bob) => `chat:${room.id}:${message.seq}:${user.user.id}`;
    const bobSockets = () =>
      runInDurableObject(roomStub(room.id), (_room, state) => state.getWebSockets(bob.user.id).length);
    const a = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    await a.nextOfType("welcome");
    const b1 = await connectOk(`/v1/rooms/${room.id}/ws`, bob.token);
    const b2 = await connectOk(`/v1/rooms/${room.id}/ws`, bob.token);
    await b1.nextOfType("welcome");
    await b2.nextOfType("welcome");

    await post(ada, room.id, "both sockets open");
    // Carol joins once the room has counted its members, and never connects.
    await joinRoom(carol, room.id);
    // One of bob's two sockets goes: he is still online.
    b1.close();
    await waitFor("bob's first socket gone", async () => ((await bobSockets()) === 1 ? true : undefined));
    await post(ada, room.id, "one socket left");
    // A woken room counts the hibernated sockets again.
    await evictDurableObject(roomStub(room.id), { webSockets: "hibernate" });
    await post(ada, room.id, "after hibernation");
    b2.close();
    await a.next((f) => f.type === "presence" && f.event === "leave" && f.userId === bob.user.id);
    const offline = await post(ada, room.id, "bob is away");
    const stream = await openOk(`/v1/rooms/${room.id}/events`, bob.token);
    await stream.nextOfType("welcome");
    await post(ada, room.id, "bob streams");
    stream.close();
    await a.next((f) => f.type === "presence" && f.event === "leave" && f.userId === bob.user.id);
    const away = await post(ada, room.id, "bob is away again");

    await waitFor("bob's two notifications", async () => ((await notified(bob)).length >= 2 ? true : undefined), 8_000);
    expect(await notified(bob)).toEqual([idOf(offline), idOf(away)].sort());
    await waitFor(
      "carol's five notifications",
      async () => ((await notified(carol)).length >= 5 ? true : undefined),
      8_000,
    );
    expect(await notified(carol)).toEqual(
      range(2, 6)
        .map((seq) => idOf({ seq }, carol))
        .sort(),
    );
    a.close();
  }, 20_000);

  it("streams a trip's status frames and the driver's exact position to the rider only", async () => {
    const pickup = area(60);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const riderStream = await openOk(`/v1/trips/${trip.id}/events`, rider.token);
    expect(await riderStream.next()).toMatchObject({
      id: 2,
      data: { type: "welcome", seq: 2, trip: { status: "accepted" } },
    });
    const driverStream = await openOk(`/v1/trips/${trip.id}/events?access_token=${driver.token}`);
    await driverStream.nextOfType("welcome");

    const at = offset(pickup, 0.2);
    await sendFix(driver, at);
    const location = await riderStream.nextOfType("location");
    expect(location.id).toBeUndefined();
    expect(location.data).toMatchObject({ lat: at.lat, lng: at.lng, etaSec: expect.any(Number) });

    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    for (const stream of [riderStream, driverStream]) {
      const status = await stream.nextOfType("status");
      expect(status).toMatchObject({ id: 3, data: { seq: 3, trip: { status: "arrived" } } });
    }
    await driverStream.drain();
    expect(driverStream.seen((e) => e.data.type === "location")).toEqual([]);

    const stranger = await registerUser("rider");
    expectError(await openEvents(`/v1/trips/${trip.id}/events`, { token: stranger.token }), 403, "forbidden");
    expectError(await openEvents(`/v1/trips/${trip.id}/events`), 401, "unauthorized");
    expectError(await openEvents(`/v1/trips/trip_nope/events`, { token: rider.token }), 404, "not_found");
    riderStream.close();
    driverStream.close();
    driver.socket.close();
  });

  it(
    "ends the stream of a driver who hands the trip back, after their own status, as it closes their " + "socket",
    async () => {
      const pickup = area(61);
      const driver = await onlineDriver(offset(pickup, 0.3));
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      const riderStream = await openOk(`/v1/trips/${trip.id}/events`, rider.token);
      await riderStream.nextOfType("welcome");
      const driverStream = await openOk(`/v1/trips/${trip.id}/events`, driver.token);
      await driverStream.nextOfType("welcome");

      expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: driver.token })).status).toBe(200);
      expect(await driverStream.nextOfType("status")).toMatchObject({
        data: { trip: { status: "matching", driverId: null } },
      });
      await driverStream.end();
      expect(await riderStream.nextOfType("status")).toMatchObject({ data: { trip: { status: "matching" } } });
      expectError(await openEvents(`/v1/trips/${trip.id}/events`, { token: driver.token }), 403, "forbidden");
      expectError(await poll(`/v1/trips/${trip.id}/poll?timeout=0`, driver.token), 403, "forbidden");

      // The rider's stream lives on.
      expect(
        (await call("POST", `/v1/trips/${trip.id}/messages`, { token: rider.token, body: { text: "still here" } }))
          .status,
      ).toBe(201);
      expect(await riderStream.nextOfType("message")).toMatchObject({ data: { message: { text: "still here" } } });
      riderStream.close();
      driver.socket.close();
    },
  );
});

describe("long poll", () => {
  it("answers at once with the events after since, a page of at most 100, from which the client polls on", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    for (const text of ["one", "two"]) await post(ada, room.id, text);
    const res = await poll(`/v1/rooms/${room.id}/poll?since=1&timeout=10`, ada.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ seq: 2, events: [{ type: "message", seq: 2, message: { text: "two" } }] });
    expect(res.body.events).toHaveLength(1);

    await Promise.all(Array.from({ length: 103 }, (_, i) => post(ada, room.id, `bulk ${i}`)));
    const first = await poll(`/v1/rooms/${room.id}/poll?since=0`, ada.token);
    expect(first.body.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(first.body.seq).toBe(100);
    const second = await poll(`/v1/rooms/${room.id}/poll?since=${first.body.seq}`, ada.token);
    expect(second.body.events.map((e) => e.seq)).toEqual([101, 102, 103, 104, 105]);
    expect(second.body.seq).toBe(105);
  });

  it("waits for the next stored event and answers with it; ?access_token= works", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    await post(ada, room.id, "before");
    const started = Date.now();
    const waiting = poll(`/v1/rooms/${room.id}/poll?since=1&timeout=10&access_token=${ada.token}`);
    await settle(200);
    await post(ada, room.id, "worth the wait");
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      seq: 2,
      events: [{ type: "message", seq: 2, message: { text: "worth the wait" } }],
    });
    expect(res.body.events).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it(
    "answers an empty list at the timeout, and reset when since is beyond the log or older than it " + "keeps",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const room = await createRoom(ada);
      await post(ada, room.id, "one");
      const started = Date.now();
      const quiet = await poll(`/v1/rooms/${room.id}/poll?since=1&timeout=1`, ada.token);
      expect(quiet).toMatchObject({ status: 200, body: { events: [], seq: 1 } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect((await poll(`/v1/rooms/${room.id}/poll?since=1&timeout=0`, ada.token)).body).toEqual({
        events: [],
        seq: 1,
      });
      expect((await poll(`/v1/rooms/${room.id}/poll?since=9&timeout=1`, ada.token)).body).toEqual({
        events: [{ type: "reset", seq: 1 }],
        seq: 1,
      });

      for (let i = 2; i <= 6; i++) await post(ada, room.id, `m${i}`);
      await trimLog(room.id, 2);
      expect((await poll(`/v1/rooms/${room.id}/poll?since=3`, ada.token)).body).toEqual({
        events: [{ type: "reset", seq: 6 }],
        seq: 6,
      });
      expect((await poll(`/v1/rooms/${room.id}/poll?since=4`, ada.token)).body.events.map((e) => e.seq)).toEqual([
        5, 6,
      ]);
    },
  );

  it(
    "answers 400 to a bad timeout or since, 401 without a token, 403 to a non-member and 404 to an unknown " + "room",
    async () => {
      const ada = await registerUser("rider", "Ada");
      const room = await createRoom(ada, { private: true });
      for (const query of ["timeout=31", "timeout=-1", "timeout=1.5", "timeout=soon", "since=-1", "since=x"]) {
        expectError(await poll(`/v1/rooms/${room.id}/poll?${query}`, ada.token), 400, "invalid_request");
      }
      const stranger = await registerUser("rider");
      expectError(await poll(`/v1/rooms/${room.id}/poll?timeout=0`, stranger.token), 403, "forbidden");
      expectError(await poll(`/v1/rooms/${room.id}/poll?timeout=0`), 401, "unauthorized");
      expectError(await poll(`/v1/rooms/${room.id}/poll?timeout=0&access_token=nope`), 401, "unauthorized");
      expectError(await poll(`/v1/rooms/room_nope/poll?timeout=0`, ada.token), 404, "not_found");
    },
  );

  it("serves a trip's log to its rider and driver and no one else", async () => {
    const pickup = area(62);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const history = await poll(`/v1/trips/${trip.id}/poll?since=0`, rider.token);
    expect(history.body).toMatchObject({
      seq: 2,
      events: [
        { type: "status", seq: 1, trip: { status: "matching" } },
        { type: "status", seq: 2, trip: { status: "accepted" } },
      ],
    });

    const waiting = poll(`/v1/trips/${trip.id}/poll?since=2&timeout=10`, driver.token);
    await settle(100);
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    expect((await waiting).body).toMatchObject({
      seq: 3,
      events: [{ type: "status", seq: 3, trip: { status: "arrived" } }],
    });

    const stranger = await registerUser("rider");
    expectError(await poll(`/v1/trips/${trip.id}/poll?timeout=0`, stranger.token), 403, "forbidden");
    expectError(await poll(`/v1/trips/${trip.id}/poll?timeout=0`), 401, "unauthorized");
    expectError(await poll(`/v1/trips/trip_nope/poll?timeout=0`, rider.token), 404, "not_found");
    driver.socket.close();
  });
});

describe("the driver channel without WebSockets", () => {
  it(
    "streams the welcome and offers over SSE, " +
      "takes fixes over HTTP with the channel's checks, and an accept over HTTP",
    async () => {
      const pickup = area(70);
      const driver = await registerUser("driver", "Dee");
      const start = offset(pickup, 0.3);
      expect(
        (await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: start } })).status,
      ).toBe(200);
      const stream = await openOk("/v1/drivers/me/events", driver.token);
      expect((await stream.nextOfType("welcome")).data).toMatchObject({
        driver: { id: driver.user.id, status: "available", connected: true },
      });

      const fix = (point: LatLng, at: number) =>
        call("POST", "/v1/drivers/me/location", { token: driver.token, body: { lat: point.lat, lng: point.lng, at } });
      const now = Date.now();
      const near = offset(pickup, 0.2);
      // 100 m in 4 s from where the driver went online: a plausible drive (and within FIX_MAX_AHEAD_MS).
      expect(await fix(near, now + 4_000)).toMatchObject({ status: 200, body: { accepted: true } });
      expect((await call("GET", "/v1/drivers/me", { token: driver.token })).body.driver.location).toEqual(near);
      expectError(await fix(offset(pickup, 60), now + 4_500), 400, "invalid_request");
      expectError(await fix(near, now - 150_000), 400, "invalid_request");
      expectError(
        await call("POST", "/v1/drivers/me/location", { token: driver.token, body: { lat: 91, lng: 0, at: now } }),
        400,
        "invalid_request",
      );
      // At most two a second, as on the socket (the fixes above took from the same allowance).
      const burst = await Promise.all([1, 2, 3].map((i) => fix(offset(near, 0.001 * i), now + 4_000 + i * 250)));
      expect(burst.some((r) => r.status === 429 && r.body.error.code === "rate_limited")).toBe(true);
      await settle(1_100);
      expect((await fix(offset(near, 0.005), Date.now() + 4_000)).status).toBe(200);

      // Connected through the stream: the offer comes on it, not as a notification.
      const rider = await registerUser("rider");
      const trip = (
        await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff: offset(pickup, 3) } })
      ).body.trip;
      const offer = await stream.next((e) => e.data.type === "offer" && e.data.tripId === trip.id, 5_000);
      expect(offer.data).toMatchObject({ pickup, fare: trip.quote.fare, expiresAt: expect.any(Number) });
      expect(offer.id).toBeUndefined();
      expect((await call("POST", `/v1/trips/${trip.id}/accept`, { token: driver.token })).status).toBe(200);
      expect((await stream.next((e) => e.data.type === "trip", 5_000)).data).toMatchObject({
        trip: { id: trip.id, status: "accepted", driverId: driver.user.id },
      });
      stream.close();
    },
  );

  it("is for drivers only", async () => {
    const rider = await registerUser("rider");
    expect((await openEvents("/v1/drivers/me/events", { token: rider.token })).status).toBe(403);
    expect((await openEvents("/v1/drivers/me/events")).status).toBe(401);
    expectError(
      await call("POST", "/v1/drivers/me/location", { token: rider.token, body: { lat: 1, lng: 1, at: Date.now() } }),
      403,
      "forbidden",
    );
  });
});

describe("OpenAPI", () => {
  it("lists the SSE and long-poll routes", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    for (const kind of ["rooms", "trips"]) {
      expect(doc.paths[`/v1/${kind}/{id}/events`].get.responses["200"].content).toHaveProperty("text/event-stream");
      expect(doc.paths[`/v1/${kind}/{id}/events`].get.parameters).toContainEqual(
        expect.objectContaining({ name: "Last-Event-ID", in: "header" }),
      );
      expect(doc.paths[`/v1/${kind}/{id}/poll`].get.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(["since", "timeout"]),
      );
    }
  });
});
