// Operators (issue 16): the admin role, bans that take effect at once (login, tokens, open
// sockets and streams, new sockets, a driver's availability and offer), force-cancels, refunds
// on the ledger, and the audit log that records each action. Hostile callers throughout: riders
// and drivers on admin routes, registration asking for `admin`, refunds past the charge.
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { historyStatus } from "../helpers/shards";
import { afterEach, describe, expect, it } from "vitest";
import { identityHeader } from "../../src/rooms/identity";
import { registerAdmin } from "../helpers/admin";
import { call, connect, connectOk, createRoom, joinRoom, registerUser, unique, type TestUser } from "../helpers/api";
import { expectLedgerBalanced, ledgerRows, USD, walletOf } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  driverState,
  expectError,
  inCell,
  nextOffer,
  offset,
  onlineDriver,
  readTripState,
  requestTrip,
  waitFor,
} from "../helpers/dispatch";

/** The balance of one ledger account, from its lines. */
async function balanceOf(account: string): Promise<number> {
  // Summed over every partition: the platform's account has lines in each.
  const rows = await ledgerRows<{ b: number }>(
    `SELECT COALESCE(SUM(amount), 0) AS b FROM journal_lines WHERE account_id = ?`,
    account,
  );
  return rows.reduce((sum, row) => sum + row.b, 0);
}

async function login(user: TestUser) {
  return call("POST", "/v1/auth/login", { body: { email: user.user.email, password: "password123" } });
}

const ban = (admin: TestUser, userId: string, reason: unknown = "fraudulent rides") =>
  call("POST", `/v1/admin/users/${userId}/ban`, { token: admin.token, body: { reason } });
const unban = (admin: TestUser, userId: string) =>
  call("POST", `/v1/admin/users/${userId}/unban`, { token: admin.token, body: { reason: "appeal accepted" } });

