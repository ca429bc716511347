/**
 * Rate limits and connection caps under a hostile client (README, "Security"): the Workers
 * rate-limiting binding runs here as it does under wrangler dev (fixed windows aligned to the
 * clock, so a burst may straddle two windows: the assertions allow for that).
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, connect, connectOk, createRoom, joinRoom, registerUser, type TestUser } from "../helpers/api";

const CHAT_POSTS_PER_MINUTE = 120;
const CONNECTS_PER_MINUTE = 60;

async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => run(i + j)))));
  return out;
}

async function historyCount(user: TestUser, roomId: string): Promise<number> {
  let total = 0;
  let before: number | null | undefined;
  for (;;) {
    const res = await call("GET", `/v1/rooms/${roomId}/messages?limit=100${before ? `&before=${before}` : ""}`, {
      token: user.token,
    });
    total += res.body.messages.length;
    before = res.body.nextBefore;
    if (!before) return total;
  }
}

describe("HTTP chat posts", () => {
  it("answers 429 rate_limited with Retry-After past the limit in a 300-post burst, " +
    "stores only what it accepted, and leaves other users alone", async () => {
    const mallory = await registerUser();
    const ada = await registerUser();
    const room = await createRoom(mallory);
    await joinRoom(ada, room.id);
    const answers = await inBatches(300, 50, (i) =>
      call("POST", `/v1/rooms/${room.id}/messages`, { token: mallory.token, body: { text: `spam ${i}` } }),
    );
    const accepted = answers.filter((r) => r.status === 201);
    const limited = answers.filter((r) => r.status === 429);
    expect(accepted.length + limited.length).toBe(300);
    // One window, or two if the burst crossed a minute boundary.
    expect(accepted.length).toBeGreaterThanOrEqual(CHAT_POSTS_PER_MINUTE);
    expect(accepted.length).toBeLessThanOrEqual(2 * CHAT_POSTS_PER_MINUTE);
    expect(limited[0]!.body.error).toMatchObject({ code: "rate_limited", details: { routeClass: "chat_post" } });
    expect(limited[0]!.headers.get("Retry-After")).toBe("60");
    expect(await historyCount(ada, room.id)).toBe(accepted.length);

    // Another user in the same room is not affected.
    const other = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "still fine" },
    });
    expect(other.status).toBe(201);
    // ... nor is the throttled user's socket path, which has its own per-connection limits.
    const ws = await connectOk(`/v1/rooms/${room.id}/ws`, mallory.token);
    ws.send({ type: "message", id: "m1", text: "over the socket" });
    expect(await ws.next((f) => f.type === "ack" && f.id === "m1")).toMatchObject({ seq: expect.any(Number) });
    ws.close();
  }, 30_000);
});

describe("socket opens", () => {
  it("limits upgrades per user per minute, before any room is asked", async () => {
    const mallory = await registerUser();
    const statuses: number[] = [];
    for (let i = 0; i < 2 * CONNECTS_PER_MINUTE + 1 && !statuses.includes(429); i++) {
      statuses.push((await connect(`/v1/rooms/room_nowhere/ws`, { token: mallory.token })).status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThanOrEqual(CONNECTS_PER_MINUTE);
    const limited = await connect(`/v1/rooms/room_nowhere/ws`, { token: mallory.token });
    expect(limited.status).toBe(429);
    expect((limited.body as { error: { code: string } }).error.code).toBe("rate_limited");
    // SSE streams are the same class.
    const sse = await exports.default.fetch("http://ridewire.test/v1/rooms/room_nowhere/events", {
      headers: { Authorization: `Bearer ${mallory.token}`, Accept: "text/event-stream" },
    });
    expect(sse.status).toBe(429);
    expect(sse.headers.get("Retry-After")).toBe("60");
    await sse.body?.cancel();
    // Another user still connects.
    const ada = await registerUser();
    expect((await connect(`/v1/rooms/room_nowhere/ws`, { token: ada.token })).status).toBe(404);
  }, 30_000);

  it("caps a user's open sockets and streams in one room: the sixth answers 429 too_many_connections", async () => {
    const mallory = await registerUser();
    const ada = await registerUser();
    const room = await createRoom(mallory);
    await joinRoom(ada, room.id);
    const max = Number(env.MAX_CONNECTIONS_PER_USER_PER_ROOM);
    const sockets = [];
    for (let i = 0; i < max - 1; i++) sockets.push(await connectOk(`/v1/rooms/${room.id}/ws`, mallory.token));
    const stream = await exports.default.fetch(`http://ridewire.test/v1/rooms/${room.id}/events`, {
      headers: { Authorization: `Bearer ${mallory.token}`, Accept: "text/event-stream" },
    });
    expect(stream.status).toBe(200);
    const over = await connect(`/v1/rooms/${room.id}/ws`, { token: mallory.token });
    expect(over.status).toBe(429);
    expect((over.body as { error: unknown }).error).toMatchObject({ code: "too_many_connections", details: { max } });
    const overStream = await exports.default.fetch(`http://ridewire.test/v1/rooms/${room.id}/events`, {
      headers: { Authorization: `Bearer ${mallory.token}`, Accept: "text/event-stream" },
    });
    expect(overStream.status).toBe(429);
    await overStream.body?.cancel();
    // Others still get in, and the room still works for everyone.
    const adaSocket = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    adaSocket.send({ type: "message", id: "a1", text: "hi" });
    await adaSocket.next((f) => f.type === "ack" && f.id === "a1");
    // Closing one makes room for one more.
    sockets.pop()!.close();
    let reopened = await connect(`/v1/rooms/${room.id}/ws`, { token: mallory.token });
    for (let tries = 0; !reopened.socket && tries < 50; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      reopened = await connect(`/v1/rooms/${room.id}/ws`, { token: mallory.token });
    }
    expect(reopened.socket).not.toBeNull();
    for (const s of [...sockets, reopened.socket!, adaSocket]) s.close();
    await stream.body?.cancel();
  });
});

describe("anonymous routes", () => {
  it("counts the payment provider's webhook per client IP", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 1_300 && !statuses.includes(429); i++) {
      const res = await exports.default.fetch("http://ridewire.test/v1/payments/webhook", {
        method: "POST",
        headers: { "CF-Connecting-IP": "203.0.113.7", "Content-Type": "application/json" },
        body: "{}",
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 400)).toBe(true);
    const otherIp = await exports.default.fetch("http://ridewire.test/v1/payments/webhook", {
      method: "POST",
      headers: { "CF-Connecting-IP": "198.51.100.4", "Content-Type": "application/json" },
      body: "{}",
    });
    expect(otherIp.status).toBe(400);
    await otherIp.body?.cancel();
  }, 30_000);

  it("counts sign-ups and refreshes per client IP, so a flood of junk refresh tokens is cut off", async () => {
    const refresh = (ip: string) =>
      exports.default.fetch("http://ridewire.test/v1/auth/refresh", {
        method: "POST",
        headers: { "CF-Connecting-IP": ip, "Content-Type": "application/json" },
        body: JSON.stringify({ refreshToken: "junk-refresh-token-0123456789" }),
      });
    const statuses: number[] = [];
    // 500 per 10 s windows: more than four windows' worth, so a loop that crosses window
    // boundaries still fills one of them.
    for (let i = 0; i < 2_100 && !statuses.includes(429); i++) {
      const res = await refresh("203.0.113.9");
      await res.body?.cancel();
      statuses.push(res.status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    const otherIp = await refresh("198.51.100.9");
    expect(otherIp.status).toBe(401);
    await otherIp.body?.cancel();
  }, 120_000);
});
