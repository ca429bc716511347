// The fallbacks for clients without WebSockets: SSE (`id:` = seq, `Last-Event-ID` resumes) and
// long polls, served by the room objects from the same log as their sockets, behind the same
// authentication and access checks.
import { exports } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { call, connectOk, createRoom, registerUser, type TestUser } from "../helpers/api";
import { expectError } from "../helpers/chat";
import { acceptedTrip, area, driverAction, offset, onlineDriver, stopTripAlarms } from "../helpers/dispatch";

afterAll(stopTripAlarms);

type SseEvent = { id?: number; data: any };

/** An open SSE response, read event by event; waits reject after a timeout. */
class SseStream {
  readonly events: SseEvent[] = [];
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
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for an SSE event; got ${JSON.stringify(this.events).slice(0, 1_000)}`);
      this.pending ??= this.reader.read();
      const result = await Promise.race([this.pending, new Promise<null>((r) => setTimeout(() => r(null), left))]);
      if (result === null) continue;
      this.pending = null;
      if (result.done) throw new Error("the stream ended");
      this.buffer += this.decoder.decode(result.value, { stream: true });
      this.parse();
    }
  }

  private parse(): void {
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: number | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ ...(id === undefined ? {} : { id }), data: JSON.parse(data.join("\n")) });
    }
  }

  close(): void {
    this.reader.cancel().catch(() => undefined);
  }
}

async function openEvents(path: string, options: { token?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { Accept: "text/event-stream", ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await exports.default.fetch(`http://ridewire.test${path}`, { headers });
  if (res.status !== 200 || !res.body) return { status: res.status, body: await res.json().catch(() => null), stream: null };
  expect(res.headers.get("Content-Type")).toContain("text/event-stream");
  return { status: res.status, body: null, stream: new SseStream(res.body) };
}

async function post(user: TestUser, roomId: string, text: string) {
  const res = await call("POST", `/v1/rooms/${roomId}/messages`, { token: user.token, body: { text } });
  expect(res.status).toBe(201);
  return res.body.message;
}

describe("SSE", () => {
  it("opens with welcome, then sends each stored event with its seq as the id", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    const { stream } = await openEvents(`/v1/rooms/${room.id}/events`, { token: ada.token });
    expect((await stream!.next()).data).toMatchObject({ type: "welcome", seq: 0 });
    const message = await post(ada, room.id, "hello over SSE");
    expect(await stream!.next()).toEqual({ id: 1, data: { type: "message", seq: 1, message } });
    stream!.close();
  });

  it("resumes from Last-Event-ID with exactly the missed events, then synced; ?access_token= works", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    for (const text of ["one", "two", "three"]) await post(ada, room.id, text);
    const { stream } = await openEvents(`/v1/rooms/${room.id}/events?access_token=${ada.token}`, { headers: { "Last-Event-ID": "1" } });
    expect((await stream!.next()).data.type).toBe("welcome");
    const replay = [await stream!.next(), await stream!.next()];
    expect(replay.map((e) => [e.id, e.data.message.text])).toEqual([
      [2, "two"],
      [3, "three"],
    ]);
    expect((await stream!.next()).data).toEqual({ type: "synced", seq: 3 });
    stream!.close();
  });

  it("counts its user as online, so that notifications skip them and sockets see them in welcome", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("rider", "Bob");
    const room = await createRoom(ada);
    expect((await call("POST", `/v1/rooms/${room.id}/join`, { token: bob.token })).status).toBe(200);
    const { stream } = await openEvents(`/v1/rooms/${room.id}/events`, { token: bob.token });
    await stream!.next((e) => e.data.type === "welcome");
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    const welcome = await socket.nextOfType("welcome");
    expect(welcome.online).toContain(bob.user.id);
    socket.close();
    stream!.close();
  });

  it("streams a trip's status frames to its rider, and refuses strangers with 403 and no token with 401", async () => {
    const pickup = area(60);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const { stream } = await openEvents(`/v1/trips/${trip.id}/events`, { token: rider.token });
    expect((await stream!.next()).data).toMatchObject({ type: "welcome", trip: { status: "accepted" } });
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    const status = await stream!.next((e) => e.data.type === "status");
    expect(status.data.trip.status).toBe("arrived");
    expect(status.id).toBe(status.data.seq);

    const stranger = await registerUser("rider");
    expectError(await openEvents(`/v1/trips/${trip.id}/events`, { token: stranger.token }), 403, "forbidden");
    expectError(await openEvents(`/v1/trips/${trip.id}/events`), 401, "unauthorized");
    stream!.close();
    driver.socket.close();
  });
});

describe("long poll", () => {
  it("answers at once with the events after since", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    for (const text of ["one", "two"]) await post(ada, room.id, text);
    const res = await call("GET", `/v1/rooms/${room.id}/poll?since=1&timeout=10`, { token: ada.token });
    expect(res.status).toBe(200);
    expect(res.body.seq).toBe(2);
    expect(res.body.events.map((e: any) => [e.type, e.seq, e.message.text])).toEqual([["message", 2, "two"]]);
  });

  it("waits for the next event and answers with it; ?access_token= works", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    const started = Date.now();
    const waiting = call("GET", `/v1/rooms/${room.id}/poll?since=0&timeout=10&access_token=${ada.token}`);
    await new Promise((r) => setTimeout(r, 200));
    await post(ada, room.id, "worth the wait");
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: any) => e.message.text)).toEqual(["worth the wait"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers an empty list at the timeout, and reset when since is beyond the log", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    await post(ada, room.id, "one");
    const quiet = await call("GET", `/v1/rooms/${room.id}/poll?since=1&timeout=1`, { token: ada.token });
    expect(quiet.body).toEqual({ events: [], seq: 1 });
    const ahead = await call("GET", `/v1/rooms/${room.id}/poll?since=9&timeout=1`, { token: ada.token });
    expect(ahead.body).toEqual({ events: [{ type: "reset", seq: 1 }], seq: 1 });
  });

  it("answers 400 to a bad timeout or since, 403 to a non-member, 401 without a token and 404 to an unknown room", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada, { private: true });
    expectError(await call("GET", `/v1/rooms/${room.id}/poll?timeout=31`, { token: ada.token }), 400, "invalid_request");
    expectError(await call("GET", `/v1/rooms/${room.id}/poll?since=-1`, { token: ada.token }), 400, "invalid_request");
    const stranger = await registerUser("rider");
    expectError(await call("GET", `/v1/rooms/${room.id}/poll?timeout=0`, { token: stranger.token }), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/${room.id}/poll?timeout=0`), 401, "unauthorized");
    expectError(await call("GET", `/v1/rooms/room_nope/poll?timeout=0`, { token: ada.token }), 404, "not_found");
  });
});