/** An SSE response read until the server ends it; rejects after `timeoutMs` if it does not. */
async function streamEnds(body: ReadableStream<Uint8Array>, timeoutMs = 3_000): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = await Promise.race([
      reader.read(),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(1, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    if (read === null) throw new Error(`the stream is still open; got ${text.slice(0, 500)}`);
    if (read.done) return text;
    text += decoder.decode(read.value, { stream: true });
  }
}

afterEach(expectLedgerBalanced);

describe("the admin role", () => {
  it("is never given by registration: a client asking for it gets 400", async () => {
    const res = await call("POST", "/v1/auth/register", {
      body: { email: `${unique("u")}@example.com`, password: "password123", name: "Mallory", role: "admin" },
    });
    expectError(res, 400, "invalid_request");
    expect(JSON.stringify(res.body.error.details)).toContain("role");
  });

  it("guards every admin route: 401 without a token, 403 for riders and drivers", async () => {
    const rider = await registerUser("rider");
    const driver = await registerUser("driver");
    const routes: [string, string, unknown?][] = [
      ["POST", `/v1/admin/users/${rider.user.id}/ban`, { reason: "because" }],
      ["POST", `/v1/admin/users/${rider.user.id}/unban`, { reason: "because" }],
      ["POST", "/v1/admin/trips/trip_x/cancel", { reason: "because" }],
      ["POST", "/v1/admin/trips/trip_x/refund", { reason: "because" }],
      ["GET", "/v1/admin/audit"],
    ];
    for (const [method, path, body] of routes) {
      expectError(await call(method, path, body === undefined ? {} : { body }), 401, "unauthorized");
      for (const user of [rider, driver])
        expectError(
          await call(method, path, { token: user.token, ...(body === undefined ? {} : { body }) }),
          403,
          "forbidden",
        );
    }
    // The rider was not banned by any of that.
    expect((await call("GET", "/v1/me", { token: rider.token })).status).toBe(200);
    const audit = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_log WHERE target_id = ?`)
      .bind(rider.user.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(0);
  });

  it("an operator demoted in D1 is refused at once, token or not", async () => {
    const admin = await registerAdmin();
    expect((await call("GET", "/v1/admin/audit", { token: admin.token })).status).toBe(200);
    await env.DB.prepare(`UPDATE users SET role = 'rider' WHERE id = ?`).bind(admin.user.id).run();
    expectError(await call("GET", "/v1/admin/audit", { token: admin.token }), 403, "forbidden");
  });
});

describe("bans", () => {
  it("need a reason and a known account; an operator cannot ban themselves or ban twice", async () => {
    const admin = await registerAdmin();
    const rider = await registerUser("rider");
    expectError(await ban(admin, rider.user.id, ""), 400, "invalid_request");
    expectError(await ban(admin, rider.user.id, 42), 400, "invalid_request");
    expectError(
      await call("POST", `/v1/admin/users/${rider.user.id}/ban`, { token: admin.token }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", `/v1/admin/users/${rider.user.id}/ban`, { token: admin.token, body: "{not json" }),
      400,
      "invalid_request",
    );
    expectError(await ban(admin, "usr_nobody_at_all"), 404, "not_found");
    expectError(await ban(admin, "a".repeat(65)), 400, "invalid_request");
    expectError(await ban(admin, admin.user.id), 400, "invalid_request");
    expect((await ban(admin, rider.user.id)).status).toBe(200);
    expectError(await ban(admin, rider.user.id), 409, "conflict");
    expectError(await unban(admin, "usr_nobody_at_all"), 404, "not_found");
    expect((await unban(admin, rider.user.id)).status).toBe(200);
    expectError(await unban(admin, rider.user.id), 409, "conflict");
    // One record per change made, none for the refusals.
    const audit = await call("GET", `/v1/admin/audit?targetKind=user&targetId=${rider.user.id}`, {
      token: admin.token,
    });
    expect(audit.body.records.map((r: { action: string }) => r.action)).toEqual(["user.unban", "user.ban"]);
  });

  it(
    "close the user's open sockets and streams (4004), " +
      "refuse their token, login and new sockets, and lift with an unban",
    async () => {
      const admin = await registerAdmin();
      const rider = await registerUser("rider", "Banned Bea");
      const friend = await registerUser("rider", "Friend");
      const room = await createRoom(friend);
      await joinRoom(rider, room.id);
      const socket = await connectOk(`/v1/rooms/${room.id}/ws`, rider.token);
      await socket.nextOfType("welcome");
      const friendSocket = await connectOk(`/v1/rooms/${room.id}/ws`, friend.token);
      await friendSocket.nextOfType("welcome");
      const stream = await exports.default.fetch(
        `http://ridewire.test/v1/rooms/${room.id}/events?access_token=${rider.token}`,
        { headers: { Accept: "text/event-stream" } },
      );
      expect(stream.status).toBe(200);
      // A long poll waiting for news (up to 25 s) is answered at once, with a refusal and no events.
      const seq = (await call("GET", `/v1/rooms/${room.id}/poll?since=0&timeout=0`, { token: rider.token })).body.seq;
      const poll = call("GET", `/v1/rooms/${room.id}/poll?since=${seq}&timeout=25`, { token: rider.token });
      await new Promise((r) => setTimeout(r, 100));

      const res = await ban(admin, rider.user.id, "spamming the night shift room");
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({
        id: rider.user.id,
        bannedAt: expect.any(Number),
        banReason: "spamming the night shift room",
      });
      expect(res.body.audit).toMatchObject({
        actorId: admin.user.id,
        action: "user.ban",
        target: { kind: "user", id: rider.user.id },
        reason: "spamming the night shift room",
      });
      expect(res.body.disconnected).toEqual({ objects: 1, failed: 0 });

      expect(await socket.waitClosed()).toMatchObject({ code: 4004, reason: "banned" });
      // Every session ended with the ban: the refresh token no longer buys an access token.
      const refreshed = await call("POST", "/v1/auth/refresh", { body: { refreshToken: rider.refreshToken } });
      expect(refreshed.status).toBe(401);
      await streamEnds(stream.body!);
      const polled = await Promise.race([poll, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
      expect(polled && { status: polled.status, code: polled.body.error?.code }).toEqual({
        status: 403,
        code: "forbidden",
      });
      // The others in the room see the banned user leave, and stay connected.
      await friendSocket.next((f) => f.type === "presence" && f.event === "leave" && f.userId === rider.user.id);
      expect(friendSocket.closed).toBeNull();

      expectError(await call("GET", "/v1/me", { token: rider.token }), 403, "account_banned");
      expectError(
        await call("POST", `/v1/rooms/${room.id}/messages`, { token: rider.token, body: { text: "let me back in" } }),
        403,
        "account_banned",
      );
      expectError(await login(rider), 403, "account_banned");
      const again = await connect(`/v1/rooms/${room.id}/ws`, { token: rider.token });
      expect(again.status).toBe(403);
      // A wrong password still reads as a wrong password: the ban shows only to the account holder.
      expectError(
        await call("POST", "/v1/auth/login", { body: { email: rider.user.email, password: "not-the-password" } }),
        401,
        "invalid_credentials",
      );

      // The room itself refuses the user for a while, should a Worker that has not heard of the ban pass them on.
      const direct = await env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(room.id)).fetch(
        new Request("https://room.internal/ws", {
          headers: { Upgrade: "websocket", ...identityHeader({ userId: rider.user.id, role: "rider", name: "Bea" }) },
        }),
      );
      expect(direct.status).toBe(403);

      expect((await unban(admin, rider.user.id)).status).toBe(200);
      expect((await call("GET", "/v1/me", { token: rider.token })).status).toBe(200);
      expect((await login(rider)).status).toBe(200);
      friendSocket.close();
    },
  );

  it("close a socket whose room is hibernating", async () => {
    const admin = await registerAdmin();
    const rider = await registerUser("rider");
    const room = await createRoom(rider);
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, rider.token);
    await socket.nextOfType("welcome");
    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(room.id)), { webSockets: "hibernate" });
    expect((await ban(admin, rider.user.id)).body.disconnected).toEqual({ objects: 1, failed: 0 });
    expect(await socket.waitClosed()).toMatchObject({ code: 4004, reason: "banned" });
  });

  it("take a driver offline and out of the geo index, and hand their open offer on", async () => {
    const admin = await registerAdmin();
    const pickup = area(3);
    const driver = await onlineDriver(offset(pickup, 0.2), "Banned Driver");
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);

    const res = await ban(admin, driver.user.id, "unsafe driving reported");
    expect(res.status).toBe(200);
    expect(await driver.socket.waitClosed()).toMatchObject({ code: 4004 });
    expect(await inCell(offset(pickup, 0.2), driver.user.id)).toBe(false);
    const state = await readTripState(trip.id);
    expect(state.offer).toBeNull();
    expect(state.excludedDrivers).toContain(driver.user.id);
    expect(state.status).toBe("matching");
    // Their session holds nothing; going online again is refused (by the Worker, and by the session itself).
    const session = await env.DRIVER_SESSION.get(env.DRIVER_SESSION.idFromName(driver.user.id)).get();
    expect(session.ok && session.value).toMatchObject({ status: "offline", tripId: null });
    expectError(
      await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: offset(pickup, 0.2) } }),
      403,
      "account_banned",
    );
    const direct = await env.DRIVER_SESSION.get(env.DRIVER_SESSION.idFromName(driver.user.id)).goOnline(
      offset(pickup, 0.2),
    );
    expect(direct.ok).toBe(false);
    expect(await inCell(offset(pickup, 0.2), driver.user.id)).toBe(false);
  });

  it("end a banned driver's trip in progress with no fee, and give a trip before pickup back to matching", async () => {
    const admin = await registerAdmin();
    const pickup = area(4);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    const riderSocket = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
    await riderSocket.nextOfType("welcome");

    expect((await ban(admin, driver.user.id)).status).toBe(200);
    const cancelled = await riderSocket.next((f) => f.type === "status" && f.trip.status === "cancelled");
    expect(cancelled.trip.cancellationFee).toBeUndefined();
    expect(riderSocket.closed).toBeNull();
    await waitFor(
      "the hold released",
      async () => ((await walletOf(rider)).held.amount === 0 ? true : undefined),
      8_000,
    );
    expect((await walletOf(rider)).available).toEqual(USD(50_000));
    const audit = await call("GET", `/v1/admin/audit?targetKind=trip&targetId=${trip.id}`, { token: admin.token });
    expect(audit.body.records).toMatchObject([
      { action: "trip.cancel", actorId: admin.user.id, details: { from: "in_progress", driverId: driver.user.id } },
    ]);
    riderSocket.close();

    const pickup2 = area(5);
    const driver2 = await onlineDriver(offset(pickup2, 0.2));
    const rider2 = await registerUser("rider");
    const trip2 = await acceptedTrip(rider2, driver2, pickup2, offset(pickup2, 3));
    expect((await ban(admin, driver2.user.id)).status).toBe(200);
    const state = await readTripState(trip2.id);
    expect(state).toMatchObject({ status: "matching", driverId: null });
    expect(state.excludedDrivers).toContain(driver2.user.id);
  });
});

