// The server publish API (issue 22; README, "Server publish API"): API keys an operator makes,
// scoped to rooms and to publish/read, stored hashed and revocable at once; a backend's message
// into a room as a named system sender, on the room's own log (socket, SSE, long poll, history,
// resume, notifications of offline members); broadcasts; idempotency; a rate limit per key.
// Hostile callers throughout: keys outside their scopes, a revoked key, a user's token on the
// server routes and a key on the user routes, senders posing as users, a huge broadcast, an
// idempotency key replayed with another body.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiKeyScopes } from "../../src/protocol/server-api";
import { registerAdmin } from "../helpers/admin";
import { call, connectOk, createRoom, joinRoom, registerUser, type TestUser, unique } from "../helpers/api";
import { archivedSeqs, expectError, flushOutbox, roomStub, wsPath } from "../helpers/chat";
import { notificationShard } from "../helpers/shards";

const BASE = "http://ridewire.test";
const BROADCASTS_PER_MINUTE = 30;

type Key = { id: string; secret: string };

async function makeKey(admin: TestUser, scopes: ApiKeyScopes, name = unique("backend")): Promise<Key> {
  const res = await call("POST", "/v1/admin/api-keys", { token: admin.token, body: { name, scopes } });
  expect(res.status).toBe(201);
  return { id: res.body.apiKey.id, secret: res.body.secret };
}

const publish = (key: string, roomId: string, body: unknown, headers: Record<string, string> = {}) =>
  call("POST", `/v1/server/rooms/${roomId}/messages`, { token: key, body, headers });
const broadcast = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  call("POST", "/v1/server/broadcast", { token: key, body, headers });
const serverHistory = (key: string, roomId: string) =>
  call("GET", `/v1/server/rooms/${roomId}/messages`, { token: key });
const userHistory = async (user: TestUser, roomId: string) => {
  const res = await call("GET", `/v1/rooms/${roomId}/messages`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.messages as { seq: number; userId: string; text?: string }[];
};

/** A room with ada (its creator) and bob; only ada is ever connected in these tests. */
async function roomWithTwo() {
  const ada = await registerUser("rider", "Ada");
  const bob = await registerUser("rider", "Bob");
  const room = await createRoom(ada);
  await joinRoom(bob, room.id);
  return { ada, bob, room };
}

/** An SSE stream's text until it holds `needle`; rejects after `timeoutMs`. */
async function sseUntil(res: Response, needle: string, timeoutMs = 3_000): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) throw new Error("no body");
  const decoder = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (!text.includes(needle)) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(1, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    if (chunk === null || chunk.done) throw new Error(`no ${needle} in ${text.slice(0, 400)}`);
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel();
  return text;
}