describe("force-cancel", () => {
  it("cancels a trip in progress with no fee, releases the hold and frees the driver; once", async () => {
    const admin = await registerAdmin();
    const pickup = area(6);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    // A rider cancelling this late would pay the fee; an operator's cancel never charges one.
    expect((await walletOf(rider)).held.amount).toBeGreaterThan(0);

    expectError(
      await call("POST", `/v1/admin/trips/${trip.id}/cancel`, { token: admin.token, body: {} }),
      400,
      "invalid_request",
    );
    const res = await call("POST", `/v1/admin/trips/${trip.id}/cancel`, {
      token: admin.token,
      body: { reason: "rider reported an assault" },
    });
    expect(res.status).toBe(200);
    expect(res.body.trip).toMatchObject({ id: trip.id, status: "cancelled" });
    expect(res.body.trip.cancellationFee).toBeUndefined();
    expect(res.body.audit).toMatchObject({
      action: "trip.cancel",
      reason: "rider reported an assault",
      details: { from: "in_progress", driverId: driver.user.id, riderId: rider.user.id },
    });

    await driver.socket.next((f) => f.type === "trip" && f.trip.status === "cancelled");
    await waitFor("the driver available again", async () =>
      (await driverState(driver)).status === "available" ? true : undefined,
    );
    await waitFor(
      "the hold released",
      async () => ((await walletOf(rider)).held.amount === 0 ? true : undefined),
      8_000,
    );
    expect((await walletOf(rider)).available).toEqual(USD(50_000));
    const kinds = await ledgerRows<{ kind: string }>(
      `SELECT kind FROM journal_entries WHERE trip_id = ? AND idempotency_key NOT LIKE 'leg:%' ORDER BY rowid`,
      trip.id,
    );
    expect(kinds.map((r) => r.kind)).toEqual(["hold", "release"]);

    expectError(
      await call("POST", `/v1/admin/trips/${trip.id}/cancel`, { token: admin.token, body: { reason: "again" } }),
      409,
      "conflict",
    );
    expectError(
      await call("POST", "/v1/admin/trips/trip_unknown123/cancel", {
        token: admin.token,
        body: { reason: "no such trip" },
      }),
      404,
      "not_found",
    );
    driver.socket.close();
  });

  it("does not count against the rider's cancel cool-down, as the rider's own cancels do", async () => {
    const admin = await registerAdmin();
    const rider = await registerUser("rider");
    const pickup = area(9);
    const dropoff = offset(pickup, 2);
    // 409 while the last trip's end has not reached D1 (the same write records its cancel).
    const request = () =>
      waitFor(
        "the rider's active-trip slot free",
        async () => {
          const res = await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff } });
          return res.status === 409 ? undefined : res;
        },
        8_000,
      );
    // More than two cancels in an hour would start the rider's cool-down (README, "Money rules").
    for (let i = 0; i < 3; i++) {
      const res = await request();
      expect(res.status).toBe(201);
      const tripId: string = res.body.trip.id;
      const cancel = await call("POST", `/v1/admin/trips/${tripId}/cancel`, {
        token: admin.token,
        body: { reason: "duplicate request" },
      });
      expect(cancel.status).toBe(200);
      // The trip room's write to D1 that records the end (and would count a rider's cancel).
      await waitFor(
        "the cancel in D1's trip history",
        async () => ((await historyStatus(tripId)) === "cancelled" ? true : undefined),
        8_000,
      );
    }
    expect((await request()).status).toBe(201);
  });
});

describe("refunds", () => {
  /**
   * A trip driven to completion: its fare is captured from the rider's wallet. The ride is short
   * enough that its quote is the minimum fare, which the rider pays (README, "Money rules").
   */
  async function completedTrip(n: number) {
    const pickup = area(n);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 0.5));
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    const done = await driverAction(driver, trip.id, "complete");
    expect(done.status).toBe(200);
    driver.socket.close();
    // The room captures the fare just behind the move: wait, so that balances read after it.
    await waitFor(
      "the fare captured",
      async () => ((await walletOf(rider)).held.amount === 0 ? true : undefined),
      8_000,
    );
    return { rider, driver, trip: done.body.trip, fare: done.body.trip.fare.amount as number };
  }

  const refund = (admin: TestUser, tripId: string, body: unknown, key?: string) =>
    call("POST", `/v1/admin/trips/${tripId}/refund`, {
      token: admin.token,
      body,
      ...(key === undefined ? {} : { headers: { "Idempotency-Key": key } }),
    });

  it(
    "posts partial refunds back to the rider, taking back the driver's " +
      "and the platform's shares in proportion, never past the charge",
    async () => {
      const admin = await registerAdmin();
      const { rider, driver, trip, fare } = await completedTrip(7);
      expect(fare).toBe(700);
      const earnings = 525;

      expectError(await refund(admin, trip.id, { reason: "driver took a detour" }), 400, "invalid_request");
      expectError(
        await refund(admin, trip.id, { reason: "driver took a detour", amount: USD(0) }, "k0"),
        400,
        "invalid_request",
      );
      expectError(
        await refund(admin, trip.id, { reason: "driver took a detour", amount: USD(-5) }, "k0"),
        400,
        "invalid_request",
      );
      expectError(
        await refund(
          admin,
          trip.id,
          { reason: "driver took a detour", amount: { amount: 100, currency: "EUR" } },
          "k0",
        ),
        400,
        "invalid_request",
      );
      expectError(await refund(admin, trip.id, { amount: USD(100) }, "k0"), 400, "invalid_request");

      const before = (await walletOf(rider)).available.amount;
      const first = await refund(admin, trip.id, { reason: "driver took a detour", amount: USD(300) }, "k1");
      expect(first.status).toBe(201);
      expect(first.body.refund).toEqual({
        tripId: trip.id,
        amount: USD(300),
        charged: USD(700),
        refunded: USD(300),
        refundable: USD(400),
        driverReversal: USD(225),
        commissionReversal: USD(75),
        createdAt: expect.any(Number),
      });
      expect(first.body.audit).toMatchObject({
        action: "trip.refund",
        actorId: admin.user.id,
        target: { kind: "trip", id: trip.id },
        reason: "driver took a detour",
      });
      expect((await walletOf(rider)).available.amount).toBe(before + 300);
      expect(await balanceOf(`earnings:${driver.user.id}`)).toBe(earnings - 225);

      // The same key again: the same refund, posted once.
      const replay = await refund(admin, trip.id, { reason: "driver took a detour", amount: USD(300) }, "k1");
      expect(replay.status).toBe(201);
      expect(replay.body).toEqual(first.body);
      expect((await walletOf(rider)).available.amount).toBe(before + 300);
      // The same key for another amount is another request: 409, and nothing posted.
      expectError(
        await refund(admin, trip.id, { reason: "driver took a detour", amount: USD(200) }, "k1"),
        409,
        "conflict",
      );
      expect((await walletOf(rider)).available.amount).toBe(before + 300);

      const tooMuch = await refund(admin, trip.id, { reason: "more", amount: USD(401) }, "k2");
      expectError(tooMuch, 409, "conflict");
      expect(tooMuch.body.error.details).toEqual({ charged: USD(700), refunded: USD(300), refundable: USD(400) });

      const rest = await refund(admin, trip.id, { reason: "the whole ride was wrong" }, "k3");
      expect(rest.status).toBe(201);
      expect(rest.body.refund).toMatchObject({
        amount: USD(400),
        refunded: USD(700),
        refundable: USD(0),
        driverReversal: USD(300),
        commissionReversal: USD(100),
      });
      expectError(await refund(admin, trip.id, { reason: "once more" }, "k4"), 409, "conflict");
      expectError(await refund(admin, trip.id, { reason: "once more", amount: USD(1) }, "k5"), 409, "conflict");

      // In all: the charge exactly reversed, no more.
      expect((await walletOf(rider)).available.amount).toBe(before + 700);
      expect(await balanceOf(`earnings:${driver.user.id}`)).toBe(0);
      const tx = await call("GET", "/v1/wallet/transactions", { token: rider.token });
      expect(
        tx.body.transactions
          .filter((t: { kind: string }) => t.kind === "refund")
          .map((t: { amount: { amount: number } }) => t.amount.amount)
          .sort(),
      ).toEqual([300, 400]);
    },
  );

  it("refund concurrently never more than the charge", async () => {
    const admin = await registerAdmin();
    const { rider, trip } = await completedTrip(8);
    const before = (await walletOf(rider)).available.amount;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        refund(admin, trip.id, { reason: "racing refunds", amount: USD(300) }, `race-${i}`),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 409, "conflict");
    expect((await walletOf(rider)).available.amount).toBe(before + 600);
  });

  it("refuse a trip that charged nothing, and an unknown trip", async () => {
    const admin = await registerAdmin();
    const pickup = area(9);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    expectError(await refund(admin, trip.id, { reason: "nothing to give" }, "n1"), 409, "conflict");
    expectError(await refund(admin, "trip_unknown123", { reason: "nothing to give" }, "n2"), 404, "not_found");
  });
});