describe("API keys", () => {
  it("are made by operators only, show their secret once, keep its hash, and are audited", async () => {
    const admin = await registerAdmin();
    const rider = await registerUser();
    const scopes = { rooms: ["support:*"], actions: ["publish" as const] };
    expectError(
      await call("POST", "/v1/admin/api-keys", { token: rider.token, body: { name: "x", scopes } }),
      403,
      "forbidden",
    );
    const created = await call("POST", "/v1/admin/api-keys", {
      token: admin.token,
      body: { name: "support desk", scopes, reason: "the support backend" },
    });
    expect(created.status).toBe(201);
    const { apiKey, secret, audit } = created.body;
    expect(secret).toMatch(new RegExp(`^rwk_${apiKey.id}_[A-Za-z0-9_-]{43}$`));
    expect(apiKey).toEqual({
      id: apiKey.id,
      name: "support desk",
      scopes,
      createdBy: admin.user.id,
      createdAt: expect.any(Number),
      revokedAt: null,
    });
    expect(audit).toMatchObject({
      action: "api_key.create",
      actorId: admin.user.id,
      target: { kind: "api_key", id: apiKey.id },
      reason: "the support backend",
    });
    // D1 holds a SHA-256, never the secret.
    const row = await env.DB.prepare(`SELECT secret_hash FROM api_keys WHERE id = ?`)
      .bind(apiKey.id)
      .first<{ secret_hash: string }>();
    expect(row?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.secret_hash).not.toContain(secret.slice(-43));
    const listed = await call("GET", "/v1/admin/api-keys", { token: admin.token });
    expect(listed.status).toBe(200);
    const mine = listed.body.apiKeys.find((k: { id: string }) => k.id === apiKey.id);
    expect(mine).toEqual(apiKey);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(-43));
    expectError(await call("GET", "/v1/admin/api-keys", { token: rider.token }), 403, "forbidden");
  });

  it("refuse scopes that are not room ids or prefixes, and unknown actions", async () => {
    const admin = await registerAdmin();
    for (const scopes of [
      { rooms: ["room_*abc"], actions: ["publish"] },
      { rooms: [""], actions: ["publish"] },
      { rooms: [], actions: ["publish"] },
      { rooms: ["room_abc"], actions: ["delete"] },
      { rooms: ["room_abc"], actions: [] },
      { rooms: Array.from({ length: 51 }, (_, i) => `room_${i}`), actions: ["read"] },
    ]) {
      const res = await call("POST", "/v1/admin/api-keys", { token: admin.token, body: { name: "bad", scopes } });
      expectError(res, 400, "invalid_request");
    }
  });

  it("stop working at once when revoked; a second revoke is a conflict; both are audited once", async () => {
    const admin = await registerAdmin();
    const { room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: [room.id], actions: ["publish", "read"] });
    expect((await publish(key.secret, room.id, { sender: "bot", text: "before" })).status).toBe(201);
    const revoked = await call("DELETE", `/v1/admin/api-keys/${key.id}`, {
      token: admin.token,
      body: { reason: "leaked in a log" },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey.revokedAt).toEqual(expect.any(Number));
    expect(revoked.body.audit).toMatchObject({ action: "api_key.revoke", reason: "leaked in a log" });
    // The very next call is refused: the key is read on every call, with no cache.
    expectError(await publish(key.secret, room.id, { sender: "bot", text: "after" }), 401, "unauthorized");
    expectError(await serverHistory(key.secret, room.id), 401, "unauthorized");
    expectError(await call("DELETE", `/v1/admin/api-keys/${key.id}`, { token: admin.token }), 409, "conflict");
    expectError(await call("DELETE", "/v1/admin/api-keys/key_nope", { token: admin.token }), 404, "not_found");
    const audit = await call("GET", `/v1/admin/audit?targetKind=api_key&targetId=${key.id}`, { token: admin.token });
    expect(audit.body.records.map((r: { action: string }) => r.action)).toEqual(["api_key.revoke", "api_key.create"]);
  });

  it("are refused when forged, truncated or a user's token; and work on no user route", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: ["*"], actions: ["publish", "read"] });
    const other = await makeKey(admin, { rooms: ["*"], actions: ["publish"] });
    const body = { sender: "bot", text: "hello" };
    // This key's id with another key's secret: the id finds the row, the hash refuses it.
    const forged = `rwk_${key.id}_${other.secret.slice(-43)}`;
    expectError(await publish(forged, room.id, body), 401, "unauthorized");
    expectError(await publish(key.secret.slice(0, -1), room.id, body), 401, "unauthorized");
    expectError(await publish("", room.id, body), 401, "unauthorized");
    // A user's token (even the room owner's) is not a key.
    expectError(await publish(ada.token, room.id, body), 401, "unauthorized");
    expectError(await serverHistory(ada.token, room.id), 401, "unauthorized");
    // A key is not a user's token.
    expectError(
      await call("POST", `/v1/rooms/${room.id}/messages`, { token: key.secret, body: { text: "hi" } }),
      401,
      "unauthorized",
    );
    expectError(await call("GET", `/v1/rooms/${room.id}/messages`, { token: key.secret }), 401, "unauthorized");
    expectError(await call("GET", "/v1/admin/api-keys", { token: key.secret }), 401, "unauthorized");
    expect(await userHistory(ada, room.id)).toEqual([]);
  });
});