describe("the audit log", () => {
  it("lists records newest first, pages with nextBefore, and filters by target and actor", async () => {
    const admin = await registerAdmin("First Operator");
    const other = await registerAdmin("Second Operator");
    const a = await registerUser("rider");
    const b = await registerUser("rider");
    expect((await ban(admin, a.user.id, "first")).status).toBe(200);
    expect((await ban(other, b.user.id, "second")).status).toBe(200);
    expect((await unban(admin, a.user.id)).status).toBe(200);

    const mine = await call("GET", `/v1/admin/audit?actorId=${admin.user.id}`, { token: other.token });
    expect(mine.body.records.map((r: { action: string; target: { id: string } }) => [r.action, r.target.id])).toEqual([
      ["user.unban", a.user.id],
      ["user.ban", a.user.id],
    ]);
    const page1 = await call("GET", `/v1/admin/audit?actorId=${admin.user.id}&limit=1`, { token: admin.token });
    expect(page1.body.records).toHaveLength(1);
    expect(page1.body.nextBefore).toBe(page1.body.records[0].id);
    const page2 = await call(
      "GET",
      `/v1/admin/audit?actorId=${admin.user.id}&limit=1&before=${page1.body.nextBefore}`,
      { token: admin.token },
    );
    expect(page2.body.records[0].action).toBe("user.ban");
    expect(page2.body.nextBefore).toBeNull();
    const onB = await call("GET", `/v1/admin/audit?targetKind=user&targetId=${b.user.id}`, { token: admin.token });
    expect(onB.body.records).toMatchObject([{ action: "user.ban", actorId: other.user.id, reason: "second" }]);
    const all = await call("GET", "/v1/admin/audit?limit=100", { token: admin.token });
    const ids = all.body.records.map((r: { id: number }) => r.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);

    for (const query of [
      "limit=0",
      "limit=101",
      "before=-1",
      "targetKind=user",
      "targetId=x",
      "targetKind=room&targetId=x",
      `actorId=${"x".repeat(65)}`,
      "actorId=a%20b",
    ]) {
      expectError(await call("GET", `/v1/admin/audit?${query}`, { token: admin.token }), 400, "invalid_request");
    }
    // The log is append-only.
    await expect(env.DB.prepare(`DELETE FROM audit_log`).run()).rejects.toThrow(/append-only/);
  });
});