describe("publishing into a room", () => {
  it("goes through the room's log: socket, SSE, long poll, history, resume, offline members told", async () => {
    const admin = await registerAdmin();
    const { ada, bob, room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const socket = await connectOk(wsPath(room.id), ada.token);
    await socket.nextOfType("welcome");
    const first = await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text: "hi" } });
    const since = first.body.message.seq as number;
    const sse = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/events`, {
      headers: { Authorization: `Bearer ${ada.token}`, "Last-Event-ID": String(since) },
    });
    expect(sse.status).toBe(200);

    const res = await publish(key.secret, room.id, { sender: "support-bot", text: "Your driver is 2 min away" });
    expect(res.status).toBe(201);
    const message = res.body.message;
    expect(message).toMatchObject({
      roomId: room.id,
      seq: since + 1,
      userId: "system:support-bot",
      text: "Your driver is 2 min away",
    });

    const live = await socket.next((f) => f.type === "message" && f.seq === message.seq);
    expect(live.message).toEqual(message);
    expect(await sseUntil(sse, `"seq":${message.seq}`)).toContain(`id: ${message.seq}\n`);
    const poll = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/poll?since=${since}&timeout=0`, {
      headers: { Authorization: `Bearer ${bob.token}` },
    });
    const polled = (await poll.json()) as { events: { type: string; message?: unknown }[] };
    expect(polled.events).toEqual([{ type: "message", seq: message.seq, message }]);
    expect((await userHistory(bob, room.id))[0]).toEqual(message);

    // A socket resuming from before it gets it in the replay.
    socket.close();
    const resumed = await connectOk(wsPath(room.id, `?since=${since}`), ada.token);
    const replayed = await resumed.next((f) => f.type === "message");
    expect(replayed.message).toEqual(message);
    resumed.close();

    // Bob had no connection: he is told, under the sender's name; ada, connected then, is not.
    const id = `chat:${room.id}:${message.seq}:${bob.user.id}`;
    const deadline = Date.now() + 8_000;
    let notified: { id: string; type: string } | undefined;
    while (!notified && Date.now() < deadline) {
      const list = await call("GET", "/v1/notifications?limit=100", { token: bob.token });
      notified = list.body.notifications.find((n: { id: string }) => n.id === id);
      if (!notified) await new Promise((r) => setTimeout(r, 50));
    }
    expect(notified?.type).toBe("chat_message");
    const row = await notificationShard(bob.user.id)
      .prepare(`SELECT payload FROM notifications WHERE id = ?`)
      .bind(id)
      .first<{
        payload: string;
      }>();
    expect(JSON.parse(row?.payload ?? "null")).toMatchObject({
      senderId: "system:support-bot",
      senderName: "support-bot",
      seq: message.seq,
    });
    // Copied to D1 behind like any message, where bob's unread count finds it.
    await flushOutbox(room.id);
    expect(await archivedSeqs(room.id)).toEqual([since, message.seq]);
    const rooms = await call("GET", "/v1/rooms", { token: bob.token });
    expect(rooms.body.rooms.find((r: { id: string }) => r.id === room.id)?.unread).toBe(2);
    const adas = await call("GET", "/v1/notifications?limit=100", { token: ada.token });
    expect(adas.body.notifications.map((n: { id: string }) => n.id)).not.toContain(
      `chat:${room.id}:${message.seq}:${ada.user.id}`,
    );
  });

  it("posts once per Idempotency-Key (or body id); the same key with another body is a conflict", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const other = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const body = { sender: "billing", text: "Receipt ready" };
    const once = await publish(key.secret, room.id, body, { "Idempotency-Key": "r-1" });
    const again = await publish(key.secret, room.id, body, { "Idempotency-Key": "r-1" });
    expect(once.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.message).toEqual(once.body.message);
    // The body's id is the same key.
    const byId = await publish(key.secret, room.id, { ...body, id: "r-1" });
    expect(byId.body.message).toEqual(once.body.message);
    expectError(
      await publish(key.secret, room.id, { ...body, id: "r-2" }, { "Idempotency-Key": "r-1" }),
      400,
      "invalid_request",
    );
    // Replayed with another text or another sender: refused, nothing posted.
    expectError(
      await publish(key.secret, room.id, { ...body, text: "Refund sent" }, { "Idempotency-Key": "r-1" }),
      409,
      "conflict",
    );
    expectError(
      await publish(key.secret, room.id, { ...body, sender: "billing-2" }, { "Idempotency-Key": "r-1" }),
      409,
      "conflict",
    );
    // Another key's ids are its own.
    const theirs = await publish(other.secret, room.id, body, { "Idempotency-Key": "r-1" });
    expect(theirs.status).toBe(201);
    expect(theirs.body.message.seq).not.toBe(once.body.message.seq);
    expect((await userHistory(ada, room.id)).map((m) => m.seq)).toEqual([
      theirs.body.message.seq,
      once.body.message.seq,
    ]);
  });

  it("refuses senders that pose as users or run long, and bad texts", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    for (const sender of [ada.user.id, `system:${ada.user.id}`, "a".repeat(33), "", "Support Bot", "bot\n"]) {
      expectError(await publish(key.secret, room.id, { sender, text: "hi" }), 400, "invalid_request");
    }
    expectError(await publish(key.secret, room.id, { sender: "bot", text: " " }), 400, "invalid_request");
    expectError(await publish(key.secret, room.id, { sender: "bot", text: "x".repeat(4_001) }), 400, "invalid_request");
    expect(await userHistory(ada, room.id)).toEqual([]);
  });

  it("holds a key to its rooms: an exact id is not a prefix, and a prefix needs its star", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    // A room whose id extends the first room's, made in its object directly (ids are minted by the server).
    const longer = `${room.id}d`;
    const made = await roomStub(longer).initialize({
      id: longer,
      name: "longer",
      private: false,
      kind: "group",
      createdBy: ada.user.id,
      createdAt: Date.now(),
    });
    expect(made.ok).toBe(true);
    const exact = await makeKey(admin, { rooms: [room.id], actions: ["publish", "read"] });
    const prefix = await makeKey(admin, { rooms: [`${room.id}*`], actions: ["publish"] });
    const body = { sender: "bot", text: "scoped" };
    expect((await publish(exact.secret, room.id, body)).status).toBe(201);
    expectError(await publish(exact.secret, longer, body), 403, "forbidden");
    expectError(await serverHistory(exact.secret, longer), 403, "forbidden");
    const outsider = await createRoom(ada);
    expectError(await publish(exact.secret, outsider.id, body), 403, "forbidden");
    expect((await publish(prefix.secret, longer, body)).status).toBe(201);
    expect((await publish(prefix.secret, room.id, body)).status).toBe(201);
    expect((await userHistory(ada, outsider.id)).length).toBe(0);
  });

  it("needs read scope to read and publish scope to post; history is the members' page", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const poster = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const reader = await makeKey(admin, { rooms: [room.id], actions: ["read"] });
    expectError(await serverHistory(poster.secret, room.id), 403, "forbidden");
    expectError(await publish(reader.secret, room.id, { sender: "bot", text: "no" }), 403, "forbidden");
    await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text: "from ada" } });
    await publish(poster.secret, room.id, { sender: "bot", text: "from the bot" });
    const read = await serverHistory(reader.secret, room.id);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ messages: await userHistory(ada, room.id), nextBefore: null, seq: expect.any(Number) });
    expect(read.body.messages.map((m: { text: string }) => m.text)).toEqual(["from the bot", "from ada"]);
    expectError(await serverHistory(reader.secret, "room_doesnotexist"), 403, "forbidden");
  });

  it("does not reach a direct conversation, even with every room in scope", async () => {
    const admin = await registerAdmin();
    const ada = await registerUser();
    const bob = await registerUser();
    const opened = await call("POST", "/v1/rooms/direct", { token: ada.token, body: { userId: bob.user.id } });
    expect(opened.status).toBe(201);
    const direct = opened.body.room.id as string;
    const key = await makeKey(admin, { rooms: ["*"], actions: ["publish", "read"] });
    expectError(await publish(key.secret, direct, { sender: "bot", text: "psst" }), 404, "not_found");
    expectError(await serverHistory(key.secret, direct), 404, "not_found");
    expect(await userHistory(ada, direct)).toEqual([]);
  });
});

describe("broadcast", () => {
  it("posts to each room in scope and reports the others, without stopping; a retry posts nothing", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const second = await createRoom(ada);
    const outside = await createRoom(ada);
    const missing = `${room.id}x`;
    const key = await makeKey(admin, { rooms: [room.id, second.id, `${room.id}x*`], actions: ["publish"] });
    const body = { rooms: [room.id, outside.id, missing, second.id], sender: "ops", text: "Maintenance at 2am" };
    const res = await broadcast(key.secret, body, { "Idempotency-Key": "b-1" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ posted: 2, failed: 2 });
    expect(res.body.results.map((r: { roomId: string; status: number }) => [r.roomId, r.status])).toEqual([
      [room.id, 201],
      [outside.id, 403],
      [missing, 404],
      [second.id, 201],
    ]);
    expect(res.body.results[1].error.code).toBe("forbidden");
    expect(res.body.results[2].error.code).toBe("not_found");
    const again = await broadcast(key.secret, body, { "Idempotency-Key": "b-1" });
    expect(again.body.results[0].message).toEqual(res.body.results[0].message);
    expect(again.body.results[3].message).toEqual(res.body.results[3].message);
    for (const id of [room.id, second.id])
      expect((await userHistory(ada, id)).map((m) => m.text)).toEqual(["Maintenance at 2am"]);
    expect(await userHistory(ada, outside.id)).toEqual([]);
    // The same key with another text: each room answers 409 on its own.
    const replayed = await broadcast(key.secret, { ...body, text: "changed" }, { "Idempotency-Key": "b-1" });
    expect(replayed.body.results[0]).toMatchObject({ status: 409, error: { code: "conflict" } });
  });

  it("refuses a list of more than 100 rooms, repeats, and bad ids before posting anything", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const key = await makeKey(admin, { rooms: ["*"], actions: ["publish"] });
    const base = { sender: "ops", text: "x" };
    const huge = Array.from({ length: 101 }, (_, i) => (i === 0 ? room.id : `room_${i}`));
    expectError(await broadcast(key.secret, { ...base, rooms: huge }), 400, "invalid_request");
    expectError(await broadcast(key.secret, { ...base, rooms: [room.id, room.id] }), 400, "invalid_request");
    expectError(await broadcast(key.secret, { ...base, rooms: [] }), 400, "invalid_request");
    expectError(await broadcast(key.secret, { ...base, rooms: ["../admin"] }), 400, "invalid_request");
    expect(await userHistory(ada, room.id)).toEqual([]);
  });

  it("is rate-limited per key: 429 with Retry-After past the limit, other keys untouched", async () => {
    const admin = await registerAdmin();
    const { ada, room } = await roomWithTwo();
    const noisy = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const quiet = await makeKey(admin, { rooms: [room.id], actions: ["publish"] });
    const body = { rooms: [room.id], sender: "ops", text: "tick" };
    const answers = [];
    for (let i = 0; i < 3 * BROADCASTS_PER_MINUTE; i += 10)
      answers.push(...(await Promise.all(Array.from({ length: 10 }, () => broadcast(noisy.secret, body)))));
    const accepted = answers.filter((r) => r.status === 200);
    const limited = answers.filter((r) => r.status === 429);
    expect(accepted.length + limited.length).toBe(answers.length);
    // One window, or two if the burst crossed a minute boundary.
    expect(accepted.length).toBeGreaterThanOrEqual(BROADCASTS_PER_MINUTE);
    expect(accepted.length).toBeLessThanOrEqual(2 * BROADCASTS_PER_MINUTE);
    expectError(limited[0]!, 429, "rate_limited");
    expect(limited[0]!.headers.get("Retry-After")).toBe("60");
    expect((await broadcast(quiet.secret, body)).status).toBe(200);
    expect((await userHistory(ada, room.id)).length).toBe(Math.min(accepted.length + 1, 50));
  });
});
